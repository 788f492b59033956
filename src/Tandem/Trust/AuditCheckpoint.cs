using System.Text.Json;

namespace Tandem.Trust;

/// <summary>
/// The state of the audit log at one moment, for the operator to keep away from the server. Anything
/// in the data folder can be cut or replaced together; a checkpoint held elsewhere proves the log
/// still begins with the records it had then.
/// </summary>
/// <param name="Mac">The audit key's MAC over the other fields; null when the checkpoint was made without a key.</param>
internal sealed record AuditCheckpoint(long Records, long HeadSeq, string HeadHash, DateTimeOffset At, string? Mac)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>A checkpoint of a log just found intact.</summary>
    public static AuditCheckpoint Of(AuditVerification intact, DateTimeOffset at, AuditKey? key)
    {
        var records = intact.Records ?? 0;
        var seq = intact.HeadSeq ?? 0;
        var hash = intact.HeadHash ?? AuditChain.GenesisHash;
        // Milliseconds, as the MAC covers them: the time read back is the time signed.
        at = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());
        return new AuditCheckpoint(records, seq, hash, at, key?.CheckpointMac(records, seq, hash, at));
    }

    public bool SignedBy(AuditKey key) => AuditKey.Matches(key.CheckpointMac(Records, HeadSeq, HeadHash, At), Mac);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a checkpoint file; the error says why it is not one.</summary>
    public static (AuditCheckpoint? Checkpoint, string? Error) Read(string path)
    {
        try
        {
            var checkpoint = JsonSerializer.Deserialize<AuditCheckpoint>(File.ReadAllBytes(path), Json);
            return checkpoint is { HeadSeq: >= 0, HeadHash.Length: 64 }
                ? (checkpoint, null)
                : (null, $"{path} does not hold a checkpoint written by ./tandem audit checkpoint");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return (null, $"{path} cannot be read as a checkpoint: {ex.Message}");
        }
    }
}
