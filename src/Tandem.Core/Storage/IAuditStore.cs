using Tandem.Trust;

namespace Tandem.Storage;

/// <summary>
/// Reads a whole audit log for verification: every row oldest first, with the anchor as it stood when the
/// rows were read, in one consistent view. How a record is hashed and what a finding means is the audit
/// chain's (<c>AuditChain</c>).
/// </summary>
public interface IAuditReader
{
    /// <summary>Hands <paramref name="check"/> the anchor and the rows, oldest first, and answers what it made of them.</summary>
    /// <exception cref="IOException">The log is missing or cannot be read; the message says which, for the operator.</exception>
    T Walk<T>(Func<AnchorRead, IEnumerable<AuditRow>, T> check);
}

/// <summary>
/// The audit log's storage port: the records and the anchor that says which record is the newest. The
/// chain (hashes, MACs, what a mismatch means) is <c>AuditLog</c>'s and <c>AuditChain</c>'s; each method here
/// is one read or one durable write.
/// </summary>
public interface IAuditStore : IAuditReader
{
    /// <summary>Whether the log existed before this store opened it (a log that existed always has an anchor).</summary>
    bool Existed { get; }

    /// <summary>The newest record's seq, hash and time; null while the log is empty.</summary>
    AuditHead? Last();

    /// <summary>The hash of the record with this seq; null when there is none.</summary>
    string? HashAt(long seq);

    /// <summary>Whether any record carries a MAC.</summary>
    bool AnySigned();

    /// <summary>Adds a record; it is on disk when this returns.</summary>
    void Insert(StoredAuditRecord record);

    /// <summary>Records matching every filter given, newest first, one page.</summary>
    AuditPage Query(AuditQuery query);

    AnchorRead ReadAnchor();

    /// <summary>Replaces the anchor whole: a crash leaves the old one or the new one, never half of either.</summary>
    void WriteAnchor(AuditHead head);
}
