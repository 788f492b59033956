using Tandem.Tests.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Unify;

/// <summary>Runs with the collector's metrics test, alone: meters are process-wide, and the values read here are exact.</summary>
[Collection(nameof(MetricsTests))]
public sealed class ProcessorMetricsTests
{
    [Fact]
    public async Task Metrics_CountEventsNotApplied_ByReason()
    {
        await using var server = await TandemServer.StartAsync();
        await ProcessorNotAppliedTests.AppendAsync(server, ProcessorNotAppliedTests.BlankUserEvent,
            """{"type":"page","anonymousId":"  ","messageId":"blank"}""",
            """{"type":"page","anonymousId":" ","messageId":"blank-too"}""");

        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));

        Assert.Matches(@"tandem_processor_not_applied_total\{[^}]*reason=""no_identifier""[^}]*\} 3\b", metrics);
    }
}
