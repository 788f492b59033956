using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Sources;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Unify;
using static Tandem.Tests.Profiles.ProfileApiTests;

namespace Tandem.Tests.Unify;

/// <summary>
/// An event acknowledged and stored, which the processor cannot apply, is shown to the operator: in
/// <c>/api/v1/processor</c>, in the list at <c>/api/v1/processor/not-applied</c> and in a metric.
/// Today's collector repairs text that is not valid Unicode, so such events are appended straight to
/// the log, as older versions stored them.
/// </summary>
public sealed class ProcessorNotAppliedTests
{
    /// <summary>What an older collector stored for <c>'Zoë😀'.slice(0, 4)</c> as the event name.</summary>
    internal const string CutEmojiEvent = """{"type":"track","event":"Zo\u00eb\ud83d","userId":"zoe","messageId":"cut-emoji","receivedAt":"2026-11-23T11:00:00.000Z"}""";

    /// <summary>What an older collector accepted and today's refuses (<c>blank_identifier</c>): a userId of spaces, naming no one.</summary>
    internal const string BlankUserEvent = """{"type":"track","event":"E","userId":"  ","messageId":"blank-user","receivedAt":"2026-11-23T11:00:00.000Z"}""";

    internal static async Task<long> AppendAsync(TandemServer server, params string[] payloads)
    {
        var log = server.Services.GetRequiredService<IngestLog>();
        var source = server.Services.GetRequiredService<SourceRegistry>().FindById(server.DefaultSourceId)!;
        var messages = payloads.Select((p, i) => new StampedMessage(i, MessageType.Track, "m" + i, Encoding.UTF8.GetBytes(p))).ToArray();
        await log.TryAppend(source.Key, messages, [], server.Clock.GetUtcNow())!;
        await server.CaughtUpAsync();
        return log.Head;
    }

    [Fact]
    public async Task Processor_EventNameWithALoneSurrogate_IsAppliedWithAReplacementCharacter()
    {
        await using var server = await TandemServer.StartAsync();
        await AppendAsync(server, CutEmojiEvent);

        var status = await server.AdminGetAsync("/api/v1/processor");
        Assert.Equal(JsonValueKind.Null, status.GetProperty("fault").ValueKind);
        Assert.Equal(0, status.GetProperty("eventsNotApplied").GetInt64());
        var events = await server.AdminGetAsync("/v1/profiles/user_id:zoe/events?limit=1");
        Assert.Equal("Zo\u00eb\uFFFD", Assert.Single(events.GetProperty("data").EnumerateArray()).GetProperty("event").GetString());
    }

    [Fact]
    public async Task Processor_BlankIdentifierFromAnOlderCollector_IsCountedAndListedWithItsReason()
    {
        await using var server = await TandemServer.StartAsync();
        var seq = await AppendAsync(server, BlankUserEvent);
        await SendAsync(server, """{"type":"identify","userId":"ada","messageId":"fine"}""");

        var status = await server.AdminGetAsync("/api/v1/processor");
        var list = await server.AdminGetAsync("/api/v1/processor/not-applied");

        Assert.Equal(JsonValueKind.Null, status.GetProperty("fault").ValueKind);
        Assert.Equal(seq + 1, status.GetProperty("position").GetInt64());
        Assert.Equal(1, status.GetProperty("eventsNotApplied").GetInt64());
        Assert.Equal(1, status.GetProperty("notApplied").GetProperty("no_identifier").GetInt64());
        Assert.Equal(0, status.GetProperty("notApplied").GetProperty("apply_failed").GetInt64());
        var entry = Assert.Single(list.GetProperty("events").EnumerateArray());
        Assert.Equal(seq, entry.GetProperty("seq").GetInt64());
        Assert.Equal(server.DefaultSourceId, entry.GetProperty("sourceId").GetString());
        Assert.Equal("blank-user", entry.GetProperty("messageId").GetString());
        Assert.Equal("track", entry.GetProperty("type").GetString());
        Assert.Equal("no_identifier", entry.GetProperty("reason").GetString());
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 11, 0, 0, TimeSpan.Zero), entry.GetProperty("receivedAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, list.GetProperty("next").ValueKind);

        // The event after it was applied: one bad event does not hold the others back.
        using var ada = await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/v1/profiles/user_id:ada/traits"));
        Assert.Equal(HttpStatusCode.OK, ada.StatusCode);
    }

    [Fact]
    public async Task Processor_NotAppliedCounts_SurviveARestart_AndEqualAFullReplay()
    {
        await using var server = await TandemServer.StartAsync();
        await AppendAsync(server, BlankUserEvent,
            """{"type":"track","event":"E","userId":"   ","messageId":"blank","receivedAt":"2026-11-23T11:00:00.000Z"}""",
            """{"type":"track","event":"E","userId":"u-1","messageId":"fine","receivedAt":"2026-11-23T11:00:00.000Z"}""");
        var before = await server.AdminGetAsync("/api/v1/processor");

        await server.RestartAsync();
        await server.CaughtUpAsync();
        var afterRestart = await server.AdminGetAsync("/api/v1/processor");
        Assert.Equal(Replay(server), Processor(server).SnapshotBytes());

        // Without the snapshot the whole log is applied again, and counts the same events the same way.
        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        await server.CaughtUpAsync();
        var rebuilt = await server.AdminGetAsync("/api/v1/processor");

        foreach (var status in new[] { afterRestart, rebuilt })
        {
            Assert.Equal(before.GetProperty("notApplied").GetRawText(), status.GetProperty("notApplied").GetRawText());
            Assert.Equal(2, status.GetProperty("notApplied").GetProperty("no_identifier").GetInt64());
            Assert.Equal(2, status.GetProperty("eventsNotApplied").GetInt64());
        }

        var list = await server.AdminGetAsync("/api/v1/processor/not-applied");
        Assert.Equal(["blank", "blank-user"], list.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()));
    }

    [Fact]
    public async Task NotApplied_PagesNewestFirstWithACursor()
    {
        await using var server = await TandemServer.StartAsync();
        await AppendAsync(server, [.. Enumerable.Range(1, 5).Select(i => $$"""{"type":"page","messageId":"p{{i}}"}""")]);

        var first = await server.AdminGetAsync("/api/v1/processor/not-applied?limit=2");
        var next = first.GetProperty("next").GetInt64();
        var second = await server.AdminGetAsync($"/api/v1/processor/not-applied?limit=2&before={next}");
        var last = await server.AdminGetAsync($"/api/v1/processor/not-applied?limit=2&before={second.GetProperty("next").GetInt64()}");

        static string?[] Ids(JsonElement page) => [.. page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("messageId").GetString())];
        Assert.Equal(["p5", "p4"], Ids(first));
        Assert.Equal(["p3", "p2"], Ids(second));
        Assert.Equal(["p1"], Ids(last));
        Assert.Equal(JsonValueKind.Null, last.GetProperty("next").ValueKind);
    }

    [Theory]
    [InlineData("limit=0", "limit", "invalid_limit")]
    [InlineData("limit=1001", "limit", "invalid_limit")]
    [InlineData("limit=ten", "limit", "invalid_limit")]
    [InlineData("before=-3", "before", "invalid_cursor")]
    [InlineData("before=abc", "before", "invalid_cursor")]
    public async Task NotApplied_BadPaging_AnswersAProblemNamingTheParameter(string query, string field, string code)
    {
        await using var server = await TandemServer.StartAsync();

        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/processor/not-applied?" + query)),
            HttpStatusCode.BadRequest, code);

        Assert.Equal(field, problem.GetProperty("field").GetString());
    }
}
