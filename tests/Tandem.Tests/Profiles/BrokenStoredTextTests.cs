using System.Net;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Profiles;

/// <summary>
/// A customer whose stored events hold text that is not valid Unicode (written by an older version)
/// can still be read through every section of the Profile API, found by search and exported.
/// </summary>
public sealed class BrokenStoredTextTests
{
    private static Task<JsonElement> ReadValidAsync(TandemServer server, string path) => Sources.BrokenStoredTextTests.ReadValidAsync(server, path);

    private static async Task<TandemServer> ArrangeAsync(byte[] broken)
    {
        var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", """{"userId":"u-1","traits":{"email":"ada@example.com","plan":"pro"}}""");
        await StoredBytes.AppendEventAsync(server,
            """{"userId":"u-1","traits":{"city":"@@broken@@","tags":["@@broken@@"],"address":{"street":"@@broken@@"}}}""",
            broken, MessageType.Identify);
        await StoredBytes.AppendEventAsync(server, """{"userId":"u-1","event":"Viewed","properties":{"note":"@@broken@@"}}""",
            broken, MessageType.Track);
        await server.CaughtUpAsync();
        return server;
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Events_StoredEventWithBrokenText_EveryPageAnswers(string what, byte[] broken, string shown)
    {
        await using var server = await ArrangeAsync(broken);

        var newest = await ReadValidAsync(server, "/v1/profiles/user_id:u-1/events?limit=1");
        Assert.Equal(shown, Assert.Single(newest.GetProperty("data").EnumerateArray()).GetProperty("properties").GetProperty("note").GetString());

        var all = await ReadValidAsync(server, "/v1/profiles/user_id:u-1/events?limit=200");
        Assert.True(all.GetProperty("data").GetArrayLength() == 3, what);
        Assert.Equal(shown, all.GetProperty("data")[1].GetProperty("traits").GetProperty("city").GetString());
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Traits_TraitWithBrokenText_IsShownWithReplacementCharacters(string what, byte[] broken, string shown)
    {
        await using var server = await ArrangeAsync(broken);

        var traits = (await ReadValidAsync(server, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits");
        Assert.True(traits.GetProperty("plan").GetString() == "pro", what);
        if (traits.TryGetProperty("city", out var city))
        {
            // Whether the processor keeps a broken trait is its own decision; if it does, it reads.
            Assert.Equal(shown, city.GetString());
            Assert.Equal(shown, traits.GetProperty("tags")[0].GetString());
        }

        await ReadValidAsync(server, "/v1/profiles/user_id:u-1/identifiers");
        await ReadValidAsync(server, "/v1/profiles/user_id:u-1/metadata");
        await ReadValidAsync(server, "/v1/profiles/user_id:u-1/audiences");
        var found = await ReadValidAsync(server, "/api/v1/profiles?search=u-1");
        Assert.Single(found.GetProperty("data").EnumerateArray());
        await ReadValidAsync(server, "/api/v1/profiles?search=caf");
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Export_StoredEventWithBrokenText_IsExportedWithReplacementCharacters(string what, byte[] broken, string shown)
    {
        await using var server = await ArrangeAsync(broken);

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "export", identifier = "user_id:u-1" }));
        var request = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        var events = request.GetProperty("export").GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event")).ToList();
        Assert.True(events.Count == 3, what);
        Assert.Equal(shown, events[2].GetProperty("properties").GetProperty("note").GetString());

        using var page = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/exports/profiles", new { use = "test", purposes = new[] { "analytics" } }));
        await HttpAssert.JsonAsync(page, HttpStatusCode.OK);
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Delete_StoredRefusalsWithBrokenText_AreReadAndTheRightOnesDeleted(string what, byte[] broken, string shown)
    {
        await using var server = await ArrangeAsync(broken);
        await StoredBytes.AppendRejectionAsync(server, StoredBytes.Replace("""{"userId":"u-1","properties":{"note":"@@broken@@"}}"""u8.ToArray(), broken));
        await StoredBytes.AppendRejectionAsync(server, StoredBytes.Replace("""{"userId":"@@broken@@"}"""u8.ToArray(), broken));

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "delete", identifier = "user_id:u-1" }));

        var request = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        Assert.True(request.GetProperty("status").GetString() == "completed", what);
        var left = Assert.Single(await server.RejectionsAsync());
        Assert.Equal(shown, left.GetProperty("payload").GetProperty("userId").GetString());
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Retention_StoredEventNamesWithBrokenText_AreReadByTheirRules(string what, byte[] broken, string shown)
    {
        await using var server = await ArrangeAsync(broken);
        await StoredBytes.AppendEventAsync(server, """{"userId":"u-1","event":"@@broken@@"}""", broken, MessageType.Track);
        server.Clock.Advance(TimeSpan.FromDays(40));
        using var policy = server.Admin(HttpMethod.Put, "/api/v1/retention", new { defaultDays = 30 });
        await HttpAssert.JsonAsync(await server.Http.SendAsync(policy), HttpStatusCode.OK);

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/retention/runs"));

        var run = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.True(run.GetProperty("status").GetString() == "completed", $"{what}: {run}");
        Assert.Empty(await server.StoredEventsAsync());
        var names = run.GetProperty("removed").GetProperty("byEvent").EnumerateObject().Select(p => p.Name).ToList();
        Assert.True(names.Exists(n => n.Contains('\uFFFD', StringComparison.Ordinal)), $"{what}: the broken name reads as {shown} somewhere in [{string.Join(", ", names)}]");
    }
}
