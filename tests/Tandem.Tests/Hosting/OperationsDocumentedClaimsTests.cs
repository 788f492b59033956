using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Collect;
using Tandem.Tests.Support;
using Tandem.Tests.Unify;

namespace Tandem.Tests.Hosting;

/// <summary>
/// docs/collect.md, Operations: what <c>/health/ready</c> and <c>/metrics</c> promise an operator.
/// Runs with the other metrics tests, alone: meters are process-wide.
/// </summary>
[Collection(nameof(MetricsTests))]
public sealed class OperationsDocumentedClaimsTests
{
    // "/health/ready: the ingest log writer is running".
    [Fact]
    public async Task HealthReady_IngestLogWriterFailedACommit_Is503WhileLiveStays200AndNothingIsAcknowledged()
    {
        await using var server = await TandemServer.StartAsync();
        using (var ready = await server.Http.GetAsync(server.Url("/health/ready")))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // A real SQLite error inside the writer's transaction, on its own thread: what a disk error
        // during a group commit looks like to the writer. It stops taking events after it.
        var log = server.Services.GetRequiredService<IngestLog>();
        await Assert.ThrowsAsync<SqliteException>(() => log.MaintainAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO no_such_table VALUES (1)";
            return command.ExecuteNonQuery();
        }));

        using (var notReady = await server.Http.GetAsync(server.Url("/health/ready")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Contains("Unhealthy", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var live = await server.Http.GetAsync(server.Url("/health/live")))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        using var collect = await server.CollectAsync("/v1/track", """{"userId":"u-1","event":"After the failure"}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, collect.StatusCode);
        Assert.Equal("1", Assert.Single(collect.Headers.GetValues("Retry-After")));
        Assert.Empty(await server.StoredEventsAsync());
    }

    // The list under "Metrics exported at /metrics", names and labels as written there.
    [Fact]
    public async Task Metrics_EveryDocumentedCollectorAndLogMetric_IsExportedWithItsLabel()
    {
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { MaxBacklogEvents = 1 });
        var log = server.Services.GetRequiredService<IngestLog>();

        // Stored, deduplicated, refused (missing_identity) and repaired (invalid_unicode) in one batch.
        using (var batch = await server.CollectAsync("/v1/batch",
            """{"batch":[{"type":"track","userId":"u","event":"E","messageId":"same"},{"type":"track","userId":"u","event":"E","messageId":"same"},{"type":"track","event":"NoId"},{"type":"track","userId":"u","event":"cut \ud83d","messageId":"cut"}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        }

        await ProcessorNotAppliedTests.AppendAsync(server, ProcessorNotAppliedTests.BlankUserEvent);

        // One scrape, taken while a request waits for its commit: the exporter caches its answer for a
        // moment, so a second scrape right after could repeat the first.
        string metrics;
        Task<HttpResponseMessage> held;
        using (log.HoldCommits())
        {
            held = server.CollectAsync("/v1/track", """{"userId":"u","event":"Held","messageId":"held"}""");
            await WaitForBacklogAsync(log);
            using var throttled = await server.CollectAsync("/v1/track", """{"userId":"u","event":"Throttled","messageId":"throttled"}""");
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
            metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        }

        using (var released = await held)
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        }


        Assert.Matches(@"(?m)^tandem_collect_received_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_collect_refused_total\{[^}]*reason=""missing_identity""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_collect_deduplicated_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_collect_throttled_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_collect_repaired_total\{[^}]*reason=""invalid_unicode""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_log_head(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_log_backlog(\{[^}]*\})? 1\b", metrics);
        Assert.Matches(@"(?m)^tandem_log_commits_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^tandem_log_lag\{[^}]*consumer=""profiles""[^}]*\} 0\b", metrics);
        Assert.Matches(@"(?m)^tandem_processor_not_applied_total\{[^}]*reason=""no_identifier""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"(?m)^http_server_request_duration_seconds_count\{[^}]*http_route=""/v1/batch""", metrics);
    }

    /// <summary>The request is queued once the backlog counts it; the writer is held, so it stays there.</summary>
    internal static async Task WaitForBacklogAsync(IngestLog log)
    {
        var queued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnEnqueued() => queued.TrySetResult();
        log.Enqueued += OnEnqueued;
        try
        {
            if (log.PendingEvents == 0)
            {
                await queued.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            log.Enqueued -= OnEnqueued;
        }
    }
}
