using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Storage;
using Tandem.Tests.Support;
using Tandem.Trust;
using Xunit;

namespace Tandem.Tests.Profiles;

public sealed class ProfileApiTests
{
    private const string Visit = """{"type":"page","anonymousId":"anon-1","name":"Pricing","timestamp":"2026-11-20T10:00:00Z","messageId":"m1"}""";
    private const string SignUp = """{"type":"identify","userId":"u-42","anonymousId":"anon-1","traits":{"email":"Ada@Example.com","plan":"pro","firstName":"Ada"},"timestamp":"2026-11-20T10:05:00Z","messageId":"m2"}""";
    private const string Order = """{"type":"track","userId":"u-42","event":"Order Completed","properties":{"total":30.5,"currency":"EUR"},"timestamp":"2026-11-20T10:10:00Z","messageId":"m3"}""";

    [Fact]
    public async Task AnonymousVisitorWhoSignsUp_IsOneProfileByEveryIdentifier()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Visit, SignUp, Order);

        var byAnonymous = await GetAsync(server, "/v1/profiles/anonymous_id:anon-1/traits");
        var byEmail = await GetAsync(server, "/v1/profiles/email:ada@example.com/traits");
        var byUser = await GetAsync(server, "/v1/profiles/user_id:u-42/traits");

        var profileId = byAnonymous.GetProperty("profileId").GetString()!;
        Assert.StartsWith("prf_", profileId, StringComparison.Ordinal);
        Assert.Equal(profileId, byEmail.GetProperty("profileId").GetString());
        Assert.Equal(profileId, byUser.GetProperty("profileId").GetString());
        Assert.Equal("pro", byUser.GetProperty("traits").GetProperty("plan").GetString());
        Assert.Equal("Ada@Example.com", byUser.GetProperty("traits").GetProperty("email").GetString());

        var byProfileId = await GetAsync(server, $"/v1/profiles/profile_id:{profileId}/identifiers");
        var identifiers = byProfileId.GetProperty("data").EnumerateArray()
            .Select(i => i.GetProperty("type").GetString() + ":" + i.GetProperty("value").GetString()).Order().ToArray();
        Assert.Equal(["anonymous_id:anon-1", "email:ada@example.com", "user_id:u-42"], identifiers);
        Assert.All(byProfileId.GetProperty("data").EnumerateArray(), i => Assert.Equal(server.DefaultSourceId, i.GetProperty("sourceId").GetString()));
    }

    [Fact]
    public async Task Traits_Include_KeepsOnlyTheNamedTraits()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, SignUp);

        var traits = (await GetAsync(server, "/v1/profiles/user_id:u-42/traits?include=plan,firstName")).GetProperty("traits");

        Assert.Equal(["firstName", "plan"], traits.EnumerateObject().Select(p => p.Name).Order().ToArray());
    }

    [Fact]
    public async Task Metadata_CountsEventsByTypeAndSource()
    {
        await using var server = await TandemServer.StartAsync();
        var crm = await server.CreateSourceAsync("CRM");
        await SendAsync(server, Visit, SignUp);
        using (var response = await server.CollectAsync("/v1/batch", $$"""{"batch":[{{Order}}]}""", crm.GetProperty("writeKey").GetString()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await server.CaughtUpAsync();

        var metadata = await GetAsync(server, "/v1/profiles/email:ada@example.com/metadata");

        Assert.Equal(3, metadata.GetProperty("eventCount").GetInt32());
        Assert.Equal(1, metadata.GetProperty("eventsByType").GetProperty("page").GetInt32());
        Assert.Equal(1, metadata.GetProperty("eventsByType").GetProperty("identify").GetInt32());
        Assert.Equal(1, metadata.GetProperty("eventsByType").GetProperty("track").GetInt32());
        var bySource = metadata.GetProperty("eventsBySource").EnumerateArray().ToDictionary(s => s.GetProperty("sourceName").GetString()!, s => s.GetProperty("events").GetInt32());
        Assert.Equal(2, bySource[Tandem.Hosting.Workspace.DefaultSourceName]);
        Assert.Equal(1, bySource["CRM"]);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), metadata.GetProperty("firstSeen").GetDateTimeOffset());
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T10:10:00Z", System.Globalization.CultureInfo.InvariantCulture), metadata.GetProperty("lastSeen").GetDateTimeOffset());
    }

    [Fact]
    public async Task Events_AreNewestFirst_AndPageWithTheCursor()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Visit, SignUp, Order);

        var first = await GetAsync(server, "/v1/profiles/user_id:u-42/events?limit=2");
        Assert.Equal(["m3", "m2"], first.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()).ToArray());
        Assert.True(first.GetProperty("cursor").GetProperty("hasMore").GetBoolean());

        var next = first.GetProperty("cursor").GetProperty("next").GetString();
        var second = await GetAsync(server, $"/v1/profiles/user_id:u-42/events?limit=2&cursor={next}");
        Assert.Equal(["m1"], second.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()).ToArray());
        Assert.False(second.GetProperty("cursor").GetProperty("hasMore").GetBoolean());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("cursor").GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task Audiences_IsAnEmptyListUntilAudiencesExist()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, SignUp);

        var audiences = await GetAsync(server, "/v1/profiles/user_id:u-42/audiences");

        Assert.Equal(0, audiences.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("/v1/profiles/email:nobody@example.com/traits", HttpStatusCode.NotFound, "profile_not_found")]
    [InlineData("/v1/profiles/fingerprint:abc/traits", HttpStatusCode.BadRequest, "unknown_identifier_type")]
    [InlineData("/v1/profiles/u-42/traits", HttpStatusCode.BadRequest, "invalid_identifier")]
    [InlineData("/v1/profiles/user_id:/traits", HttpStatusCode.BadRequest, "invalid_identifier")]
    [InlineData("/v1/profiles/user_id:u-42/events?limit=0", HttpStatusCode.BadRequest, "invalid_limit")]
    [InlineData("/v1/profiles/user_id:u-42/events?limit=201", HttpStatusCode.BadRequest, "invalid_limit")]
    [InlineData("/v1/profiles/user_id:u-42/events?cursor=abc", HttpStatusCode.BadRequest, "invalid_cursor")]
    [InlineData("/v1/profiles/user_id:u-42/events?limit=x", HttpStatusCode.BadRequest, "invalid_limit")]
    [InlineData("/v1/profiles/email:null/traits", HttpStatusCode.NotFound, "profile_not_found")]
    public async Task BadLookups_AnswerProblems(string path, HttpStatusCode status, string reason)
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, SignUp);

        using var request = new HttpRequestMessage(HttpMethod.Get, server.Url(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TandemServer.AdminToken);

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), status, reason);
    }

    [Fact]
    public async Task ProfileApi_NeedsATokenWithTheProfilesReadScope()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, SignUp);
        var (_, reader) = await server.CreateTokenAsync([Scopes.ProfilesRead], name: "website");
        var (_, sources) = await server.CreateTokenAsync([Scopes.SourcesWrite], name: "ops");
        const string path = "/v1/profiles/user_id:u-42/traits";

        Assert.Equal(HttpStatusCode.OK, (await GetWithAsync(server, path, "Bearer " + reader)).StatusCode);
        await HttpAssert.ProblemAsync(await GetWithAsync(server, path, "Bearer " + sources), HttpStatusCode.Forbidden, "missing_scope");
        await HttpAssert.ProblemAsync(await GetWithAsync(server, path, "Bearer wrong-token"), HttpStatusCode.Unauthorized, "invalid_token");
        await HttpAssert.ProblemAsync(await GetWithAsync(server, path, null), HttpStatusCode.Unauthorized, "unauthorized");
        await HttpAssert.ProblemAsync(await GetWithAsync(server, path, "Basic dXNlcjpwYXNz"), HttpStatusCode.Unauthorized, "bad_credentials");

        // A profiles:read token does not open the rest of the management API.
        await HttpAssert.ProblemAsync(await GetWithAsync(server, "/api/v1/sources", "Bearer " + reader), HttpStatusCode.Forbidden, "missing_scope");
    }

    [Fact]
    public async Task ProfilesSurviveARestart_AndEqualAReplayOfTheLog()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Visit, SignUp, Order);
        var before = Processor(server).SnapshotBytes();

        await server.RestartAsync();
        await server.CaughtUpAsync();

        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        Assert.Equal(before, Processor(server).SnapshotBytes());
        Assert.Equal(before, Replay(server));
        var traits = await GetAsync(server, "/v1/profiles/anonymous_id:anon-1/traits");
        Assert.Equal("pro", traits.GetProperty("traits").GetProperty("plan").GetString());
    }

    [Fact]
    public async Task WithoutASnapshot_TheProcessorRebuildsEverythingFromTheLog()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, Visit, SignUp, Order);
        var before = Processor(server).SnapshotBytes();

        // As after a crash before any snapshot: the next start must read the whole log again.
        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        await server.CaughtUpAsync();

        Assert.Equal(before, Processor(server).SnapshotBytes());
    }

    internal static Tandem.Unify.ProfileProcessor Processor(TandemServer server) => server.Services.GetRequiredService<Tandem.Unify.ProfileProcessor>();

    /// <summary>A fresh engine fed the whole log, with the server's rules and computed traits: its state must equal the live one.</summary>
    internal static byte[] Replay(TandemServer server)
    {
        var processor = Processor(server);
        var (rules, computed) = processor.Read(e => (e.Rules, e.ComputedTraits.ToArray()));
        var engine = new Tandem.Unify.ProfileEngine(rules);
        foreach (var definition in computed)
        {
            engine.DefineComputedTrait(definition, []);
        }

        var log = server.Services.GetRequiredService<Tandem.Storage.Sqlite.IngestLog>();
        for (var batch = log.ReadAfter(0, 1000); batch.Count > 0; batch = log.ReadAfter(batch[^1].Seq, 1000))
        {
            foreach (var entry in batch)
            {
                engine.Apply(entry.Seq, entry.SourceKey, entry.Payload);
            }
        }

        using var buffer = new MemoryStream();
        engine.WriteSnapshot(buffer);
        return buffer.ToArray();
    }

    internal static async Task SendAsync(TandemServer server, params string[] events)
    {
        using var response = await server.CollectAsync("/v1/batch", "{\"batch\":[" + string.Join(",", events) + "]}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await server.CaughtUpAsync();
    }

    internal static async Task<JsonElement> GetAsync(TandemServer server, string path)
    {
        using var response = await GetWithAsync(server, path, "Bearer " + TandemServer.AdminToken);
        return await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
    }

    private static Task<HttpResponseMessage> GetWithAsync(TandemServer server, string path, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, server.Url(path));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return server.Http.SendAsync(request);
    }
}
