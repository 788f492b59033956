using Tandem.Collect;

namespace Tandem.Tests.Core;

/// <summary>
/// The default limits are the ones docs/collect.md (its table of limits) promises, as Segment's: 32 KB per event, 500 KB per
/// request after decompression, 2,500 events per batch. Written out here, not read from the code; the collector's
/// own boundary tests (Collect/LimitBoundaryTests) check each one over HTTP at, under and over.
/// </summary>
public sealed class CollectLimitsTests
{
    [Fact]
    public void TheDefaults_AreTheDocumentedLimits_InBytesAndEvents()
    {
        var limits = CollectLimits.Default;
        Assert.Equal(32_768, limits.MaxEventBytes);
        Assert.Equal(512_000, limits.MaxBatchBytes);
        Assert.Equal(2_500, limits.MaxBatchEvents);
    }
}
