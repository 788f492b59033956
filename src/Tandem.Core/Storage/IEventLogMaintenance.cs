using Tandem.Collect;

namespace Tandem.Storage;

/// <summary>What retention needs to decide whether an event is due: never its payload.</summary>
/// <param name="Seq">The event's position in the log.</param>
/// <param name="Type">Its Segment call type.</param>
/// <param name="ReceivedAtMs">When Tandem received it, in Unix milliseconds.</param>
/// <param name="EventName">A track call's event name; null for every other type.</param>
public readonly record struct RetentionRow(long Seq, MessageType Type, long ReceivedAtMs, string? EventName);

/// <summary>
/// The event log's port for the capabilities that remove data from it: privacy deletion and retention
/// (ADR 0002). Each method is one atomic act of the log; none hands out the log's connection or
/// transaction, so no capability writes SQL against the log's tables. Deletions run on the log's single
/// writer, overwrite the deleted bytes and leave no copy in the log's memory.
/// </summary>
public interface IEventLogMaintenance
{
    /// <summary>The newest durable sequence number.</summary>
    long Head { get; }

    /// <summary>Completes once every append queued before the call is committed (what a deletion waits for before it looks).</summary>
    Task BarrierAsync();

    /// <summary>Events after <paramref name="afterSeq"/> up to <paramref name="throughSeq"/>, oldest first, at most <paramref name="max"/>.</summary>
    IReadOnlyList<RetentionRow> ScanForRetention(long afterSeq, long throughSeq, int max);

    /// <summary>Deletes the events with these sequence numbers; answers how many were there.</summary>
    Task<int> DeleteEventsAsync(IReadOnlyCollection<long> seqs);

    /// <summary>Deletes the events with these sequence numbers; answers the ones that were there, so a caller counts only what it removed.</summary>
    Task<IReadOnlyList<long>> RemoveEventsAsync(IReadOnlyCollection<long> seqs);

    /// <summary>Deletes every refused event whose stored bytes <paramref name="naming"/> says name the person; answers how many.</summary>
    Task<int> DeleteRejectionsAsync(Func<byte[], bool> naming);

    /// <summary>Deletes at most <paramref name="max"/> refused events received before <paramref name="cutoff"/>, oldest first; answers how many.</summary>
    Task<int> DeleteRejectionsReceivedBeforeAsync(DateTimeOffset cutoff, int max);
}
