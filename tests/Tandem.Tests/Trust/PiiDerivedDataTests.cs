using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Tests.Support;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Trust;

/// <summary>The attacks of issue 15 items 1, 2, 3 (externalIds) and 14, one by one.</summary>
public sealed class PiiDerivedDataTests
{
    private const string Card = "4242 4242 4242 4242";
    private const string Ssn = "078-05-1120";

    private static readonly PiiClassifier Classifier = PiiClassifier.Default;

    public static TheoryData<string, string?, string, PiiClass> ComputedTraits => new()
    {
        { "last", "card_number", "", PiiClass.Red },
        { "first", "email", "", PiiClass.Yellow },
        { "sum", "cvv", "", PiiClass.Red },
        { "most_frequent", "billing_address", "", PiiClass.Yellow },
        { "unique_list", "ssn", "", PiiClass.Red },
        { "max", "total", "", PiiClass.Green },
        { "count", null, "", PiiClass.Green },
        { "unique_count", "card_number", "", PiiClass.Green },
        { "count", null, "card_number equals", PiiClass.Red },
        { "count", null, "card_number exists", PiiClass.Green },
        { "sum", "total", "work_email contains", PiiClass.Yellow },
    };

    [Theory]
    [MemberData(nameof(ComputedTraits))]
    public void ComputedTrait_TakesTheClassOfWhatItReads(string aggregation, string? property, string condition, PiiClass expected)
    {
        var where = condition.Length == 0 ? null
            : new[] { new PropertyCondition(condition.Split(' ')[0], Enum.Parse<ConditionOperator>(condition.Split(' ')[1], ignoreCase: true), "\"x\"") };
        var definition = new ComputedTraitDefinition("lucky_number", Enum.Parse<Aggregation>(aggregation.Replace("_", "", StringComparison.Ordinal), ignoreCase: true),
            MessageType.Track, "Order Completed", property, where);
        Assert.Equal(expected, DerivedClasses.OfComputedTrait(Classifier, definition).Class);
    }

    [Theory]
    [InlineData("loyalty_code", "ssn", PiiClass.Red)]
    [InlineData("national_id", "member_no", PiiClass.Red)] // a sensitive name with a green trait key stays sensitive
    [InlineData("member_no", "work_email", PiiClass.Yellow)]
    [InlineData("salesforce_id", "salesforceId", PiiClass.Green)]
    [InlineData("loyalty_code", null, PiiClass.Green)]
    public void IdentifierType_TakesTheMostSensitiveOfItsNameAndItsTraitKey(string name, string? traitKey, PiiClass expected) =>
        Assert.Equal(expected, DerivedClasses.OfIdentifierType(Classifier, name, traitKey));

    [Fact]
    public void ExternalId_TakesTheClassOfItsType_AndIsMaskedLikeOne()
    {
        var rules = new IdentityRules([.. IdentityRules.Default.Types, new IdentifierType("loyalty_code", 5, 5, TraitKey: "ssn")]);
        var classifier = DerivedClasses.Apply(Classifier, rules.Types, []);
        var marketer = new PiiView(classifier, AccessPolicy.Default, [Roles.Marketer]);
        var message = JsonNode.Parse($$$"""
            {"type":"track","context":{"externalIds":[
              {"type":"email","id":"ada@example.com","collection":"users"},
              {"type":"loyalty_code","id":"{{{Ssn}}}"},
              {"type":"passport_no","id":"X1234567"},
              {"id":"no-type-here"},
              {"type":"user_id","id":"u-1"}]}}
            """)!.AsObject();

        var seen = marketer.Event(message);
        var ids = seen.Json["context"]!["externalIds"]!.AsArray();
        Assert.Equal("a***@example.com", ids[0]!["id"]!.GetValue<string>());
        Assert.Equal("users", ids[0]!["collection"]!.GetValue<string>());
        Assert.Null(ids[1]!["id"]); // red (the loyalty code holds SSNs): hidden from a marketer
        Assert.Null(ids[2]!["id"]); // an unknown type is classified by its name, as an identifier type would be
        Assert.Equal("n***", ids[3]!["id"]!.GetValue<string>()); // no type: yellow
        Assert.Equal("u-1", ids[4]!["id"]!.GetValue<string>());
        Assert.Contains("context.externalIds[0].id", seen.Masked);
        Assert.Contains("context.externalIds[1].id", seen.Hidden);
    }

