using System.Text.Json.Nodes;

namespace Tandem.Trust;

/// <summary>One entry of the audit log, exactly as stored and hashed.</summary>
/// <param name="Before">The state before the change, as JSON; null when there was none or it is not relevant.</param>
/// <param name="PrevHash">The hash of the record before it (64 zeros for the first): the link of the chain.</param>
public sealed record AuditRecord(long Seq, DateTimeOffset At, string Actor, string Action, string Target,
    JsonNode? Before, JsonNode? After, string? Detail, string PrevHash, string Hash);

/// <summary>Which records to read, newest first.</summary>
/// <param name="Action">An exact action (<c>source.create</c>) or a prefix ending in <c>.*</c> (<c>source.*</c>).</param>
/// <param name="Since">Records at or after this time.</param>
/// <param name="Until">Records strictly before this time.</param>
/// <param name="Before">The cursor: records with a smaller seq (the <c>Next</c> of the previous page).</param>
public sealed record AuditQuery(string? Actor = null, string? Action = null, string? Target = null, DateTimeOffset? Since = null,
    DateTimeOffset? Until = null, int Limit = AuditQuery.DefaultLimit, long? Before = null)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;
}

/// <param name="Next">The cursor for the next (older) page, or null when this page reaches the first record.</param>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Records, long? Next);

/// <summary>The newest record's seq and hash (seq 0 and the genesis hash while the log is empty).</summary>
/// <param name="Mac">The audit key's MAC over seq and hash; null when the server has no key.</param>
public sealed record AuditHead(long Seq, string Hash, DateTimeOffset? At, string? Mac = null);

/// <summary>What the anchor held: a head, nothing (no file), or an error saying why it could not be read.</summary>
public readonly record struct AnchorRead(AuditHead? Head, string? Error);

/// <summary>One record as the store holds it: the text that was hashed, and the MAC when the log is signed.</summary>
public sealed record StoredAuditRecord(long Seq, long At, string Actor, string Action, string Target, string? Before, string? After, string? Detail,
    string PrevHash, string Hash, string? Mac);

/// <summary>
/// One row met while walking the log for verification, as found: the seq (null when someone set it to
/// NULL), and the record (null when a column holds a value of the wrong type).
/// </summary>
public readonly record struct AuditRow(long? Seq, StoredAuditRecord? Record);
