namespace Tandem.Collect;

/// <summary>The Segment-compatible size limits the collector enforces.</summary>
public sealed record CollectLimits
{
    /// <summary>Largest accepted single event, in bytes of JSON text (Segment: 32 KB).</summary>
    public int MaxEventBytes { get; init; } = 32 * 1024;

    /// <summary>Largest accepted request body after decompression (Segment: 500 KB).</summary>
    public int MaxBatchBytes { get; init; } = 500 * 1024;

    /// <summary>Most events in one batch call.</summary>
    public int MaxBatchEvents { get; init; } = 2_500;

    public static CollectLimits Default { get; } = new();
}
