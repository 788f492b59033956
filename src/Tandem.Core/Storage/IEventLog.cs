using Tandem.Collect;

namespace Tandem.Storage;

/// <summary>
/// The event log's port for the collector and consent recording (ADR 0002): events go in through one
/// bounded queue and are acknowledged only once durable.
/// </summary>
public interface IEventLog
{
    /// <summary>The newest durable sequence number (0 when the log is empty).</summary>
    long Head { get; }

    /// <summary>Commits (one flush to disk each) since start: events stored ÷ commits is the mean group size.</summary>
    long Commits { get; }

    /// <summary>Events and refusals queued and not yet durable.</summary>
    long PendingEvents { get; }

    /// <summary>Set when the writer has stopped; the collector then reports not ready.</summary>
    Exception? Fault { get; }

    /// <summary>Raised after each group commit, once <see cref="Head"/> has moved, on the writer's thread: keep handlers short.</summary>
    event Action? Committed;

    /// <summary>
    /// Queues events and refusals for the next commit; the task completes once they are durable. Null when
    /// the backlog is past its bound: nothing is stored and the caller answers 429. Events whose
    /// messageId the same source sent within the dedup window are dropped as retries.
    /// </summary>
    Task<AppendResult>? TryAppend(int sourceKey, IReadOnlyList<StampedMessage> messages, IReadOnlyList<Rejection> rejections, DateTimeOffset receivedAt);

    /// <summary>Completes once every append queued before the call is durable.</summary>
    Task BarrierAsync();
}

/// <summary>The event log's port for those that read it: the processor, the feeds, the Profile API, exports.</summary>
public interface IEventLogReader
{
    /// <summary>The newest durable sequence number (0 when the log is empty).</summary>
    long Head { get; }

    /// <summary>Events after <paramref name="afterSeq"/> in sequence order, at most <paramref name="max"/>.</summary>
    IReadOnlyList<LogEntry> ReadAfter(long afterSeq, int max);

    /// <summary>The events with these sequence numbers that are still stored.</summary>
    IReadOnlyList<LogEntry> ReadSeqs(IReadOnlyList<long> seqs);

    /// <summary>A source's newest events between the two positions (exclusive), newest first.</summary>
    IReadOnlyList<LogEntry> ReadNewest(int sourceKey, int limit, long afterSeq = 0, long beforeSeq = long.MaxValue);

    /// <summary>A source's newest refused events with an id below <paramref name="beforeId"/>, newest first.</summary>
    IReadOnlyList<StoredRejection> ReadRejections(int sourceKey, int limit, long beforeId = long.MaxValue);
}
