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
internal sealed record AuditHead(long Seq, string Hash, DateTimeOffset? At);

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
    private const string Columns = "seq, at, actor, action, target, before, after, detail, prev_hash, hash";

    private readonly string _path;
    private readonly string _anchorPath;
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly Lock _gate = new();
    private AuditHead _head;

    public AuditLog(TandemOptions options, TimeProvider time, ILogger<AuditLog> logger)
    {
        _path = Path.Combine(options.DataDirectory, DatabaseFile);
        _anchorPath = Path.Combine(options.DataDirectory, AnchorFile);
        _time = time;
        _logger = logger;
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
        _head = Resume();
    }

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
        var beforeJson = before?.ToJsonString();
        var afterJson = after?.ToJsonString();
        lock (_gate)
        {
            var seq = _head.Seq + 1;
            var at = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var prevHash = _head.Hash;
            var hash = AuditChain.Hash(prevHash, seq, at, actor, action, target, beforeJson, afterJson, detail);
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = $"INSERT INTO audit({Columns}) VALUES ($seq, $at, $actor, $action, $target, $before, $after, $detail, $prev, $hash)";
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
                command.ExecuteNonQuery();
            }

            var head = new AuditHead(seq, hash, DateTimeOffset.FromUnixTimeMilliseconds(at));
            AuditChain.WriteAnchor(_anchorPath, head);
            _head = head;
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
    public static AuditVerification Verify(string dataDirectory) => AuditChain.Verify(dataDirectory);

    /// <summary>
    /// Where the next record goes. When the anchor does not match the table (edited while the server
    /// was stopped), the finding is logged and recorded as the first new record, so appending never
    /// papers over it.
    /// </summary>
    private AuditHead Resume()
    {
        var last = ReadLast(_connection, null) ?? new AuditHead(0, AuditChain.GenesisHash, null);
        var anchor = AuditChain.ReadAnchor(_anchorPath);
        var hashAtAnchor = anchor.Head is { } a ? HashAt(a.Seq) : null;
        var problem = AuditChain.CheckTail(anchor, last.Seq, hashAtAnchor);
        if (problem is null)
        {
            // A fresh log, or a crash between a record's commit and its anchor: the table is right.
            if (anchor.Head?.Seq != last.Seq)
            {
                AuditChain.WriteAnchor(_anchorPath, last);
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

    public void Dispose() => _connection.Dispose();

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Error, "The audit log's anchor does not match its records: {Problem} The finding is recorded as the next audit record; run ./tandem audit verify.")]
        public static partial void TailMismatch(ILogger logger, string problem);
    }
}
