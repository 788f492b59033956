using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Tandem.Storage;
using Tandem.Storage.Sqlite;

namespace Tandem.Trust;

/// <summary>
/// The outcome of checking an audit log: intact (how many records, which head), or the first problem
/// found, where it is and what it means.
/// </summary>
/// <param name="Seq">The record where the problem shows; null when it is not at a record (a missing file).</param>
/// <param name="Kind">One of <see cref="AuditChain"/>'s problem kinds, for machines.</param>
internal sealed record AuditVerification(
    bool Intact,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Records = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? HeadSeq = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? HeadHash = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Seq = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Kind = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Signed = null)
{
    public static AuditVerification Broken(long? seq, string kind, string problem) => new(false, Seq: seq, Kind: kind, Problem: problem);
}

/// <summary>How records are hashed and linked, how the anchor is kept, and how a log is checked.</summary>
internal static class AuditChain
{
    public const string Edited = "edited";
    public const string Missing = "missing";
    public const string ChainBroken = "chain_broken";
    public const string Removed = "removed";
    public const string AnchorMismatch = "anchor_mismatch";
    public const string Unanchored = "unanchored";
    public const string AnchorMissing = "anchor_missing";
    public const string Unreadable = "unreadable";
    public const string Forged = "forged";
    public const string Unsigned = "unsigned";
    public const string CheckpointMismatch = "checkpoint_mismatch";

    public static readonly string GenesisHash = new('0', 64);

    /// <summary>
    /// SHA-256, as lowercase hex, of the previous hash and the record's fields in a canonical encoding:
    /// each text as a presence byte (0 for null, 1 otherwise), a 4-byte big-endian UTF-8 length and
    /// the bytes; seq and at as 8-byte big-endian integers. Lengths make it unambiguous where one field
    /// ends, and the presence byte keeps null apart from empty.
    /// </summary>
    public static string Hash(string prevHash, long seq, long at, string actor, string action, string target, string? before, string? after, string? detail)
    {
        using var buffer = new MemoryStream(256);
        Text(buffer, prevHash);
        Number(buffer, seq);
        Number(buffer, at);
        Text(buffer, actor);
        Text(buffer, action);
        Text(buffer, target);
        Text(buffer, before);
        Text(buffer, after);
        Text(buffer, detail);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }

    private static void Number(MemoryStream buffer, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        buffer.Write(bytes);
    }

