using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

public sealed class RetentionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Run_RemovesEventsOlderThanTheirRule_KeepsTheRest_AndReportsCounts()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server,
            Track("u1", "Page Viewed", "old-pv"), Track("u1", "Order Completed", "old-oc"), Track("u1", "Signed Up", "old-su"),
            Track("u1", "Cart Viewed", "old-cv"), Page("u1", "old-page"), Identify("u1", "old-identify"),
            """{"type":"track","userId":"u1","event":"Broken","timestamp":"not a time","messageId":"old-broken"}""");
        Assert.Single(await server.RejectionsAsync());
        await AdvanceAsync(server, TimeSpan.FromDays(31));
        await SendAsync(server, Track("u1", "Page Viewed", "new-pv"));

        await PutPolicyAsync(server, """
            {"defaultDays": 30, "events": {"Page Viewed": 60, "Order Completed": null, "Signed Up": 10}, "types": {"identify": null}}
            """);
        var run = await RunAsync(server);

        Assert.Equal("manual", run.GetProperty("trigger").GetString());
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var removed = run.GetProperty("removed");
        Assert.Equal(3, removed.GetProperty("events").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["defaultDays"] = 2, ["events[\"Signed Up\"]"] = 1 }, Counts(removed.GetProperty("byRule")));
        Assert.Equal(new Dictionary<string, long> { ["page"] = 1, ["track"] = 2 }, Counts(removed.GetProperty("byType")));
        Assert.Equal(new Dictionary<string, long> { ["Cart Viewed"] = 1, ["Signed Up"] = 1 }, Counts(removed.GetProperty("byEvent")));
        Assert.Equal(1, removed.GetProperty("rejections").GetInt64());
        Assert.Equal(3, removed.GetProperty("timelineEntries").GetInt64());
        var cutoffs = run.GetProperty("cutoffs").EnumerateArray().ToDictionary(c => c.GetProperty("rule").GetString()!);
        Assert.Equal(server.Clock.GetUtcNow() - TimeSpan.FromDays(10), cutoffs["events[\"Signed Up\"]"].GetProperty("cutoff").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, cutoffs["types.identify"].GetProperty("cutoff").ValueKind);

        string[] kept = ["new-pv", "old-identify", "old-oc", "old-pv"];
        Assert.Equal(kept, (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()).Order(StringComparer.Ordinal));
        Assert.Empty(await server.RejectionsAsync());
        Assert.Equal(kept, await ProfileEventIdsAsync(server, "user_id:u1"));
        await AssertTimelinesMatchTheLogAsync(server);

        // Idempotent: nothing more is due, and the runs list both, newest first.
        var again = await RunAsync(server);
        Assert.Equal(0, again.GetProperty("removed").GetProperty("events").GetInt64());
        var runs = await server.AdminGetAsync("/api/v1/retention/runs");
        Assert.Equal([again.GetProperty("id").GetInt64(), run.GetProperty("id").GetInt64()],
            runs.EnumerateArray().Take(2).Select(r => r.GetProperty("id").GetInt64()));

        var audit = (await server.AdminGetAsync("/api/v1/audit?action=retention.*")).GetProperty("records").EnumerateArray().ToList();
        var changed = Assert.Single(audit, r => r.GetProperty("action").GetString() == "retention.policy_changed");
        Assert.Equal(JsonValueKind.Null, changed.GetProperty("before").GetProperty("defaultDays").ValueKind);
        Assert.Equal(30, changed.GetProperty("after").GetProperty("defaultDays").GetInt32());
        var recorded = audit.Where(r => r.GetProperty("action").GetString() == "retention.run").ToList();
        Assert.Equal(2, recorded.Count);
        Assert.All(recorded, r => Assert.StartsWith("token:", r.GetProperty("actor").GetString(), StringComparison.Ordinal));
        Assert.Contains(recorded, r => r.GetProperty("after").GetProperty("removed").GetProperty("events").GetInt64() == 3);
    }

    [Fact]
    public async Task Timer_RunsRetention_WhenTheClockPassesTheInterval()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Track("u1", "Page Viewed", "m1"));
        await AdvanceAsync(server, TimeSpan.FromDays(2));
        await PutPolicyAsync(server, """{"defaultDays": 1}""");
        var job = server.Services.GetRequiredService<RetentionJob>();

        var state = await server.AdminGetAsync("/api/v1/retention");
        var next = state.GetProperty("nextRunAt").GetDateTimeOffset();
        Assert.True(next >= state.GetProperty("lastRun").GetProperty("startedAt").GetDateTimeOffset() + TimeSpan.FromHours(1), $"next run at {next}");
        var finished = job.NextRunFinished;
        server.Clock.Advance(next - server.Clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.False(finished.IsCompleted);
        server.Clock.Advance(TimeSpan.FromSeconds(1));
        var run = await finished.WaitAsync(Wait);

        Assert.Equal("schedule", run.Trigger);
        Assert.Equal(RetentionJob.SystemActor, run.Actor);
        Assert.Equal(1, run.Removed.Events);
        Assert.Empty(await server.StoredEventsAsync());
        var recorded = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=retention.run")).GetProperty("records").EnumerateArray());
        Assert.Equal(RetentionJob.SystemActor, recorded.GetProperty("actor").GetString());
        Assert.Equal($"retention:run:{run.Id}", recorded.GetProperty("target").GetString());
    }

    [Fact]
    public async Task Restart_KeepsThePolicyAndTheRuns_AndRemovedEventsStayRemoved()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Track("u1", "Page Viewed", "old-1"), Track("u2", "Page Viewed", "old-2"), Track("u2", "Order Completed", "old-3"));
        await AdvanceAsync(server, TimeSpan.FromDays(8));
        await SendAsync(server, Track("u1", "Page Viewed", "new-1"));
        await PutPolicyAsync(server, """{"events": {"Page Viewed": 7}}""");
        var run = await RunAsync(server);
        Assert.Equal(2, run.GetProperty("removed").GetProperty("events").GetInt64());

        await server.RestartAsync();
        await server.CaughtUpAsync();

        var state = await server.AdminGetAsync("/api/v1/retention");
        Assert.Equal(7, state.GetProperty("policy").GetProperty("events").GetProperty("Page Viewed").GetInt32());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("policy").GetProperty("defaultDays").ValueKind);
        Assert.Equal(run.GetProperty("id").GetInt64(), state.GetProperty("lastRun").GetProperty("id").GetInt64());
        Assert.Equal(run.GetProperty("id").GetInt64(), (await server.AdminGetAsync("/api/v1/retention/runs"))[0].GetProperty("id").GetInt64());
        Assert.Equal(["new-1", "old-3"], (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(["new-1"], await ProfileEventIdsAsync(server, "user_id:u1"));
        Assert.Equal(["old-3"], await ProfileEventIdsAsync(server, "user_id:u2"));
        await AssertTimelinesMatchTheLogAsync(server);
    }

    [Fact]
    public async Task Run_BesideLiveIngestion_LosesNoNewEvents()
    {
        await using var server = await TandemServer.StartAsync();
        var old = Enumerable.Range(0, 200).Select(i => Track("u" + (i % 7), "Page Viewed", "old-" + i)).ToArray();
        await SendAsync(server, old);
        await AdvanceAsync(server, TimeSpan.FromDays(2));
        await PutPolicyAsync(server, """{"defaultDays": 1}""");

        // Small chunks, so the run's deletions and profile updates interleave with the collector's commits.
        using var job = SmallChunkJob(server, chunkEvents: 8);
        var running = job.RunAsync(RetentionJob.Manual, "member:test");
        var sends = Enumerable.Range(0, 20).Select(b => SendAsync(server,
            [.. Enumerable.Range(0, 10).Select(i => Track("u" + (i % 7), "Page Viewed", $"new-{b}-{i}"))])).ToList();
        await Task.WhenAll(sends);
        var run = await running.WaitAsync(Wait);

        Assert.Equal(200, run.Removed.Events);
        Assert.Equal(200, run.Removed.TimelineEntries);
        var stored = (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()!).ToList();
        Assert.Equal(200, stored.Count);
        Assert.All(stored, id => Assert.StartsWith("new-", id, StringComparison.Ordinal));
        await AssertTimelinesMatchTheLogAsync(server);
    }

    [Fact]
    public async Task PutPolicy_RefusesWhatCannotBeUsed_NamingTheField()
    {
        await using var server = await TandemServer.StartAsync();
        await PutPolicyAsync(server, """{"defaultDays": 395}""");
        (string Body, string Field)[] wrong =
        [
            ("""{"defaultDays": -1}""", "defaultDays"),
            ("""{"defaultDays": 0}""", "defaultDays"),
            ("""{"defaultDays": "30"}""", "defaultDays"),
            ("""{"defaultDays": 1.5}""", "defaultDays"),
            ("""{"defaultDays": 40000}""", "defaultDays"),
            ("""{"events": {"Page Viewed": "30"}}""", "events[\"Page Viewed\"]"),
            ("""{"events": {"Page Viewed": 0}}""", "events[\"Page Viewed\"]"),
            ("""{"events": {"": 3}}""", "events[\"\"]"),
            ("""{"events": [30]}""", "events"),
            ("""{"types": {"pageview": 30}}""", "types.pageview"),
            ("""{"defaultDays": 30, "keep": 1}""", "keep"),
            ("""[30]""", "body"),
            ("""{"defaultDays": 30""", "body"),
        ];

        foreach (var (body, field) in wrong)
        {
            using var response = await server.Http.SendAsync(Put(server, body));
            var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "invalid_retention_policy");
            Assert.True(field == problem.GetProperty("field").GetString(), $"{body}: field {problem.GetProperty("field")}, expected {field}");
        }

        var large = "{\"events\": {" + string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"Event number {i}\": 30")) + "}}";
        using (var response = await server.Http.SendAsync(Put(server, large)))
        {
            var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "body_too_large");
            Assert.Equal("body", problem.GetProperty("field").GetString());
        }

        var policy = (await server.AdminGetAsync("/api/v1/retention")).GetProperty("policy");
        Assert.Equal(395, policy.GetProperty("defaultDays").GetInt32());
        Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=retention.policy_changed")).GetProperty("records").EnumerateArray());
    }

    [Fact]
    public async Task Routes_NeedPrivacyAdminToChange_AndAuditReadToRead()
    {
        await using var server = await TandemServer.StartAsync();
        var (auditor, _) = await server.MemberTokenAsync("steward@example.com", Roles.ItSteward);
        await server.GetAsAsync(auditor, "/api/v1/retention");
        await server.GetAsAsync(auditor, "/api/v1/retention/runs");
        using var refused = await server.Http.SendAsync(server.As(auditor, HttpMethod.Post, "/api/v1/retention/runs", new { }));
        Assert.Equal("privacy:admin", (await HttpAssert.ProblemAsync(refused, HttpStatusCode.Forbidden, "missing_scope")).GetProperty("scope").GetString());

        var (officer, actor) = await server.MemberTokenAsync("privacy@example.com", Roles.PrivacyOfficer);
        using var ran = await server.Http.SendAsync(server.As(officer, HttpMethod.Post, "/api/v1/retention/runs", new { }));
        Assert.Equal(actor, (await HttpAssert.JsonAsync(ran, HttpStatusCode.OK)).GetProperty("actor").GetString());
    }

    [Fact]
    public async Task Cli_SetsShowsAndRuns_AgainstARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Track("u1", "Page Viewed", "old-pv"), Track("u1", "Order Completed", "old-oc"));
        await AdvanceAsync(server, TimeSpan.FromDays(3));
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];

        var set = await CliAsync(["retention", "set", """{"events": {"Page Viewed": 2}}""", .. connection]);
        Assert.True(set.Code == 0, set.Error);
        Assert.Contains("Page Viewed", set.Output, StringComparison.Ordinal);
        var refused = await CliAsync(["retention", "set", """{"defaultDays": 0}""", .. connection]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("too short", refused.Error, StringComparison.Ordinal);

        var run = await CliAsync(["retention", "run", .. connection]);
        Assert.True(run.Code == 0, run.Error);
        Assert.Contains("completed", run.Output, StringComparison.Ordinal);
        Assert.Contains("1 events", run.Output, StringComparison.Ordinal);
        var show = await CliAsync(["retention", "show", .. connection]);
        Assert.True(show.Code == 0, show.Error);
        Assert.Contains("next run:", show.Output, StringComparison.Ordinal);
        Assert.Contains("manual", show.Output, StringComparison.Ordinal);
        Assert.Equal(["old-oc"], (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()));
    }

    private static async Task<(int Code, string Output, string Error)> CliAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Tandem.Cli.TandemCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static RetentionJob SmallChunkJob(TandemServer server, int chunkEvents)
    {
        var services = server.Services;
        var options = services.GetRequiredService<TandemOptions>();
        return new RetentionJob(services.GetRequiredService<IngestLog>(), services.GetRequiredService<ProfileProcessor>(),
            services.GetRequiredService<SettingsService>(), services.GetRequiredService<IRetentionRunStore>(), services.GetRequiredService<AuditLog>(),
            services.GetRequiredService<TimeProvider>(), options with { Retention = new RetentionOptions { ChunkEvents = chunkEvents } },
            services.GetRequiredService<IMeterFactory>(), services.GetRequiredService<ILogger<RetentionJob>>());
    }

    /// <summary>Moves the clock past the job's interval and waits for the scheduled run it starts, so no run is left in flight.</summary>
    private static async Task AdvanceAsync(TandemServer server, TimeSpan by)
    {
        var finished = server.Services.GetRequiredService<RetentionJob>().NextRunFinished;
        server.Clock.Advance(by);
        await finished.WaitAsync(Wait);
    }

    /// <summary>Every profile's timeline, in the processor's memory, holds exactly the events the log still holds.</summary>
    private static async Task AssertTimelinesMatchTheLogAsync(TandemServer server)
    {
        await server.CaughtUpAsync();
        var log = server.Services.GetRequiredService<IngestLog>();
        var inLog = log.ReadAfter(0, 100_000).Select(e => e.Seq).Order().ToList();
        var inTimelines = server.Services.GetRequiredService<ProfileProcessor>()
            .Read(engine => engine.FindProfiles(_ => true, 100_000).SelectMany(p => p.EventSeqs).Order().ToList());
        Assert.Equal(inLog, inTimelines);
    }

    private static async Task<List<string>> ProfileEventIdsAsync(TandemServer server, string identifier)
    {
        var page = await server.AdminGetAsync($"/v1/profiles/{identifier}/events?limit=200");
        return [.. page.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()!).Order(StringComparer.Ordinal)];
    }

    private static Dictionary<string, long> Counts(JsonElement counts) =>
        counts.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());

    private static async Task PutPolicyAsync(TandemServer server, string policy)
    {
        using var response = await server.Http.SendAsync(Put(server, policy));
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
    }

    private static HttpRequestMessage Put(TandemServer server, string body)
    {
        var request = server.Admin(HttpMethod.Put, "/api/v1/retention");
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return request;
    }

    private static async Task<JsonElement> RunAsync(TandemServer server)
    {
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/retention/runs"));
        return await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
    }

    private static async Task SendAsync(TandemServer server, params string[] events)
    {
        using var response = await server.CollectAsync("/v1/batch", $$"""{"batch":[{{string.Join(',', events)}}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await server.CaughtUpAsync();
    }

    private static string Track(string userId, string name, string messageId) =>
        $$"""{"type":"track","userId":"{{userId}}","event":"{{name}}","messageId":"{{messageId}}"}""";

    private static string Page(string userId, string messageId) =>
        $$"""{"type":"page","userId":"{{userId}}","name":"Home","messageId":"{{messageId}}"}""";

    private static string Identify(string userId, string messageId) =>
        $$"""{"type":"identify","userId":"{{userId}}","traits":{"plan":"pro"},"messageId":"{{messageId}}"}""";
}
