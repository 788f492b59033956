using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

public sealed class IngestLogTests
{
    [Fact]
    public async Task Collect_SameMessageIdTwice_IsStoredOnce_AndCountedAsDuplicate()
    {
        await using var server = await TandemServer.StartAsync();
        const string json = """{"userId":"u","event":"E","messageId":"retry-1"}""";
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", json), HttpStatusCode.OK);
        var second = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", json), HttpStatusCode.OK);
        Assert.Equal(0, second.GetProperty("accepted").GetInt32());
        Assert.Equal(1, second.GetProperty("deduplicated").GetInt32());
        Assert.Single(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Collect_SameMessageIdOnTwoSources_IsStoredForEach()
    {
        await using var server = await TandemServer.StartAsync();
        var crm = await server.CreateSourceAsync("CRM");
        const string json = """{"userId":"u","event":"E","messageId":"shared-id"}""";
        await server.CollectAsync("/v1/track", json);
        await server.CollectAsync("/v1/track", json, crm.GetProperty("writeKey").GetString());
        Assert.Single(await server.StoredEventsAsync());
        Assert.Single(await server.StoredEventsAsync(crm.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Dedup_SurvivesRestart_AndExpiresAfterTheWindow()
    {
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { DedupWindow = TimeSpan.FromHours(24) });
        const string json = """{"userId":"u","event":"E","messageId":"m-restart"}""";
        await server.CollectAsync("/v1/track", json);

        await server.RestartAsync();
        var afterRestart = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", json), HttpStatusCode.OK);
        Assert.Equal(1, afterRestart.GetProperty("deduplicated").GetInt32());

        server.Clock.Advance(TimeSpan.FromHours(25));
        var afterWindow = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", json), HttpStatusCode.OK);
        Assert.Equal(1, afterWindow.GetProperty("accepted").GetInt32());
        Assert.Equal(2, (await server.StoredEventsAsync()).Count);

        // Restarting after the window rebuilds the index from the newest copy only.
        await server.RestartAsync();
        var again = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", json), HttpStatusCode.OK);
        Assert.Equal(1, again.GetProperty("deduplicated").GetInt32());
    }

    [Fact]
    public async Task Collect_BacklogPastItsBound_Answers429WithRetryAfter_AndStoresNothingOfIt()
    {
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { MaxBacklogEvents = 2 });
        var log = server.Services.GetRequiredService<IngestLog>();
        Task<HttpResponseMessage> first;
        var queued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.Enqueued += () => queued.TrySetResult();
        using (log.HoldCommits())
        {
            first = server.CollectAsync("/v1/batch", """{"batch":[{"type":"track","userId":"u","event":"A"},{"type":"track","userId":"u","event":"B"}]}""");
            await queued.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(2, log.PendingEvents);
            using var refused = await server.CollectAsync("/v1/track", """{"userId":"u","event":"C"}""");
            await HttpAssert.ProblemAsync(refused, HttpStatusCode.TooManyRequests, "overloaded");
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            Assert.False(first.IsCompleted, "a request is not acknowledged before its commit");
        }

        using var acknowledged = await first;
        await HttpAssert.JsonAsync(acknowledged, HttpStatusCode.OK);
        Assert.Equal(["B", "A"], (await server.StoredEventsAsync()).Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task ReadAfter_FromACheckpoint_ReturnsEventsInSequenceOrder()
    {
        await using var server = await TandemServer.StartAsync();
        var sends = Enumerable.Range(0, 40).Select(i => server.CollectAsync("/v1/track", $$"""{"userId":"u{{i}}","event":"E","messageId":"m{{i}}"}"""));
        foreach (var response in await Task.WhenAll(sends))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var log = server.Services.GetRequiredService<IngestLog>();
        Assert.Equal(40, log.Head);
        var all = log.ReadAfter(0, 100);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), all.Select(e => e.Seq));
        Assert.Equal(40, all.Select(e => JsonDocument.Parse(e.Payload).RootElement.GetProperty("messageId").GetString()).Distinct().Count());

        var checkpoints = server.Services.GetRequiredService<Tandem.Storage.ICheckpointStore>();
        checkpoints.Save("processor", 25);
        await server.RestartAsync();
        checkpoints = server.Services.GetRequiredService<Tandem.Storage.ICheckpointStore>();
        log = server.Services.GetRequiredService<IngestLog>();
        var rest = log.ReadAfter(checkpoints.Read("processor"), 100);
        Assert.Equal(Enumerable.Range(26, 15).Select(i => (long)i), rest.Select(e => e.Seq));
    }

    [Fact]
    public async Task ReadAfter_ServedFromTheInMemoryTail_MatchesWhatTheFileHolds()
    {
        // More events than the tail holds (4,096), so reads cross from the file into memory.
        await using var server = await TandemServer.StartAsync();
        for (var b = 0; b < 45; b++)
        {
            var batch = string.Join(',', Enumerable.Range(0, 100).Select(i => $$"""{"type":"track","userId":"u{{i}}","event":"E{{b}}","messageId":"m{{b}}-{{i}}"}"""));
            Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/batch", $$"""{"batch":[{{batch}}]}""")).StatusCode);
        }

        long[] positions = [0, 250, 403, 404, 405, 3_999, 4_400, 4_499, 4_500];
        List<LogEntry> Read() => [.. positions.SelectMany(p => server.Services.GetRequiredService<IngestLog>().ReadAfter(p, 700))];
        var fromTail = Read();
        await server.RestartAsync(); // a fresh log has an empty tail: every read goes to the file
        var fromFile = Read();

        Assert.Equal(fromFile.Count, fromTail.Count);
        Assert.Equal(700 + 700 + 700 + 700 + 700 + 501 + 100 + 1 + 0, fromFile.Count);
        for (var i = 0; i < fromFile.Count; i++)
        {
            Assert.Equal((fromFile[i].Seq, fromFile[i].SourceKey, fromFile[i].ReceivedAt), (fromTail[i].Seq, fromTail[i].SourceKey, fromTail[i].ReceivedAt));
            Assert.Equal(fromFile[i].Payload, fromTail[i].Payload);
        }
    }
}