    [Fact]
    public void DerivedValues_AreMaskedAsTheDataTheyCarry_NotByTheirName()
    {
        var classifier = DerivedClasses.Apply(Classifier, [new IdentifierType("loyalty_code", 5, 5, TraitKey: "card_cvv")],
            [new ComputedTraitDefinition("lucky", Aggregation.Last, MessageType.Track, "Order Completed", "cvv")]);
        var admin = new PiiView(classifier, AccessPolicy.Default, [Roles.Admin]);

        // A CVV masked as generic text would show its first digit ("1***").
        Assert.Equal("***", admin.Traits(new JsonObject { ["lucky"] = "123" }).Json["lucky"]!.GetValue<string>());
        Assert.Equal("***", admin.Identifier("loyalty_code", "123").Value);
        Assert.Equal("***", admin.Traits(new JsonObject { ["card_cvv"] = "123" }).Json["card_cvv"]!.GetValue<string>());
    }

    [Fact]
    public async Task ComputedTrait_OverDataTheCallerCannotReadInFull_Is403_AndNothingIsDefined()
    {
        await using var server = await TandemServer.StartAsync();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);

        using var define = server.As(marketer.Authorization, HttpMethod.Put, "/api/v1/computed-traits/lucky_number",
            new { aggregation = "last", @event = "Order Completed", property = "card_number" });
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(define), HttpStatusCode.Forbidden, "class_not_readable");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("card_number", detail, StringComparison.Ordinal);
        Assert.Contains("red", detail, StringComparison.Ordinal);
        Assert.Contains("privacy_officer", detail, StringComparison.Ordinal);
        Assert.Equal("property", problem.GetProperty("field").GetString());

        using var byCondition = server.As(marketer.Authorization, HttpMethod.Put, "/api/v1/computed-traits/card_hits",
            new { aggregation = "count", @event = "Order Completed", where = new[] { new { property = "card_number", @operator = "equals", value = Card } } });
        var conditionProblem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(byCondition), HttpStatusCode.Forbidden, "class_not_readable");
        Assert.Equal("where[0].property", conditionProblem.GetProperty("field").GetString());

        using var yellow = server.As(marketer.Authorization, HttpMethod.Put, "/api/v1/computed-traits/contact",
            new { aggregation = "last", @event = "Order Completed", property = "email" });
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(yellow), HttpStatusCode.Forbidden, "class_not_readable");

        using var counting = server.As(marketer.Authorization, HttpMethod.Put, "/api/v1/computed-traits/orders",
            new { aggregation = "unique_count", @event = "Order Completed", property = "card_number" });
        Assert.Equal(HttpStatusCode.Created, (await server.Http.SendAsync(counting)).StatusCode);

        var defined = (await server.AdminGetAsync("/api/v1/computed-traits")).EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        Assert.Equal(["orders"], defined);
    }

    [Fact]
    public async Task ComputedTrait_OverRedData_IsMaskedOnRead_ForEveryTokenWithoutPrivacyAdmin()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/track", $$$"""
            {"userId":"u-1","event":"Order Completed","messageId":"m-1","properties":{"card_number":"{{{Card}}}"}}
            """);
        await server.CaughtUpAsync();
        using (var open = server.Admin(HttpMethod.Put, "/api/v1/pii/policy", new { admin = new { red = "full" } }))
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(open)).StatusCode);
        }

        using (var define = server.Admin(HttpMethod.Put, "/api/v1/computed-traits/card_hits",
            new { aggregation = "count", @event = "Order Completed", where = new[] { new { property = "card_number", @operator = "equals", value = Card } } }))
        {
            Assert.Equal(HttpStatusCode.Created, (await server.Http.SendAsync(define)).StatusCode);
        }

        var (_, website) = await server.CreateTokenAsync([Scopes.ProfilesRead], name: "website");
        var traits = (await server.GetAsAsync("Bearer " + website, "/v1/profiles/user_id:u-1/traits")).GetProperty("traits");
        Assert.Equal("***", traits.GetProperty("card_hits").GetString()); // a count that answers "is this the card?" is red: masked
    }

    [Fact]
    public async Task ConsentRecordedByEmail_WritesAnEventWhoseExternalIdIsMasked_ForAMarketer()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", """{"userId":"u-1","messageId":"m-1","traits":{"email":"ada@example.com"}}""");
        await server.CaughtUpAsync();
        using (var consent = server.Admin(HttpMethod.Post, "/api/v1/profiles/email:ada@example.com/consent", new { purposes = new { marketing = true } }))
        {
            Assert.True((await server.Http.SendAsync(consent)).IsSuccessStatusCode);
        }

        await server.CaughtUpAsync();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);
        var events = (await server.GetAsAsync(marketer.Authorization, "/v1/profiles/user_id:u-1/events")).GetProperty("data").EnumerateArray().ToList();
        var recorded = events.Single(e => e.GetProperty("type").GetString() == "track");
        var id = Assert.Single(recorded.GetProperty("context").GetProperty("externalIds").EnumerateArray());
        Assert.Equal("email", id.GetProperty("type").GetString());
        Assert.Equal("a***@example.com", id.GetProperty("id").GetString());
    }

    [Fact]
    public async Task ProfileApi_LookupByAHiddenIdentifierType_AnswersAsAnUnknownProfile()
    {
        await using var server = await TandemServer.StartAsync();
        using (var type = server.Admin(HttpMethod.Put, "/api/v1/identity/types/loyalty_code", new { traitKey = "ssn" }))
        {
            Assert.Equal(HttpStatusCode.Created, (await server.Http.SendAsync(type)).StatusCode);
        }

        await server.CollectAsync("/v1/identify", $$$"""{"userId":"u-1","messageId":"m-1","traits":{"ssn":"{{{Ssn}}}"}}""");
        await server.CaughtUpAsync();
        var liaison = await server.MemberTokenAsync("li@example.com", Roles.Liaison);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/v1/profiles/loyalty_code:{Ssn}/metadata"))).StatusCode);

        string[] paths = ["/v1/profiles/{0}/traits", "/v1/profiles/{0}/events", "/v1/profiles/{0}/identifiers", "/v1/profiles/{0}/audiences",
            "/v1/profiles/{0}/metadata", "/api/v1/profiles/{0}/consent"];
        foreach (var path in paths)
        {
            using var known = await server.Http.SendAsync(server.As(liaison.Authorization, HttpMethod.Get, string.Format(CultureInfo.InvariantCulture, path, "loyalty_code:" + Ssn)));
            using var unknown = await server.Http.SendAsync(server.As(liaison.Authorization, HttpMethod.Get, string.Format(CultureInfo.InvariantCulture, path, "loyalty_code:999-99-9999")));
            var knownBody = await HttpAssert.ProblemAsync(known, HttpStatusCode.NotFound, "profile_not_found");
            var unknownBody = await HttpAssert.ProblemAsync(unknown, HttpStatusCode.NotFound, "profile_not_found");
            Assert.Equal(WithoutTrace(unknownBody).Replace("999-99-9999", Ssn, StringComparison.Ordinal), WithoutTrace(knownBody));
        }

        static string WithoutTrace(JsonElement problem)
        {
            var node = JsonNode.Parse(problem.GetRawText())!.AsObject();
            Assert.True(node.Remove("traceId")); // differs per request, so it tells nothing
            return node.ToJsonString();
        }
    }

    [Fact]
    public async Task EventsFeed_APageStopsAfterAboutFourMegabytes_AndTheCursorReachesEveryEvent()
    {
        await using var server = await TandemServer.StartAsync();
        const int Batches = 12;
        const int PerBatch = 14;
        var filler = new string('x', 30_000);
        for (var b = 0; b < Batches; b++)
        {
            var batch = string.Join(",", Enumerable.Range(0, PerBatch).Select(i =>
                $$$"""{"type":"track","userId":"u-1","event":"Wide","messageId":"w-{{{b}}}-{{{i}}}","properties":{"note":"{{{filler}}}"}}"""));
            Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/batch", $$"""{"batch":[{{batch}}]}""")).StatusCode);
        }

        var seen = new HashSet<long>();
        var pages = 0;
        string? before = null;
        do
        {
            var page = await server.AdminGetAsync($"/api/v1/sources/{server.DefaultSourceId}/events?limit=1000" + (before is null ? "" : "&before=" + before));
            var events = page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).ToList();
            Assert.InRange(events.Count * 30_000, 1, 4_500_000);
            Assert.All(events, seq => Assert.True(seen.Add(seq)));
            before = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            pages++;
        }
        while (before is not null);

        Assert.Equal(Batches * PerBatch, seen.Count);
        Assert.Equal(2, pages);

        // The Profile API's events pages are bounded the same way (200 of these events would be 6 MB).
        await server.CaughtUpAsync();
        var messages = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = await server.AdminGetAsync("/v1/profiles/user_id:u-1/events?limit=200" + (cursor is null ? "" : "&cursor=" + cursor));
            var events = page.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()!).ToList();
            Assert.InRange(events.Count * 30_000, 1, 4_500_000);
            Assert.All(events, id => Assert.True(messages.Add(id)));
            cursor = page.GetProperty("cursor").GetProperty("next").GetString();
            Assert.Equal(cursor is not null, page.GetProperty("cursor").GetProperty("hasMore").GetBoolean());
        }
        while (cursor is not null);

        Assert.Equal(Batches * PerBatch, messages.Count);
    }
}
