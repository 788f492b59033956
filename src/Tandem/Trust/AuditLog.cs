using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Tandem.Hosting;
using Tandem.Storage;

namespace Tandem.Trust;

/// <summary>One entry of the audit log, exactly as stored and hashed.</summary>
/// <param name="Before">The state before the change, as JSON; null when there was none or it is not relevant.</param>
/// <param name="PrevHash">The hash of the record before it (64 zeros for the first): the link of the chain.</param>
internal sealed record AuditRecord(long Seq, DateTimeOffset At, string Actor, string Action, string Target,
    JsonNode? Before, JsonNode? After, string? Detail, string PrevHash, string Hash);

/// <summary>Which records to read, newest first.</summary>
/// <param name="Action">An exact action (<c>source.create</c>) or a prefix ending in <c>.*</c> (<c>source.*</c>).</param>
/// <param name="Since">Records at or after this time.</param>
/// <param name="Until">Records strictly before this time.</param>
/// <param name="Before">The cursor: records with a smaller seq (the <c>Next</c> of the previous page).</param>
internal sealed record AuditQuery(string? Actor = null, string? Action = null, string? Target = null, DateTimeOffset? Since = null,
    DateTimeOffset? Until = null, int Limit = AuditQuery.DefaultLimit, long? Before = null)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;
}

/// <param name="Next">The cursor for the next (older) page, or null when this page reaches the first record.</param>
internal sealed record AuditPage(IReadOnlyList<AuditRecord> Records, long? Next);

/// <summary>The newest record's seq and hash (seq 0 and the genesis hash while the log is empty).</summary>
/// <param name="Mac">The audit key's MAC over seq and hash; null when the server has no key.</param>
internal sealed record AuditHead(long Seq, string Hash, DateTimeOffset? At, string? Mac = null);

/// <summary>
/// The tamper-evident audit log (<c>audit.db</c>): who did what to what, when, with the state before
/// and after. Each record's hash covers the previous record's hash, and <c>audit.head</c> anchors the
/// newest one, so <see cref="Verify"/> finds any edit, removal or reordering made behind the server's back.
/// </summary>
/// <remarks>Appends are rare (management changes, privacy actions, management API calls), so they share one connection under a lock.</remarks>
internal sealed partial class AuditLog : IDisposable
{
    public const string DatabaseFile = "audit.db";
    public const string AnchorFile = "audit.head";
    public const string MeterName = "Tandem.Audit";
    private const string Columns = "seq, at, actor, action, target, before, after, detail, prev_hash, hash";

    private readonly string _path;
    private readonly string _anchorPath;
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly Lock _gate = new();
    private readonly AuditKey? _key;
    private readonly AuditKey _pseudonyms;
    private readonly Counter<long> _records;
    private AuditHead _head;

    // The last anchor write failed: the record is in the table, and the next append (or Ready) rewrites the anchor.
    private bool _anchorBehind;