    private static void Text(MemoryStream buffer, string? value)
    {
        if (value is null)
        {
            buffer.WriteByte(0);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        buffer.WriteByte(1);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    /// <summary>
    /// Compares the table's newest record with the anchor. The table may be one record ahead: that is
    /// an append between its commit and its anchor (in flight, or cut short by a crash).
    /// </summary>
    /// <param name="hashAtAnchor">The table's hash for the anchor's seq (the genesis hash for seq 0), null when it has no such record.</param>
    /// <param name="key">When given, the anchor must exist and carry this key's MAC: an emptied log or a rewritten anchor shows.</param>
    public static AuditVerification? CheckTail(AnchorRead anchor, long lastSeq, string? hashAtAnchor, AuditKey? key = null)
    {
        if (key is not null && anchor.Head is null && anchor.Error is null && lastSeq == 0)
        {
            return AuditVerification.Broken(null, AnchorMissing,
                $"The anchor {AuditLog.AnchorFile} is missing and the log is empty: a signed log always has a signed anchor, so the log was emptied (or this is not the folder the server writes).");
        }

        if (key is not null && anchor.Head is { } signed && !AuditKey.Matches(key.AnchorMac(signed.Seq, signed.Hash), signed.Mac))
        {
            return AuditVerification.Broken(signed.Seq, signed.Mac is null ? Unsigned : Forged,
                signed.Mac is null
                    ? $"The anchor {AuditLog.AnchorFile} carries no MAC: it was written without the key, or replaced by someone who does not hold it."
                    : $"The anchor {AuditLog.AnchorFile} carries a MAC this key did not make: it was rewritten (after cutting or replacing records), or the key is not the server's.");
        }

        if (anchor.Head is not { } head)
        {
            if (anchor.Error is { } error)
            {
                return AuditVerification.Broken(null, AnchorMissing,
                    $"The anchor {AuditLog.AnchorFile} cannot be read ({error}), so removal of the newest records cannot be ruled out.");
            }

            return lastSeq == 0
                ? null
                : AuditVerification.Broken(null, AnchorMissing,
                    $"The anchor {AuditLog.AnchorFile} is missing while the log holds records up to #{lastSeq}, so removal of the newest records cannot be ruled out.");
        }

        if (head.Seq > lastSeq)
        {
            var which = head.Seq == lastSeq + 1 ? $"record #{head.Seq} was" : $"records #{lastSeq + 1} to #{head.Seq} were";
            return AuditVerification.Broken(lastSeq + 1, Removed,
                $"The newest {which} removed: the anchor says the head is #{head.Seq}, but the log ends at {(lastSeq == 0 ? "no record" : $"#{lastSeq}")}.");
        }

        if (hashAtAnchor != head.Hash)
        {
            return AuditVerification.Broken(head.Seq, AnchorMismatch,
                $"Record #{head.Seq} does not match the anchor, which holds another hash for it: it was rewritten with a recomputed hash, or the anchor was edited.");
        }

        return lastSeq > head.Seq + 1
            ? AuditVerification.Broken(head.Seq + 1, Unanchored,
                $"Records #{head.Seq + 1} to #{lastSeq} are not covered by the anchor, which says the head is #{head.Seq}: they were added without the server, or the anchor was replaced by an older one.")
            : null;
    }

    /// <summary>Checks the audit log of a data folder (the embedded mode's files), reading only.</summary>
    /// <param name="key">When given, every record from the first signed one on, and the anchor, must carry this key's MAC.</param>
    /// <param name="checkpoint">When given, the log must still hold the checkpoint's head record with the same hash.</param>
    public static AuditVerification Verify(string dataDirectory, AuditKey? key = null, AuditCheckpoint? checkpoint = null) =>
        Verify(SqliteAuditStore.Reader(dataDirectory), key, checkpoint);

    /// <summary>Checks every record against its hash, every link against the record before it, and the newest record against the anchor.</summary>
    public static AuditVerification Verify(IAuditReader log, AuditKey? key = null, AuditCheckpoint? checkpoint = null)
    {
        try
        {
            return log.Walk((anchor, rows) => Walk(anchor, rows, key, checkpoint));
        }
        catch (IOException ex)
        {
            return AuditVerification.Broken(null, Unreadable, ex.Message);
        }
    }

    private static AuditVerification Walk(AnchorRead anchor, IEnumerable<AuditRow> rows, AuditKey? key, AuditCheckpoint? checkpoint)
    {
        var expected = 1L;
        var previousHash = GenesisHash;
        var hashAtAnchor = anchor.Head?.Seq == 0 ? GenesisHash : null;
        var signedFrom = 0L;
        foreach (var row in rows)
        {
            if (row.Seq is not { } seq)
            {
                return AuditVerification.Broken(null, Edited, "A record was edited: its seq is NULL.");
            }

            if (seq != expected)
            {
                var which = seq == expected + 1 ? $"Record #{expected} is" : $"Records #{expected} to #{seq - 1} are";
                return AuditVerification.Broken(expected, Missing,
                    $"{which} missing: the log goes from {(expected == 1 ? "its start" : $"#{expected - 1}")} to #{seq}.");
            }

            if (row.Record is not { } record)
            {
                return AuditVerification.Broken(seq, Edited, $"Record #{seq} was edited: a column holds a value of the wrong type.");
            }

            var (prevHash, hash) = (record.PrevHash, record.Hash);
            var computed = Hash(prevHash, seq, record.At, record.Actor, record.Action, record.Target, record.Before, record.After, record.Detail);

            if (computed != hash)
            {
                return AuditVerification.Broken(seq, Edited, $"Record #{seq} was edited: its content does not match its hash.");
            }

            if (prevHash != previousHash && seq == 1)
            {
                return AuditVerification.Broken(seq, ChainBroken,
                    "The chain is broken at record #1: it is not linked to the start of the chain (64 zeros). Records were reordered or rewritten.");
            }

            if (prevHash != previousHash)
            {
                return AuditVerification.Broken(seq, ChainBroken,
                    $"The chain is broken at record #{seq}: it does not follow record #{seq - 1}, whose hash differs from the one #{seq} was linked to. Record #{seq - 1} was rewritten with a recomputed hash, or records were reordered.");
            }

            if (key is not null && record.Mac is { } recordMac)
            {
                if (!AuditKey.Matches(key.RecordMac(hash), recordMac))
                {
                    return AuditVerification.Broken(seq, Forged,
                        $"Record #{seq} carries a MAC this key did not make: it was added or rewritten without the key (or the key is not the server's).");
                }

                signedFrom = signedFrom == 0 ? seq : signedFrom;
            }
            else if (key is not null && signedFrom > 0)
            {
                return AuditVerification.Broken(seq, Unsigned,
                    $"Record #{seq} carries no MAC although the records from #{signedFrom} on are signed: it was added or rewritten by someone who does not hold the key.");
            }

            if (checkpoint is not null && seq == checkpoint.HeadSeq && hash != checkpoint.HeadHash)
            {
                return AuditVerification.Broken(seq, CheckpointMismatch,
                    $"Record #{seq} is not the one the checkpoint of {checkpoint.At:u} holds: the log was rewritten since (or emptied and refilled).");
            }

            if (seq == anchor.Head?.Seq)
            {
                hashAtAnchor = hash;
            }

            previousHash = hash;
            expected++;
        }

        var last = expected - 1;
        if (checkpoint is not null && last < checkpoint.HeadSeq)
        {
            return AuditVerification.Broken(last + 1, CheckpointMismatch,
                $"The log ends at {(last == 0 ? "no record" : $"#{last}")}, but the checkpoint of {checkpoint.At:u} holds records up to #{checkpoint.HeadSeq}: records were removed since.");
        }

        return CheckTail(anchor, last, hashAtAnchor, key) ?? new AuditVerification(true, last, last, previousHash, Signed: key is not null ? true : null);
    }
}
