using System.Net;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// Meters are process-wide, so the metrics test runs alone: no other test server may count events
/// into the same instruments while it reads exact values.
/// </summary>
[CollectionDefinition(nameof(MetricsTests), DisableParallelization = true)]
public sealed class MetricsRunAlone;

[Collection(nameof(MetricsTests))]
public sealed class MetricsTests
{
    [Fact]
    public async Task Health_And_Metrics_ReportCollectorCounters()
    {
        await using var server = await TandemServer.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync(server.Url("/health/live"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync(server.Url("/health/ready"))).StatusCode);

        await server.CollectAsync("/v1/batch", """{"batch":[{"type":"track","userId":"u","event":"E","messageId":"same"},{"type":"track","userId":"u","event":"E","messageId":"same"},{"type":"track","event":"NoId"}]}""");
        await server.CaughtUpAsync();
        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        Assert.Matches(@"tandem_collect_received_total\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_collect_deduplicated_total\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_collect_refused_total\{[^}]*reason=""missing_identity""[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_log_head\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_profiles_count\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_profiles_identifiers\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_profiles_position\{[^}]*\} 1\b", metrics);
        Assert.Matches(@"tandem_log_lag\{[^}]*consumer=""profiles""[^}]*\} 0\b", metrics);
    }
}