    public AuditLog(TandemOptions options, TimeProvider time, ILogger<AuditLog> logger, IMeterFactory? meters = null)
    {
        _path = Path.Combine(options.DataDirectory, DatabaseFile);
        _anchorPath = Path.Combine(options.DataDirectory, AnchorFile);
        _time = time;
        _logger = logger;
        _key = AuditKey.From(options);
        _pseudonyms = _key ?? AuditKey.Ephemeral();
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _records = meter.CreateCounter<long>("tandem.audit.records", "{record}", "Audit records written");
        _sampled = meter.CreateCounter<long>("tandem.audit.sampled", "{refusal}", "Refused calls counted into an api.refused summary instead of written one by one");
        var existed = File.Exists(_path);
        _connection = SqliteDatabase.Open(_path);
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS audit(
                seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT NOT NULL, before TEXT NULL, after TEXT NULL, detail TEXT NULL,
                prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, seq);
            CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq);
            CREATE INDEX IF NOT EXISTS audit_target ON audit(target, seq);
            """);
        if (!AuditChain.HasMacColumn(_connection, null))
        {
            SqliteDatabase.Execute(_connection, "ALTER TABLE audit ADD COLUMN mac TEXT NULL");
        }

        if (_key is null)
        {
            Log.Unsigned(_logger);
        }

        _head = Resume(existed);
        _flushTimer = time.CreateTimer(_ => FlushQuietly(), null, RefusalWindow, RefusalWindow);
    }

    /// <summary>True when the server signs the log (an audit key is set).</summary>
    public bool Signed => _key is not null;

    /// <summary>
    /// Whether a record can be written now. A change calls this before it commits, so a change and its
    /// record succeed or fail together: when the anchor could not be written last time, it is written
    /// here, and the change is refused (503) while it still cannot be.
    /// </summary>
    public bool Ready()
    {
        lock (_gate)
        {
            return !_anchorBehind || TryWriteAnchor(_head);
        }
    }

    /// <summary>
    /// What a failed sign-in is recorded against: a keyed hash of the email typed, never the email
    /// (it may be a customer's, or a typo of one). The same email gives the same name while the key
    /// lasts: the audit key, or without one, this server's run.
    /// </summary>
    public string SignInTarget(string email) => "email-hash:" + _pseudonyms.Pseudonym(email.Trim().ToLowerInvariant());

    public AuditHead Head
    {
        get
        {
            lock (_gate)
            {
                return _head;
            }
        }
    }

    /// <summary>Records one action; the record and the anchor are on disk when this returns.</summary>
    /// <param name="actor"><c>member:mbr_…</c>, <c>token:tok_…</c> or <c>system</c>.</param>
    /// <param name="action">What was done, such as <c>source.create</c>, <c>token.revoke</c>, <c>pii.unmasked_read</c>, <c>api.call</c>.</param>
    /// <param name="target">What it was done to, such as <c>source:src_…</c> or <c>GET /api/v1/sources</c>.</param>
    public AuditRecord Append(string actor, string action, string target, JsonNode? before = null, JsonNode? after = null, string? detail = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(action);
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        target = Cap(target, MaxTargetLength);
        detail = detail is null ? null : Cap(detail, MaxDetailLength);
        var beforeJson = CapJson(before);
        var afterJson = CapJson(after);
        lock (_gate)
        {
            var seq = _head.Seq + 1;
            var at = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var prevHash = _head.Hash;
            var hash = AuditChain.Hash(prevHash, seq, at, actor, action, target, beforeJson, afterJson, detail);
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = $"INSERT INTO audit({Columns}, mac) VALUES ($seq, $at, $actor, $action, $target, $before, $after, $detail, $prev, $hash, $mac)";
                command.Parameters.AddWithValue("$seq", seq);
                command.Parameters.AddWithValue("$at", at);
                command.Parameters.AddWithValue("$actor", actor);
                command.Parameters.AddWithValue("$action", action);
                command.Parameters.AddWithValue("$target", target);
                command.Parameters.AddWithValue("$before", (object?)beforeJson ?? DBNull.Value);
                command.Parameters.AddWithValue("$after", (object?)afterJson ?? DBNull.Value);
                command.Parameters.AddWithValue("$detail", (object?)detail ?? DBNull.Value);
                command.Parameters.AddWithValue("$prev", prevHash);
                command.Parameters.AddWithValue("$hash", hash);
                command.Parameters.AddWithValue("$mac", (object?)_key?.RecordMac(hash) ?? DBNull.Value);
                command.ExecuteNonQuery();
            }

            // The record is committed: the head moves on whatever happens to the anchor, so one failed
            // anchor write cannot wedge every later append on a seq that is already taken.
            var head = Sign(new AuditHead(seq, hash, DateTimeOffset.FromUnixTimeMilliseconds(at)));
            _head = head;
            _records.Add(1);
            TryWriteAnchor(head);
            return new AuditRecord(seq, head.At!.Value, actor, action, target, Parse(beforeJson), Parse(afterJson), detail, prevHash, hash);
        }
    }

    /// <summary>Records matching every filter given, newest first.</summary>
    public AuditPage Query(AuditQuery query)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, AuditQuery.MaxLimit);
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        var conditions = new List<string>();
        void Where(string condition, string name, object value)
        {
            conditions.Add(condition);
            command.Parameters.AddWithValue(name, value);
        }

        if (query.Actor is { } actor)
        {
            Where("actor = $actor", "$actor", actor);
        }

        if (query.Action is { } action && action.EndsWith(".*", StringComparison.Ordinal))
        {
            // A range rather than LIKE: no wildcard escaping, and it uses the index. Text compares as
            // UTF-8 bytes, and '/' follows '.', so the range holds exactly the actions with this prefix.
            Where("action >= $prefix", "$prefix", action[..^1]);
            Where("action < $prefixEnd", "$prefixEnd", action[..^2] + "/");
        }
        else if (query.Action is { } exact)
        {
            Where("action = $action", "$action", exact);
        }

        if (query.Target is { } target)
        {
            Where("target = $target", "$target", target);
        }

        if (query.Since is { } since)
        {
            Where("at >= $since", "$since", since.ToUnixTimeMilliseconds());
        }

        if (query.Until is { } until)
        {
            Where("at < $until", "$until", until.ToUnixTimeMilliseconds());
        }

        if (query.Before is { } before)
        {
            Where("seq < $before", "$before", before);
        }

        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        command.CommandText = $"SELECT {Columns} FROM audit {where} ORDER BY seq DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(new AuditRecord(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), Parse(Text(reader, 5)), Parse(Text(reader, 6)), Text(reader, 7), reader.GetString(8), reader.GetString(9)));
        }

        // One record more than asked for says whether an older page exists.
        if (records.Count > query.Limit)
        {
            records.RemoveAt(records.Count - 1);
            return new AuditPage(records, records[^1].Seq);
        }

        return new AuditPage(records, null);
    }

    /// <summary>
    /// Checks the audit log of a data folder: every record against its hash, every link against the
    /// record before it, and the newest record against the anchor. Reads only, so it can run beside a
    /// server or without one.
    /// </summary>
    public static AuditVerification Verify(string dataDirectory, AuditKey? key = null) => AuditChain.Verify(dataDirectory, key);

    /// <summary>Checks this server's own log, with its key when it has one.</summary>
    public AuditVerification VerifyOwn() => AuditChain.Verify(Path.GetDirectoryName(_path)!, _key);

    private AuditHead Sign(AuditHead head) => _key is null ? head : head with { Mac = _key.AnchorMac(head.Seq, head.Hash) };

    private bool TryWriteAnchor(AuditHead head)
    {
        try
        {
            AuditChain.WriteAnchor(_anchorPath, head);
            _anchorBehind = false;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!_anchorBehind)
            {
                Log.AnchorUnwritable(_logger, ex.Message);
            }

            _anchorBehind = true;
            return false;
        }
    }

    /// <summary>
    /// Where the next record goes. When the anchor does not match the table (edited while the server
    /// was stopped), the finding is logged and recorded as the first new record, so appending never
    /// papers over it.
    /// </summary>
    private AuditHead Resume(bool existed)
    {
        var last = Sign(ReadLast(_connection, null) ?? new AuditHead(0, AuditChain.GenesisHash, null));
        var anchor = AuditChain.ReadAnchor(_anchorPath);
        var hashAtAnchor = anchor.Head is { } a ? HashAt(a.Seq) : null;
        // The anchor is held to the key once the log is signed; the first start with a key signs an unsigned
        // log from here on. A log that existed always has an anchor (each start writes one), so a missing
        // one is a finding even on an empty log: it was emptied.
        var anchorKey = existed && (anchor.Head is null || anchor.Head.Mac is not null || AnySigned()) ? _key : null;
        var problem = AuditChain.CheckTail(anchor, last.Seq, hashAtAnchor, anchorKey);
        if (problem is null)
        {
            // A fresh log, or a crash between a record's commit and its anchor: the table is right.
            if (anchor.Head != last)
            {
                TryWriteAnchor(last);
            }

            if (_key is not null && last.Seq > 0 && anchorKey is null)
            {
                _head = last;
                Append("system", "audit.signing_started", "file:" + DatabaseFile,
                    detail: $"Records #1 to #{last.Seq} were written without an audit key; from here on each record and the anchor carry a MAC.");
                return _head;
            }

            return last;
        }

        Log.TailMismatch(_logger, problem.Problem!);

        // Following the anchor where it is ahead of the table, or names another hash for its head,
        // keeps the gap or the broken link visible to verification after this append.
        _head = anchor.Head is { } ahead && ahead.Seq >= last.Seq ? ahead : last;
        Append("system", "audit.tail_mismatch", "file:" + AnchorFile, detail: problem.Problem);
        return _head;
    }

    private bool AnySigned()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT EXISTS(SELECT 1 FROM audit WHERE mac IS NOT NULL)";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    private string? HashAt(long seq)
    {
        if (seq == 0)
        {
            return AuditChain.GenesisHash;
        }

        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT hash FROM audit WHERE seq = $seq";
        command.Parameters.AddWithValue("$seq", seq);
        return command.ExecuteScalar() as string;
    }

    internal static AuditHead? ReadLast(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read() ? new AuditHead(reader.GetInt64(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))) : null;
    }

    internal static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);

    public void Dispose()
    {
        _flushTimer.Dispose();
        FlushQuietly(all: true); // counts of refusals not yet written are written at shutdown, not lost
        _connection.Dispose();
    }

    private void FlushQuietly(bool all = false)
    {
        try
        {
            FlushRefusals(all);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Log.SummaryFailed(_logger, ex.Message);
        }
    }
}
