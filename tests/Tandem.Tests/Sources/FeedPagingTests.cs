using System.Net;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Sources;

/// <summary>An operator pages through everything a source sent or had refused, newest first, with <c>before</c> and <c>next</c>.</summary>
public sealed class FeedPagingTests
{
    private static async Task<List<long>> PageThroughAsync(TandemServer server, string feed, string items, string id, int limit, string extra = "")
    {
        var seen = new List<long>();
        string? before = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await server.AdminGetAsync($"/api/v1/sources/{server.DefaultSourceId}/{feed}?limit={limit}{extra}{(before is null ? "" : "&before=" + before)}");
            var shown = page.GetProperty(items).EnumerateArray().Select(e => e.GetProperty(id).GetInt64()).ToList();
            Assert.InRange(shown.Count, 0, limit);
            seen.AddRange(shown);
            var next = page.GetProperty("next");
            if (next.ValueKind == JsonValueKind.Null)
            {
                return seen;
            }

            Assert.Equal(shown[^1], next.GetInt64());
            before = next.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        throw new InvalidOperationException("the feed never reached its last page");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(1000)]
    public async Task Events_PagedWithBefore_ReturnEveryEventOnceNewestFirst(int limit)
    {
        await using var server = await TandemServer.StartAsync();
        var other = await server.CreateSourceAsync("CRM");
        for (var i = 1; i <= 7; i++)
        {
            await server.CollectAsync("/v1/track", $$"""{"userId":"u","event":"E{{i}}"}""");
            await server.CollectAsync("/v1/track", """{"userId":"u","event":"Elsewhere"}""", other.GetProperty("writeKey").GetString());
        }

        var seqs = await PageThroughAsync(server, "events", "events", "seq", limit);

        Assert.Equal(7, seqs.Count);
        Assert.Equal(seqs.Distinct().OrderDescending(), seqs);
        var all = await server.StoredEventsAsync();
        Assert.Equal(["E7", "E6", "E5", "E4", "E3", "E2", "E1"], all.Select(e => e.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task Events_BeforeAndAfterTogether_PageThroughAWindow()
    {
        await using var server = await TandemServer.StartAsync();
        for (var i = 1; i <= 9; i++)
        {
            await server.CollectAsync("/v1/track", $$"""{"userId":"u","event":"E{{i}}"}""");
        }

        // A poller that fell 6 events behind (it last saw head 3) catches up 2 at a time.
        Assert.Equal([9L, 8, 7, 6, 5, 4], await PageThroughAsync(server, "events", "events", "seq", limit: 2, extra: "&after=3"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(1000)]
    public async Task Rejections_PagedWithBefore_ReturnEveryRefusalOnceNewestFirst(int limit)
    {
        await using var server = await TandemServer.StartAsync();
        for (var i = 1; i <= 9; i++)
        {
            await server.CollectAsync("/v1/track", $$"""{"userId":"u-{{i}}"}"""); // refused: no event name
        }

        var ids = await PageThroughAsync(server, "rejections", "rejections", "id", limit);

        Assert.Equal(9, ids.Count);
        Assert.Equal(ids.Distinct().OrderDescending(), ids);
        Assert.Equal(Enumerable.Range(1, 9).Reverse().Select(i => "u-" + i),
            (await server.RejectionsAsync()).Select(r => r.GetProperty("payload").GetProperty("userId").GetString()));
    }

    [Theory]
    [InlineData("events", "limit=0", "limit", "invalid_limit")]
    [InlineData("events", "limit=1001", "limit", "invalid_limit")]
    [InlineData("events", "limit=abc", "limit", "invalid_limit")]
    [InlineData("events", "limit=-1", "limit", "invalid_limit")]
    [InlineData("events", "before=0", "before", "invalid_cursor")]
    [InlineData("events", "before=12x", "before", "invalid_cursor")]
    [InlineData("events", "after=-1", "after", "invalid_cursor")]
    [InlineData("events", "after=99999999999999999999", "after", "invalid_cursor")]
    [InlineData("rejections", "limit=1.5", "limit", "invalid_limit")]
    [InlineData("rejections", "before=next", "before", "invalid_cursor")]
    public async Task Feeds_UnusableLimitOrCursor_AnswerOneProblemNamingIt(string feed, string query, string parameter, string reason)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/api/v1/sources/{server.DefaultSourceId}/{feed}?{query}"));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, reason);
        Assert.Equal(parameter, problem.GetProperty("field").GetString());
        var sent = query.Split('=', 2)[1];
        Assert.Contains($"'{sent}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(sent, problem.GetProperty("received").GetString());
    }
}
