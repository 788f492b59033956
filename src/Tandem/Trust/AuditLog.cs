using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Tandem.Hosting;
using Tandem.Storage;

namespace Tandem.Trust;

/// <summary>
/// The tamper-evident audit log (kept through <see cref="IAuditStore"/>: <c>audit.db</c> and <c>audit.head</c>
/// in the data folder): who did what to what, when, with the state before and after. Each record's hash
/// covers the previous record's hash, and the anchor holds the newest one, so <see cref="Verify"/> finds any
/// edit, removal or reordering made behind the server's back.
/// </summary>
internal sealed partial class AuditLog : IDisposable
{
    public const string DatabaseFile = "audit.db";
    public const string AnchorFile = "audit.head";
    public const string MeterName = "Tandem.Audit";

    private readonly IAuditStore _store;
    private readonly bool _ownsStore;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly Lock _gate = new();
    private readonly AuditKey? _key;
    private readonly AuditKey _pseudonyms;
    private readonly Counter<long> _records;
    private AuditHead _head;

    // The last anchor write failed: the record is in the table, and the next append (or Ready) rewrites the anchor.
    private bool _anchorBehind;

    /// <param name="options">Where the audit key comes from.</param>
    /// <param name="ownsStore">Dispose the store with the log (a log opened on its own, outside the server's container).</param>
    public AuditLog(IAuditStore store, TandemOptions options, TimeProvider time, ILogger<AuditLog> logger, IMeterFactory? meters = null, bool ownsStore = false)
    {
        _store = store;
        _ownsStore = ownsStore;
        _time = time;
        _logger = logger;
        _key = AuditKey.From(options);
        _pseudonyms = _key ?? AuditKey.Ephemeral();
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _records = meter.CreateCounter<long>("tandem.audit.records", "{record}", "Audit records written");
        _sampled = meter.CreateCounter<long>("tandem.audit.sampled", "{refusal}", "Refused calls counted into an api.refused summary instead of written one by one");
        if (_key is null)
        {
            Log.Unsigned(_logger);
        }

        _head = Resume(store.Existed);
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
            _store.Insert(new StoredAuditRecord(seq, at, actor, action, target, beforeJson, afterJson, detail, prevHash, hash, _key?.RecordMac(hash)));

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
        return _store.Query(query);
    }

    /// <summary>
    /// Checks the audit log of a data folder: every record against its hash, every link against the
    /// record before it, and the newest record against the anchor. Reads only, so it can run beside a
    /// server or without one.
    /// </summary>
    public static AuditVerification Verify(string dataDirectory, AuditKey? key = null) => AuditChain.Verify(dataDirectory, key);

    /// <summary>Checks this server's own log, with its key when it has one.</summary>
    public AuditVerification VerifyOwn() => AuditChain.Verify(_store, _key);

    private AuditHead Sign(AuditHead head) => _key is null ? head : head with { Mac = _key.AnchorMac(head.Seq, head.Hash) };

    private bool TryWriteAnchor(AuditHead head)
    {
        try
        {
            _store.WriteAnchor(head);
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
        var last = Sign(_store.Last() ?? new AuditHead(0, AuditChain.GenesisHash, null));
        var anchor = _store.ReadAnchor();
        var hashAtAnchor = anchor.Head is { } a ? HashAt(a.Seq) : null;
        // The anchor is held to the key once the log is signed; the first start with a key signs an unsigned
        // log from here on. A log that existed always has an anchor (each start writes one), so a missing
        // one is a finding even on an empty log: it was emptied.
        var anchorKey = existed && (anchor.Head is null || anchor.Head.Mac is not null || _store.AnySigned()) ? _key : null;
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

    private string? HashAt(long seq) => seq == 0 ? AuditChain.GenesisHash : _store.HashAt(seq);

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);

    public void Dispose()
    {
        _flushTimer.Dispose();
        FlushQuietly(all: true); // counts of refusals not yet written are written at shutdown, not lost
        if (_ownsStore && _store is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private void FlushQuietly(bool all = false)
    {
        try
        {
            FlushRefusals(all);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Log.SummaryFailed(_logger, ex.Message);
        }
    }
}
