using System.Net;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Privacy;

/// <summary>Consent from events and from the API, kept on the profile with its history, and enforced by declared uses.</summary>
public sealed class ConsentTests
{
    private static string Event(string type, string userId, string messageId, string timestamp, string? preferences = null, string extra = "") =>
        $$"""
        {"type":"{{type}}","userId":"{{userId}}","messageId":"{{messageId}}","timestamp":"{{timestamp}}"{{(type == "track" ? ",\"event\":\"Page Viewed\"" : "")}}
         {{extra}}{{(preferences is null ? "" : $",\"context\":{{\"consent\":{{\"categoryPreferences\":{preferences}}}}}")}}}
        """;

    private static async Task<Dictionary<string, JsonElement>> PurposesOf(TandemServer server, string identifier)
    {
        var consent = await server.AdminGetAsync($"/api/v1/profiles/{identifier}/consent");
        return consent.GetProperty("purposes").EnumerateArray().ToDictionary(p => p.GetProperty("purpose").GetString()!);
    }

    [Fact]
    public async Task ConsentInEvents_IsKeptPerPurpose_WithHistoryOfChangesOnly()
    {
        await using var server = await TandemServer.StartAsync();
        var events = new[]
        {
            Event("identify", "u-1", "c-1", "2026-11-20T10:00:00Z", """{"analytics":true,"marketing":true}""", ",\"traits\":{\"email\":\"ada@example.com\"}"),
            Event("track", "u-1", "c-2", "2026-11-21T10:00:00Z", """{"analytics":true,"marketing":false}"""),
            Event("track", "u-1", "c-3", "2026-11-21T11:00:00Z", """{"analytics":true,"marketing":false}"""), // the SDK repeats itself
            Event("track", "u-1", "c-4", "2026-11-22T10:00:00Z", """{"advertising":false,"not_a_bool":"yes"}"""),
        };
        foreach (var e in events)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync(e.Contains("identify", StringComparison.Ordinal) ? "/v1/identify" : "/v1/track", e)).StatusCode);
        }

        await server.CaughtUpAsync();
        var purposes = await PurposesOf(server, "email:ada@example.com");
        Assert.Equal("granted", purposes["analytics"].GetProperty("status").GetString());
        Assert.True(purposes["analytics"].GetProperty("allowed").GetBoolean());
        Assert.Equal("revoked", purposes["marketing"].GetProperty("status").GetString());
        Assert.False(purposes["marketing"].GetProperty("allowed").GetBoolean());
        Assert.Equal("denied", purposes["advertising"].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, purposes["personalization"].GetProperty("status").ValueKind);
        Assert.False(purposes["personalization"].GetProperty("allowed").GetBoolean(), "purposes are opt-in by default");
        Assert.Equal(server.DefaultSourceId, purposes["marketing"].GetProperty("sourceId").GetString());
        // The standing is the newest event that said so; the history keeps when it changed.
        Assert.Equal("2026-11-21T11:00:00+00:00", purposes["marketing"].GetProperty("at").GetString());

        var history = (await server.AdminGetAsync("/api/v1/profiles/user_id:u-1/consent")).GetProperty("history").EnumerateArray()
            .Select(h => $"{h.GetProperty("category").GetString()} {h.GetProperty("status").GetString()} {h.GetProperty("at").GetString()![..10]}").ToList();
        Assert.Equal(
        [
            "analytics granted 2026-11-20",
            "marketing granted 2026-11-20",
            "marketing revoked 2026-11-21",
            "advertising denied 2026-11-22",
        ], history);
    }

    [Fact]
    public async Task ConsentRecordedThroughTheApi_IsAnEventInTheLog_AndSurvivesARestart()
    {
        await using var server = await TandemServer.StartAsync();
        var privacy = await server.MemberTokenAsync("po@example.com", Roles.PrivacyOfficer);

        // Ahead of any event: a user id is enough.
        using var ahead = server.As(privacy.Authorization, HttpMethod.Post, "/api/v1/profiles/user_id:u-9/consent",
            new { purposes = new { marketing = true, advertising = false }, timestamp = "2026-11-22T09:00:00Z" });
        var answer = await HttpAssert.JsonAsync(await server.Http.SendAsync(ahead), HttpStatusCode.OK);
        var purposes = answer.GetProperty("purposes").EnumerateArray().ToDictionary(p => p.GetProperty("purpose").GetString()!);
        Assert.Equal("granted", purposes["marketing"].GetProperty("status").GetString());
        Assert.Equal("api", purposes["marketing"].GetProperty("sourceId").GetString());
        Assert.Equal("denied", purposes["advertising"].GetProperty("status").GetString());

        // Later withdrawn, by the customer's email once the profile knows it.
        await server.CollectAsync("/v1/identify", Event("identify", "u-9", "i-9", "2026-11-22T10:00:00Z", extra: ",\"traits\":{\"email\":\"bo@example.com\"}"));
        await server.CaughtUpAsync();
        using var withdraw = server.As(privacy.Authorization, HttpMethod.Post, "/api/v1/profiles/email:bo@example.com/consent",
            new { purposes = new { marketing = false } });
        answer = await HttpAssert.JsonAsync(await server.Http.SendAsync(withdraw), HttpStatusCode.OK);
        Assert.Equal("revoked", answer.GetProperty("purposes").EnumerateArray().Single(p => p.GetProperty("purpose").GetString() == "marketing")
            .GetProperty("status").GetString());

        // The decisions are events of the profile, written by Tandem's API, naming who recorded them.
        var stored = (await server.AdminGetAsync("/v1/profiles/user_id:u-9/events")).GetProperty("data").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "track").ToList();
        Assert.Equal(2, stored.Count);
        Assert.All(stored, e => Assert.Equal("Segment Consent Preference Updated", e.GetProperty("event").GetString()));
        Assert.All(stored, e => Assert.Equal(privacy.Actor, e.GetProperty("context").GetProperty("tandem").GetProperty("actor").GetString()));
        var withdrawn = stored.Single(e => e.GetProperty("context").TryGetProperty("externalIds", out _));
        Assert.Equal("u-9", withdrawn.GetProperty("userId").GetString());

        var audit = (await server.AdminGetAsync("/api/v1/audit?action=consent.recorded")).GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(2, audit.Count);
        Assert.All(audit, r => Assert.Equal(privacy.Actor, r.GetProperty("actor").GetString()));

        await server.RestartAsync();
        var after = await PurposesOf(server, "user_id:u-9");
        Assert.Equal("revoked", after["marketing"].GetProperty("status").GetString());
        Assert.Equal(3, (await server.AdminGetAsync("/api/v1/profiles/user_id:u-9/consent")).GetProperty("history").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"purposes":{"newsletter":true}}""", "purposes.newsletter")]
    [InlineData("""{"purposes":{"marketing":"yes"}}""", "purposes.marketing")]
    [InlineData("""{"purposes":{}}""", "purposes")]
    [InlineData("""{"purposes":{"marketing":true},"timestamp":"2027-01-01T00:00:00Z"}""", "timestamp")]
    [InlineData("""{"purposes":{"marketing":true},"timestamp":"yesterday"}""", "timestamp")]
    [InlineData("""{"purposes":{"marketing":true},"why":"asked"}""", "why")]
    [InlineData("""{"purposes":""", "body")]
    [InlineData("""{"purposes":{"marketing":true,"marketing":false}}""", "body")]
    public async Task BadConsentRecords_AreRefused_NamingTheField_AndRecordNothing(string body, string field)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/profiles/user_id:u-1/consent");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_consent");
        Assert.Equal(field, problem.GetProperty("field").GetString());

        using var missing = await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/profiles/user_id:u-1/consent"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ConsentForAnUnknownEmail_Is404_SinceOnlySpecIdsCanBeRecordedAhead()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/profiles/email:nobody@example.com/consent", new { purposes = new { marketing = true } });
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.NotFound, "profile_not_found");
        Assert.Contains("user_id or anonymous_id", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var badType = server.Admin(HttpMethod.Post, "/api/v1/profiles/shoe_size:42/consent", new { purposes = new { marketing = true } });
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(badType), HttpStatusCode.BadRequest, "unknown_identifier_type");
    }

    [Fact]
    public async Task Purposes_CanMapConsentPlatformCategories_AndBadListsAreRefusedWithEveryField()
    {
        await using var server = await TandemServer.StartAsync();
        using var put = server.Admin(HttpMethod.Put, "/api/v1/consent/purposes", new
        {
            purposes = new object[]
            {
                new { name = "analytics", categories = new[] { "C0002" } },
                new { name = "marketing", description = "Newsletters", categories = new[] { "C0004", "Targeting" } },
                new { name = "support", withoutDecision = "allow" },
            },
        });
        var saved = await HttpAssert.JsonAsync(await server.Http.SendAsync(put), HttpStatusCode.OK);
        Assert.Equal(3, saved.GetProperty("purposes").GetArrayLength());

        await server.CollectAsync("/v1/track", Event("track", "u-1", "t-1", "2026-11-21T10:00:00Z", """{"C0002":true,"C0004":false}"""));
        await server.CaughtUpAsync();
        var purposes = await PurposesOf(server, "user_id:u-1");
        Assert.Equal("granted", purposes["analytics"].GetProperty("status").GetString());
        Assert.Equal("C0002", purposes["analytics"].GetProperty("category").GetString());
        Assert.Equal("denied", purposes["marketing"].GetProperty("status").GetString());
        Assert.True(purposes["support"].GetProperty("allowed").GetBoolean(), "an opt-out purpose allows until refused");
        Assert.False(purposes.ContainsKey("advertising"));

        using var bad = server.Admin(HttpMethod.Put, "/api/v1/consent/purposes", new
        {
            purposes = new object[]
            {
                new { name = "Marketing" },
                new { name = "ads", categories = new[] { "C0004" } },
                new { name = "sms", categories = new[] { "C0004" }, withoutDecision = "maybe" },
            },
        });
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(bad), HttpStatusCode.BadRequest, "invalid_purposes");
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["purposes[0].name", "purposes[2].categories[0]", "purposes[2].withoutDecision"], fields);

        // Nothing of the refused list was kept; the change that was kept is in the audit log.
        Assert.Equal(3, (await server.AdminGetAsync("/api/v1/consent/purposes")).GetProperty("purposes").GetArrayLength());
        var change = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=consent.purposes_change")).GetProperty("records").EnumerateArray());
        Assert.Equal(4, change.GetProperty("before").GetProperty("purposes").GetArrayLength());
    }

    [Fact]
    public async Task AnExport_DeclaresItsPurposes_SkipsCustomersWithoutConsent_AndCountsThem()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", Event("identify", "yes", "e-1", "2026-11-21T10:00:00Z", """{"marketing":true,"analytics":true}""", ",\"traits\":{\"email\":\"yes@example.com\"}"));
        await server.CollectAsync("/v1/identify", Event("identify", "no", "e-2", "2026-11-21T10:00:00Z", """{"marketing":false,"analytics":true}""", ",\"traits\":{\"email\":\"no@example.com\"}"));
        await server.CollectAsync("/v1/identify", Event("identify", "silent", "e-3", "2026-11-21T10:00:00Z", extra: ",\"traits\":{\"email\":\"silent@example.com\"}"));
        await server.CaughtUpAsync();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);

        using var export = server.As(marketer.Authorization, HttpMethod.Post, "/api/v1/exports/profiles", new { use = "spring newsletter", purposes = new[] { "marketing" } });
        var page = await HttpAssert.JsonAsync(await server.Http.SendAsync(export), HttpStatusCode.OK);
        Assert.Equal(1, page.GetProperty("exported").GetInt32());
        Assert.Equal(2, page.GetProperty("skipped").GetInt32());
        Assert.Equal(2, page.GetProperty("skippedByPurpose").GetProperty("marketing").GetInt32());
        var only = Assert.Single(page.GetProperty("data").EnumerateArray());
        Assert.Equal("y***@example.com", only.GetProperty("traits").GetProperty("email").GetString()); // the marketer's view, masked

        // Two purposes: the customer must allow both.
        using var both = server.Admin(HttpMethod.Post, "/api/v1/exports/profiles", new { use = "analytics feed", purposes = new[] { "analytics", "marketing" }, traits = new[] { "email" } });
        page = await HttpAssert.JsonAsync(await server.Http.SendAsync(both), HttpStatusCode.OK);
        Assert.Equal("yes@example.com", Assert.Single(page.GetProperty("data").EnumerateArray()).GetProperty("traits").GetProperty("email").GetString());
        Assert.Equal(2, page.GetProperty("skippedByPurpose").GetProperty("marketing").GetInt32());
        Assert.Equal(1, page.GetProperty("skippedByPurpose").GetProperty("analytics").GetInt32());

        var uses = (await server.GetAsAsync(marketer.Authorization, "/api/v1/consent/uses")).GetProperty("data").EnumerateArray()
            .ToDictionary(u => u.GetProperty("use").GetString()!);
        Assert.Equal(2, uses["spring newsletter"].GetProperty("skipped").GetInt32());
        Assert.Equal(1, uses["spring newsletter"].GetProperty("used").GetInt32());
        Assert.Equal(2, uses["analytics feed"].GetProperty("skipped").GetInt32());

        var audit = (await server.AdminGetAsync("/api/v1/audit?action=profiles.exported")).GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(2, audit.Count);
        Assert.Contains(audit, r => r.GetProperty("target").GetString() == "use:spring newsletter" && r.GetProperty("after").GetProperty("skipped").GetInt32() == 2);
    }

    [Theory]
    [InlineData("""{"purposes":["marketing"]}""", "use", "invalid_export")]
    [InlineData("""{"use":"x"}""", "purposes", "invalid_export")]
    [InlineData("""{"use":"x","purposes":["newsletter"]}""", "purposes[0]", "invalid_export")]
    [InlineData("""{"use":"x","purposes":["marketing"],"limit":5000}""", "limit", "invalid_limit")]
    [InlineData("""{"use":"x","purposes":["marketing"],"cursor":"yesterday"}""", "cursor", "invalid_cursor")]
    [InlineData("""{"use":"x","use":"y","purposes":["marketing"]}""", "body", "invalid_export")]
    public async Task BadExports_AreRefused_NamingTheField(string body, string field, string reason)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/exports/profiles");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, reason);
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task ExportPages_FollowTheCursor_AndCountEachCustomerOnce()
    {
        await using var server = await TandemServer.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await server.CollectAsync("/v1/identify", Event("identify", $"u-{i}", $"p-{i}", "2026-11-21T10:00:00Z", i % 2 == 0 ? """{"marketing":true}""" : null));
        }

        await server.CaughtUpAsync();
        var seen = new List<string>();
        var skipped = 0;
        string? cursor = null;
        do
        {
            using var request = server.Admin(HttpMethod.Post, "/api/v1/exports/profiles", new { use = "paged", purposes = new[] { "marketing" }, limit = 1, cursor });
            var page = await HttpAssert.JsonAsync(await server.Http.SendAsync(request), HttpStatusCode.OK);
            seen.AddRange(page.GetProperty("data").EnumerateArray().Select(p => p.GetProperty("profileId").GetString()!));
            skipped += page.GetProperty("skipped").GetInt32();
            cursor = page.GetProperty("cursor").GetProperty("next").GetString();
        }
        while (cursor is not null);

        Assert.Equal(3, seen.Distinct().Count());
        Assert.Equal(2, skipped);
    }
}
