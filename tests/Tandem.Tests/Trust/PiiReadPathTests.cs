using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>The access policy applied where customer data leaves: Profile API, management API, the events feed.</summary>
public sealed class PiiReadPathTests
{
    private const string Card = "4242 4242 4242 4242";

    private const string Identify = """
        {"type":"identify","userId":"u-1","messageId":"m-1","timestamp":"2026-11-23T10:00:00Z",
         "traits":{"email":"ada@example.com","phone":"+1 415 555 0142","first_name":"Ada","plan":"pro","card_number":"4242 4242 4242 4242"}}
        """;

    private const string Order = """
        {"type":"track","userId":"u-1","event":"Order Completed","messageId":"m-2","timestamp":"2026-11-23T10:05:00Z",
         "context":{"ip":"203.0.113.9"},"properties":{"total":42.5,"card_number":"4242 4242 4242 4242"}}
        """;

    [Fact]
    public async Task ProfileApi_MasksAndHidesByRole_AndAuditsRedReadInFull()
    {
        await using var server = await Arrange();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);
        var privacy = await server.MemberTokenAsync("po@example.com", Roles.PrivacyOfficer);

        var seenByMarketer = (await server.GetAsAsync(marketer.Authorization, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits");
        Assert.Equal("pro", seenByMarketer.GetProperty("plan").GetString());
        Assert.Equal("a***@example.com", seenByMarketer.GetProperty("email").GetString());
        var phone = seenByMarketer.GetProperty("phone").GetString()!;
        Assert.NotEqual("+1 415 555 0142", phone);
        Assert.EndsWith("42", phone, StringComparison.Ordinal);
        Assert.False(seenByMarketer.TryGetProperty("card_number", out _), "red is hidden from marketers");

        var seenByAdmin = (await server.AdminGetAsync("/v1/profiles/user_id:u-1/traits")).GetProperty("traits");
        Assert.Equal("ada@example.com", seenByAdmin.GetProperty("email").GetString());
        Assert.Equal("**** **** **** 4242", seenByAdmin.GetProperty("card_number").GetString());

        var seenByPrivacy = (await server.GetAsAsync(privacy.Authorization, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits");
        Assert.Equal(Card, seenByPrivacy.GetProperty("card_number").GetString());

        var reads = (await server.AdminGetAsync("/api/v1/audit?action=pii.unmasked_read")).GetProperty("records").EnumerateArray().ToList();
        var read = Assert.Single(reads);
        Assert.Equal(privacy.Actor, read.GetProperty("actor").GetString());
        Assert.StartsWith("profile:prf_", read.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Contains("GET /v1/profiles/{identifier}/traits", read.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("traits.card_number", read.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The log names whose data and which values, never the values or the identifier typed in the path.
        Assert.DoesNotContain("u-1", read.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("4242", read.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProfileApi_EventsAndIdentifiers_FollowThePolicy_AndAPolicyChangeTakesEffect()
    {
        await using var server = await Arrange();
        var analyst = await server.MemberTokenAsync("an@example.com", Roles.Analyst);

        var events = (await server.GetAsAsync(analyst.Authorization, "/v1/profiles/user_id:u-1/events")).GetProperty("data").EnumerateArray().ToList();
        var order = events.Single(e => e.GetProperty("type").GetString() == "track");
        Assert.Equal(42.5, order.GetProperty("properties").GetProperty("total").GetDouble());
        Assert.False(order.GetProperty("properties").TryGetProperty("card_number", out _));
        Assert.Equal("203.0.113.0", order.GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("a***@example.com", events.Single(e => e.GetProperty("type").GetString() == "identify").GetProperty("traits").GetProperty("email").GetString());

        var identifiers = (await server.GetAsAsync(analyst.Authorization, "/v1/profiles/user_id:u-1/identifiers")).GetProperty("data").EnumerateArray()
            .ToDictionary(i => i.GetProperty("type").GetString()!, i => i.GetProperty("value").GetString());
        Assert.Equal("u-1", identifiers["user_id"]);
        Assert.Equal("a***@example.com", identifiers["email"]);

        // The admin hides yellow data from analysts: emails leave the identifier list and the traits.
        using var change = server.Admin(HttpMethod.Put, "/api/v1/pii/policy", new { analyst = new { yellow = "hidden" } });
        var policy = await HttpAssert.JsonAsync(await server.Http.SendAsync(change), HttpStatusCode.OK);
        Assert.Equal("hidden", policy.GetProperty("analyst").GetProperty("yellow").GetString());
        identifiers = (await server.GetAsAsync(analyst.Authorization, "/v1/profiles/user_id:u-1/identifiers")).GetProperty("data").EnumerateArray()
            .ToDictionary(i => i.GetProperty("type").GetString()!, i => i.GetProperty("value").GetString());
        Assert.Equal(["user_id"], identifiers.Keys);
        Assert.False((await server.GetAsAsync(analyst.Authorization, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits").TryGetProperty("email", out _));

        var changed = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=pii.policy_change")).GetProperty("records").EnumerateArray());
        Assert.Equal("masked", changed.GetProperty("before").GetProperty("analyst").GetProperty("yellow").GetString());
        Assert.Equal("hidden", changed.GetProperty("after").GetProperty("analyst").GetProperty("yellow").GetString());

        await server.RestartAsync();
        await server.CaughtUpAsync();
        Assert.Equal(["user_id"], (await server.GetAsAsync(analyst.Authorization, "/v1/profiles/user_id:u-1/identifiers")).GetProperty("data").EnumerateArray()
            .Select(i => i.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Tokens_ReadRedInFull_OnlyWithPrivacyAdmin_WhateverTheirOwner()
    {
        await using var server = await Arrange();
        var officer = await server.CreateMemberAsync("po@example.com", [Roles.PrivacyOfficer]);
        var (_, website) = await server.CreateTokenAsync([Scopes.ProfilesRead], ownerId: officer, name: "website");
        var (_, privacyTool) = await server.CreateTokenAsync([Scopes.ProfilesRead, Scopes.PrivacyAdmin], ownerId: officer, name: "privacy tool");

        var seenByWebsite = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + website, HttpMethod.Get, "/v1/profiles/user_id:u-1/traits")), HttpStatusCode.OK);
        Assert.Equal("**** **** **** 4242", seenByWebsite.GetProperty("traits").GetProperty("card_number").GetString());
        var seenByTool = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + privacyTool, HttpMethod.Get, "/v1/profiles/user_id:u-1/traits")), HttpStatusCode.OK);
        Assert.Equal(Card, seenByTool.GetProperty("traits").GetProperty("card_number").GetString());
        Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=pii.unmasked_read")).GetProperty("records").EnumerateArray());
    }

    public static TheoryData<string, string> BadPolicies => new()
    {
        { """{"marketer":{"red":"full"}}""", "marketer.red" },
        { """{"wizard":{"green":"full"}}""", "wizard" },
        { """{"marketer":{"yellow":"sometimes"}}""", "marketer.yellow" },
        { """{"viewer":{"green":"hidden"}}""", "viewer.green" },
        { "[1]", "$" },
    };

    [Theory]
    [MemberData(nameof(BadPolicies))]
    public async Task PutPolicy_Unusable_AnswersTheCell_AndKeepsThePolicy(string body, string field)
    {
        await using var server = await TandemServer.StartAsync();
        var before = (await server.AdminGetAsync("/api/v1/pii/policy")).GetRawText();
        using var request = server.Admin(HttpMethod.Put, "/api/v1/pii/policy");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_policy");
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field);
        Assert.Equal(before, (await server.AdminGetAsync("/api/v1/pii/policy")).GetRawText());
    }

    [Fact]
    public async Task ManagementReads_SearchMergesAndTheEventsFeed_AreMaskedToo()
    {
        await using var server = await Arrange();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);

        var found = Assert.Single((await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=ada")).GetProperty("data").EnumerateArray());
        Assert.Contains("email:a***@example.com", found.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()));
        Assert.DoesNotContain("ada@example.com", found.GetRawText(), StringComparison.Ordinal);
        Assert.False(found.GetProperty("traits").TryGetProperty("card_number", out _));

        var feed = await server.GetAsAsync(marketer.Authorization, $"/api/v1/sources/{server.DefaultSourceId}/events");
        Assert.DoesNotContain(Card, feed.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("ada@example.com", feed.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("a***@example.com", feed.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteTraits_TheFastPath_GivesWhatTheFullWalkGives_ForEveryRole()
    {
        await using var server = await TandemServer.StartAsync();
        var guard = server.Services.GetRequiredService<PiiGuard>();
        (string Key, string Json)[] traits =
        [
            ("email", "\"ada@example.com\""), ("plan", "\"pro\""), ("card_number", "\"4242 4242 4242 4242\""), ("phone", "\"+1 415 555 0142\""),
            ("age", "36"), ("vip", "true"), ("nickname", "null"), ("first_name", "\"Ada\""), ("password", "\"hunter2hunter2\""),
            ("address", """{"street":"1 Main St","city":"Paris","country":"FR"}"""), ("emails", """["a@b.co","c@d.co"]"""),
            ("orders", """[{"id":1,"card_number":"4000 0566 5566 5556"}]"""), ("ssn", "\"078-05-1120\""),
        ];
        foreach (var role in Roles.ScopesOf.Keys)
        {
            var user = new Microsoft.AspNetCore.Http.DefaultHttpContext
            {
                User = TrustAuthentication.Principal(TrustAuthentication.TokenScheme, "token:t", new Member("mbr_x", "x@example.com", "x", [role], false, default, default), []),
            };
            var bytes = traits.Select(t => (t.Key, System.Text.Encoding.UTF8.GetBytes(t.Json))).ToList();

            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                guard.For(user).WriteTraits(w, bytes, "traits");
            }

            var walked = guard.For(user).Traits(bytes, "traits").ToJsonString();
            Assert.Equal(walked, System.Text.Json.Nodes.JsonNode.Parse(buffer.WrittenSpan)!.ToJsonString()); // same keys, order and values
        }
    }

    private static async Task<TandemServer> Arrange()
    {
        var server = await TandemServer.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/batch", $$"""{"batch":[{{Identify}},{{Order}}]}""")).StatusCode);
        await server.CaughtUpAsync();
        return server;
    }
}
