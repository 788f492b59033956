using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;
using Xunit;
using static Tandem.Tests.Profiles.ProfileApiTests;

namespace Tandem.Tests.Profiles;

public sealed class UnifyApiTests
{
    [Fact]
    public async Task Search_FindsByIdentifierPrefixAndByTraitValue()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server,
            """{"type":"identify","userId":"u-1","traits":{"email":"ada@example.com","city":"Lisbon"},"messageId":"a"}""",
            """{"type":"identify","userId":"u-2","traits":{"email":"grace@example.com","city":"Porto"},"messageId":"b"}""");

        var byEmail = await server.AdminGetAsync("/api/v1/profiles?search=ADA@");
        var byTrait = await server.AdminGetAsync("/api/v1/profiles?search=porto");
        var byUserPrefix = await server.AdminGetAsync("/api/v1/profiles?search=u-&limit=1");

        Assert.Equal(["email:ada@example.com", "user_id:u-1"], Identifiers(byEmail.GetProperty("data")[0]));
        Assert.Equal(["email:grace@example.com", "user_id:u-2"], Identifiers(byTrait.GetProperty("data")[0]));
        Assert.Equal(1, byUserPrefix.GetProperty("data").GetArrayLength());
        Assert.Equal(0, (await server.AdminGetAsync("/api/v1/profiles?search=nobody")).GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/v1/profiles", HttpStatusCode.BadRequest, "missing_search")]
    [InlineData("/api/v1/profiles?search=a&limit=101", HttpStatusCode.BadRequest, "invalid_limit")]
    [InlineData("/api/v1/profiles/prf_nope/merges", HttpStatusCode.NotFound, "not_found")]
    [InlineData("/api/v1/accounts/acme-nope", HttpStatusCode.NotFound, "not_found")]
    public async Task BadManagementReads_AnswerProblems(string path, HttpStatusCode status, string reason)
    {
        await using var server = await TandemServer.StartAsync();

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, path)), status, reason);
    }

    [Fact]
    public async Task Merges_ExplainWhichEventAndRuleMadeTwoProfilesOne()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server,
            """{"type":"page","anonymousId":"phone-browser","messageId":"visit"}""",
            """{"type":"identify","userId":"u-7","traits":{"email":"lin@example.com"},"messageId":"crm"}""",
            """{"type":"track","userId":"u-7","anonymousId":"phone-browser","event":"Signed In","messageId":"login"}""");
        var profileId = (await GetAsync(server, "/v1/profiles/user_id:u-7/traits")).GetProperty("profileId").GetString();

        var history = await server.AdminGetAsync($"/api/v1/profiles/{profileId}/merges");

        var merge = Assert.Single(history.GetProperty("merges").EnumerateArray());
        Assert.Equal("login", merge.GetProperty("messageId").GetString());
        Assert.Equal("shared_identifier", merge.GetProperty("rule").GetString());
        Assert.Equal(profileId, merge.GetProperty("survivor").GetString());
        // The older profile (the anonymous visit) survives; the CRM's profile joins it.
        Assert.Equal(["user_id:u-7", "email:lin@example.com"], merge.GetProperty("absorbedIdentifiers").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.Contains("login", merge.GetProperty("explanation").GetString(), StringComparison.Ordinal);
        var absorbed = merge.GetProperty("absorbed").GetString()!;
        Assert.Equal([absorbed], history.GetProperty("mergedProfileIds").EnumerateArray().Select(e => e.GetString()).ToArray());

        // The absorbed profile's id still finds the customer.
        Assert.Equal(profileId, (await GetAsync(server, $"/v1/profiles/profile_id:{absorbed}/traits")).GetProperty("profileId").GetString());
    }

    [Fact]
    public async Task SharedDevice_DoesNotMergeTwoSignedInCustomers_AndSaysWhy()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server,
            """{"type":"identify","userId":"alice","anonymousId":"family-tablet","messageId":"1"}""",
            """{"type":"identify","userId":"bob","anonymousId":"family-tablet","messageId":"2"}""");

        var alice = await GetAsync(server, "/v1/profiles/user_id:alice/metadata");
        var bob = await GetAsync(server, "/v1/profiles/user_id:bob/metadata");
        var tablet = await GetAsync(server, "/v1/profiles/anonymous_id:family-tablet/metadata");

        Assert.NotEqual(alice.GetProperty("profileId").GetString(), bob.GetProperty("profileId").GetString());
        Assert.Equal(alice.GetProperty("profileId").GetString(), tablet.GetProperty("profileId").GetString());
        var history = await server.AdminGetAsync($"/api/v1/profiles/{bob.GetProperty("profileId").GetString()}/merges");
        var declined = Assert.Single(history.GetProperty("declined").EnumerateArray());
        Assert.Equal("anonymous_id:family-tablet", declined.GetProperty("identifier").GetString());
        Assert.Contains("user_id", declined.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accounts_HoldGroupTraitsAndMembers()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server,
            """{"type":"group","userId":"u-1","groupId":"acme","traits":{"name":"Acme","employees":40},"messageId":"g1"}""",
            """{"type":"group","userId":"u-2","groupId":"acme","traits":{"employees":45},"timestamp":"2030-01-01T00:00:00Z","messageId":"g2"}""");

        var account = await server.AdminGetAsync("/api/v1/accounts/acme");
        var metadata = await GetAsync(server, "/v1/profiles/user_id:u-1/metadata");

        Assert.Equal("Acme", account.GetProperty("traits").GetProperty("name").GetString());
        Assert.Equal(45, account.GetProperty("traits").GetProperty("employees").GetInt32());
        Assert.Equal(2, account.GetProperty("members").GetArrayLength());
        Assert.Equal(["acme"], metadata.GetProperty("accounts").EnumerateArray().Select(a => a.GetString()).ToArray());
    }

    [Fact]
    public async Task CustomIdentifierType_LinksProfilesThroughExternalIds()
    {
        await using var server = await TandemServer.StartAsync();
        using (var created = await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/identity/types/salesforce_id", new { limit = 1, priority = 4 })))
        {
            var body = await HttpAssert.JsonAsync(created, HttpStatusCode.Created);
            Assert.False(body.GetProperty("builtIn").GetBoolean());
        }

        await SendAsync(server,
            """{"type":"identify","userId":"u-9","context":{"externalIds":[{"id":"003XYZ","type":"salesforce_id","collection":"users"}]},"messageId":"1"}""",
            """{"type":"identify","anonymousId":"crm-sync","traits":{"lifecycle":"customer"},"context":{"externalIds":[{"id":"003XYZ","type":"salesforce_id","collection":"users"}]},"messageId":"2"}""");

        var traits = await GetAsync(server, "/v1/profiles/salesforce_id:003XYZ/traits");
        Assert.Equal("customer", traits.GetProperty("traits").GetProperty("lifecycle").GetString());
        Assert.Equal(traits.GetProperty("profileId").GetString(), (await GetAsync(server, "/v1/profiles/user_id:u-9/traits")).GetProperty("profileId").GetString());

        var types = await server.AdminGetAsync("/api/v1/identity/types");
        Assert.Equal(["user_id", "email", "phone", "salesforce_id", "anonymous_id"], types.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToArray());
    }

    [Fact]
    public async Task BlockedValue_AddedByAnAdmin_IsNeverLinked()
    {
        await using var server = await TandemServer.StartAsync();
        using (var changed = await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/identity/types/email",
            new { blockedValues = (string[])["test@example.com"], blockedPatterns = (string[])["@mailinator\\.com$"] })))
        {
            var body = await HttpAssert.JsonAsync(changed, HttpStatusCode.OK);
            Assert.Equal(5, body.GetProperty("limit").GetInt32());
        }

        await SendAsync(server,
            """{"type":"identify","userId":"u-1","traits":{"email":"test@example.com"},"messageId":"1"}""",
            """{"type":"identify","userId":"u-2","traits":{"email":"TEST@example.com"},"messageId":"2"}""",
            """{"type":"identify","userId":"u-3","traits":{"email":"x@mailinator.com"},"messageId":"3"}""");

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/v1/profiles/email:test@example.com/traits")), HttpStatusCode.NotFound, "profile_not_found");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/v1/profiles/email:x@mailinator.com/traits")), HttpStatusCode.NotFound, "profile_not_found");
        Assert.NotEqual((await GetAsync(server, "/v1/profiles/user_id:u-1/traits")).GetProperty("profileId").GetString(),
            (await GetAsync(server, "/v1/profiles/user_id:u-2/traits")).GetProperty("profileId").GetString());
    }

    [Theory]
    [InlineData("/api/v1/identity/types/salesforce_id", """{"limit":0}""", "limit")]
    [InlineData("/api/v1/identity/types/salesforce_id", """{"priority":5000}""", "priority")]
    [InlineData("/api/v1/identity/types/salesforce_id", """{"blockedPatterns":["(a)\\1"]}""", "blockedPatterns[0]")]
    [InlineData("/api/v1/identity/types/email", """{"traitKey":"mail"}""", "traitKey")]
    [InlineData("/api/v1/identity/types/bad%20name", """{"limit":1}""", "name")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"median","event":"Order Completed"}""", "aggregation")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count"}""", "event")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"sum","event":"Order Completed"}""", "property")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","window":"7 weeks"}""", "window")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","where":[{"property":"x","operator":"like","value":1}]}""", "where[0].operator")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","where":[{"operator":"equals","value":1}]}""", "where[0].property")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","where":[{"property":"x","operator":"equals"}]}""", "where")]
    [InlineData("/api/v1/computed-traits/orders", """{"name":"other","aggregation":"count","event":"E"}""", "name")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","type":"click","event":"E"}""", "type")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","window":"2000000000h"}""", "window")]
    [InlineData("/api/v1/computed-traits/orders", """{"aggregation":"count","event":"E","where":[null]}""", "where[0]")]
    [InlineData("/api/v1/identity/types/email", """{"blockedValues":["ok",null]}""", "blockedValues[1]")]
    [InlineData("/api/v1/identity/types/email", """{"blockedPatterns":[null]}""", "blockedPatterns[0]")]
    public async Task InvalidSettings_AnswerProblemsThatNameTheField(string path, string body, string field)
    {
        await using var server = await TandemServer.StartAsync();
        var request = server.Admin(HttpMethod.Put, path);
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_field");

        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task BuiltInTypes_CannotBeRemoved_CustomOnesCan()
    {
        await using var server = await TandemServer.StartAsync();
        (await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/identity/types/ga_client_id", new { limit = 3 }))).Dispose();

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/identity/types/email")), HttpStatusCode.Conflict, "built_in_type");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/identity/types/nope")), HttpStatusCode.NotFound, "not_found");
        using var deleted = await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/identity/types/ga_client_id"));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        // Settings persist across a restart.
        await server.RestartAsync();
        var names = (await server.AdminGetAsync("/api/v1/identity/types")).EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToArray();
        Assert.DoesNotContain("ga_client_id", names);
    }

    [Fact]
    public async Task ComputedTrait_BackfillsThePast_UpdatesLive_AndSlidesWithTheClock()
    {
        await using var server = await TandemServer.StartAsync();
        var now = server.Clock.GetUtcNow();
        string Order(string id, double total, string currency, TimeSpan ago) =>
            $$"""{"type":"track","userId":"u-1","event":"Order Completed","properties":{"total":{{total.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"currency":"{{currency}}"},"timestamp":"{{(now - ago).ToString("O", System.Globalization.CultureInfo.InvariantCulture)}}","messageId":"{{id}}"}""";
        await SendAsync(server, Order("o1", 10, "EUR", TimeSpan.FromDays(20)), Order("o2", 25, "EUR", TimeSpan.FromDays(2)), Order("o3", 99, "USD", TimeSpan.FromDays(1)));

        using (var put = await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/eur_spend_7d", new
        {
            aggregation = "sum",
            @event = "Order Completed",
            property = "total",
            where = new[] { new { property = "currency", @operator = "equals", value = "EUR" } },
            window = "7d",
        })))
        {
            var view = await HttpAssert.JsonAsync(put, HttpStatusCode.Created);
            Assert.Equal("7d", view.GetProperty("window").GetString());
        }

        (await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/orders", new { aggregation = "count", @event = "Order Completed" }))).Dispose();
        (await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/currencies", new { aggregation = "unique_list", @event = "Order Completed", property = "currency" }))).Dispose();

        Assert.Equal(25m, await TraitAsync(server, "eur_spend_7d"));
        Assert.Equal(3m, await TraitAsync(server, "orders"));

        await SendAsync(server, Order("o4", 5.5, "EUR", TimeSpan.Zero));
        Assert.Equal(30.5m, await TraitAsync(server, "eur_spend_7d"));
        Assert.Equal(4m, await TraitAsync(server, "orders"));
        var currencies = (await GetAsync(server, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits").GetProperty("currencies");
        Assert.Equal(["EUR", "USD"], currencies.EnumerateArray().Select(c => c.GetString()).ToArray());

        // Six days later the 2-day-old order has left the 7-day window.
        server.Clock.Advance(TimeSpan.FromDays(6));
        Assert.Equal(5.5m, await TraitAsync(server, "eur_spend_7d"));
        Assert.Equal(4m, await TraitAsync(server, "orders"));

        // Definitions and values survive a restart, and equal a replay of the log.
        await server.RestartAsync();
        await server.CaughtUpAsync();
        Assert.Equal(5.5m, await TraitAsync(server, "eur_spend_7d"));
        Assert.Equal(Replay(server), Processor(server).SnapshotBytes());
        Assert.Equal(3, (await server.AdminGetAsync("/api/v1/computed-traits")).GetArrayLength());

        using var deleted = await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/computed-traits/orders"));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False((await GetAsync(server, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits").TryGetProperty("orders", out _));
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/computed-traits/orders")), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Processor_ReportsItsPositionAgainstTheLogHead()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, """{"type":"track","anonymousId":"a","event":"E","messageId":"1"}""", """{"type":"track","anonymousId":"null","event":"E","messageId":"2"}""");

        var status = await server.AdminGetAsync("/api/v1/processor");

        Assert.True(status.GetProperty("loaded").GetBoolean());
        Assert.Equal(2, status.GetProperty("position").GetInt64());
        Assert.Equal(0, status.GetProperty("lag").GetInt64());
        Assert.Equal(1, status.GetProperty("eventsUnattributed").GetInt64());
        Assert.Equal(1, status.GetProperty("profiles").GetInt32());
    }

    [Fact]
    public async Task AnEventTheEngineCannotUse_IsSkipped_AndLaterEventsStillCount()
    {
        await using var server = await TandemServer.StartAsync();
        (await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/spent", new { aggregation = "sum", @event = "Order Completed", property = "total" }))).Dispose();

        await SendAsync(server,
            """{"type":"track","userId":"u-1","event":"Order Completed","properties":{"total":1e-2147483648},"messageId":"odd"}""",
            """{"type":"track","userId":"u-1","event":"Order Completed","properties":{"total":12.5},"messageId":"fine"}""");

        Assert.Equal(12.5m, await TraitAsync(server, "spent"));
        var status = await server.AdminGetAsync("/api/v1/processor");
        Assert.Equal(JsonValueKind.Null, status.GetProperty("fault").ValueKind);
        Assert.Equal(2, status.GetProperty("position").GetInt64());
    }

    [Fact]
    public async Task ComputedTrait_NamedLikeAStoredTrait_WinsInTheAnswer()
    {
        await using var server = await TandemServer.StartAsync();
        (await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/plan", new { aggregation = "last", @event = "Plan Changed", property = "to" }))).Dispose();
        await SendAsync(server,
            """{"type":"identify","userId":"u-1","traits":{"plan":"free"},"messageId":"1"}""",
            """{"type":"track","userId":"u-1","event":"Plan Changed","properties":{"to":"pro"},"messageId":"2"}""");

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/v1/profiles/user_id:u-1/traits"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "\"plan\""));
        Assert.Equal("pro", JsonDocument.Parse(text).RootElement.GetProperty("traits").GetProperty("plan").GetString());
    }

    [Fact]
    public async Task IdentifierWithASlash_IsFoundWhenEncoded()
    {
        await using var server = await TandemServer.StartAsync();
        await SendAsync(server, """{"type":"identify","userId":"crm/0042","traits":{"plan":"pro"},"messageId":"1"}""");

        var traits = await GetAsync(server, "/v1/profiles/user_id:crm%2F0042/traits");

        Assert.Equal("pro", traits.GetProperty("traits").GetProperty("plan").GetString());
    }

    private static async Task<decimal> TraitAsync(TandemServer server, string name) =>
        (await GetAsync(server, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits").GetProperty(name).GetDecimal();

    private static string[] Identifiers(JsonElement profile) =>
        [.. profile.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()!).Order(StringComparer.Ordinal)];

}
