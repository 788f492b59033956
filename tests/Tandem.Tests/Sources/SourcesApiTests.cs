using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Sources;

public sealed class SourcesApiTests
{
    [Fact]
    public async Task Create_ThenList_ShowsSourceWithWriteKeyThatCollects()
    {
        await using var server = await TandemServer.StartAsync();
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "Website" }));
        var created = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("src_", id);
        Assert.Equal("Website", created.GetProperty("name").GetString());
        Assert.Equal($"/api/v1/sources/{id}", response.Headers.Location?.OriginalString);

        var list = await server.AdminGetAsync("/api/v1/sources");
        Assert.Equal(["Default source", "Website"], list.EnumerateArray().Select(s => s.GetProperty("name").GetString()));

        var writeKey = created.GetProperty("writeKey").GetString()!;
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", writeKey), HttpStatusCode.OK);
        Assert.Single(await server.StoredEventsAsync(id));
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Rename_AndDuplicateName_AnswersOkThenConflict()
    {
        await using var server = await TandemServer.StartAsync();
        var crm = await server.CreateSourceAsync("CRM");
        var id = crm.GetProperty("id").GetString();
        using var renamed = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{id}", new { name = "Salesforce" }));
        Assert.Equal("Salesforce", (await HttpAssert.JsonAsync(renamed, HttpStatusCode.OK)).GetProperty("name").GetString());

        using var clash = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{id}", new { name = "default SOURCE" }));
        await HttpAssert.ProblemAsync(clash, HttpStatusCode.Conflict, "name_taken");
        using var clashCreate = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "Salesforce" }));
        await HttpAssert.ProblemAsync(clashCreate, HttpStatusCode.Conflict, "name_taken");
    }

    [Fact]
    public async Task RotateKey_OldKeyIsRefused_NewKeyCollects()
    {
        await using var server = await TandemServer.StartAsync();
        var oldKey = server.WriteKey;
        using var rotated = await server.Http.SendAsync(server.Admin(HttpMethod.Post, $"/api/v1/sources/{server.DefaultSourceId}/rotate-key"));
        var newKey = (await HttpAssert.JsonAsync(rotated, HttpStatusCode.OK)).GetProperty("writeKey").GetString();
        Assert.NotEqual(oldKey, newKey);

        await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", oldKey), HttpStatusCode.Unauthorized, "unknown_write_key");
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", newKey), HttpStatusCode.OK);

        await server.RestartAsync();
        await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", oldKey), HttpStatusCode.Unauthorized, "unknown_write_key");
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", newKey), HttpStatusCode.OK);
    }

    public static TheoryData<string, string, HttpStatusCode, string> BadRequests => new()
    {
        { "POST", """{"name":""}""", HttpStatusCode.BadRequest, "missing_name" },
        { "POST", """{}""", HttpStatusCode.BadRequest, "missing_name" },
        { "POST", """{"name":"x""", HttpStatusCode.BadRequest, "invalid_json" },
        { "POST", """{"name":12}""", HttpStatusCode.BadRequest, "invalid_json" },
        { "POST", "{\"name\":\"" + new string('n', 101) + "\"}", HttpStatusCode.BadRequest, "name_too_long" },
        { "PATCH", """{}""", HttpStatusCode.BadRequest, "nothing_to_change" },
        { "PATCH", """{"enabled":"yes"}""", HttpStatusCode.BadRequest, "invalid_json" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Change_BadBody_AnswersPreciseProblem_AndChangesNothing(string method, string json, HttpStatusCode status, string reason)
    {
        await using var server = await TandemServer.StartAsync();
        var path = method == "POST" ? "/api/v1/sources" : $"/api/v1/sources/{server.DefaultSourceId}";
        using var request = server.Admin(new HttpMethod(method), path);
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), status, reason);

        var list = await server.AdminGetAsync("/api/v1/sources");
        var only = Assert.Single(list.EnumerateArray());
        Assert.True(only.GetProperty("enabled").GetBoolean());
        Assert.Equal("Default source", only.GetProperty("name").GetString());
    }

    [Fact]
    public async Task UnknownSource_Answers404Problem()
    {
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/sources/src_nope")), HttpStatusCode.NotFound, "not_found");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/sources/src_nope/events")), HttpStatusCode.NotFound, "not_found");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources/src_nope/rotate-key")), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Events_LimitOutOfRangeOrNotANumber_Answers400()
    {
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/api/v1/sources/{server.DefaultSourceId}/events?limit=0")), HttpStatusCode.BadRequest, "invalid_limit");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/api/v1/sources/{server.DefaultSourceId}/events?limit=abc")), HttpStatusCode.BadRequest, "invalid_limit");
    }

    [Fact]
    public async Task Events_LiveFeed_ReturnsNewestFirst_AndOnlyNewerWithAfter()
    {
        await using var server = await TandemServer.StartAsync();
        for (var i = 1; i <= 5; i++)
        {
            await server.CollectAsync("/v1/track", $$"""{"userId":"u","event":"E{{i}}"}""");
        }

        var feed = await server.AdminGetAsync($"/api/v1/sources/{server.DefaultSourceId}/events?limit=2");
        Assert.Equal(5, feed.GetProperty("head").GetInt64());
        Assert.Equal(["E5", "E4"], feed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetProperty("event").GetString()));

        await server.CollectAsync("/v1/track", """{"userId":"u","event":"E6"}""");
        var newer = await server.AdminGetAsync($"/api/v1/sources/{server.DefaultSourceId}/events?after=5");
        Assert.Equal(6, Assert.Single(newer.GetProperty("events").EnumerateArray()).GetProperty("seq").GetInt64());
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "", "unauthorized" },
        { "Bearer wrong-token", "invalid_token" },
        { "Basic dGVzdDo=", "bad_credentials" },
        { "Bearer", "bad_credentials" },
        { "Bearer ", "bad_credentials" },
        { "Token abc", "bad_credentials" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Management_WithoutValidToken_Answers401Problem(string authorization, string reason)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/api/v1/sources"))
        {
            Content = new StringContent("""{"name":"Sneaky"}""", Encoding.UTF8, "application/json"),
        };
        if (authorization.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.Unauthorized, reason);
        Assert.Single((await server.AdminGetAsync("/api/v1/sources")).EnumerateArray());
    }

    [Fact]
    public async Task Management_WriteKeyAsBearer_IsNotAnAdminToken()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/api/v1/sources"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.WriteKey);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.Unauthorized, "invalid_token");
    }
}
