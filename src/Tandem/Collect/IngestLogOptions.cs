namespace Tandem.Collect;

/// <summary>Settings of the durable ingest log.</summary>
public sealed record IngestLogOptions
{
    /// <summary>Events with a messageId already stored for the same source within this window are dropped as retries.</summary>
    public TimeSpan DedupWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Events waiting for a group commit beyond which the collector answers 429.</summary>
    public int MaxBacklogEvents { get; init; } = 250_000;

    /// <summary>Most events written by one commit; bounds the latency one fsync adds to a request.</summary>
    public int MaxGroupEvents { get; init; } = 25_000;
}
