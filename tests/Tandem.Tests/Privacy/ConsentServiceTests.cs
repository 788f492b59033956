using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>
/// The consent rules without HTTP (docs/privacy.md, Recording consent through the API): what a record
/// may say, recording it ahead of any event or for a known customer, and the refusals a console page
/// would show the same way the API does: unknown customer, suppressed person, overloaded log.
/// </summary>
public sealed class ConsentServiceTests
{
    private static readonly Caller PrivacyOfficer =
        new("token:tok_po", null, new HashSet<string>(StringComparer.Ordinal) { Scopes.ProfilesRead, Scopes.ProfilesWrite }, true, null);

    private static ConsentService Service(TandemServer server) => server.Services.GetRequiredService<ConsentService>();

    private static ConsentRecordRequest Record(bool marketing) =>
        new(new Dictionary<string, bool>(StringComparer.Ordinal) { ["marketing"] = marketing }, new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero));

    private static PurposeStanding Marketing(ConsentStanding standing) => standing.Purposes.Single(p => p.Purpose.Name == "marketing").Standing;

    [Fact]
    public async Task ReadRequest_PurposesAndTimestamp_AreKeptAsSent()
    {
        await using var server = await TandemServer.StartAsync();

        var read = Service(server).ReadRequest("""{"purposes":{"marketing":true,"advertising":false},"timestamp":"2026-11-22T09:00:00Z"}""");

        Assert.Equal(new Dictionary<string, bool> { ["marketing"] = true, ["advertising"] = false }, read.Value!.Purposes);
        Assert.Equal(["marketing", "advertising"], read.Value.Purposes.Keys);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero), read.Value.At);
    }

    [Fact]
    public async Task ReadRequest_WithoutTimestamp_TheDecisionIsNow_AndUpToFiveMinutesAheadIsAClockRunningFast()
    {
        // docs/privacy.md: timestamp "defaults to now", "not in the future" (a clock up to five minutes fast is tolerated).
        await using var server = await TandemServer.StartAsync();
        var now = server.Clock.GetUtcNow();

        Assert.Equal(now, Service(server).ReadRequest("""{"purposes":{"marketing":true}}""").Value!.At);
        var fast = now.AddMinutes(5).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(now.AddMinutes(5), Service(server).ReadRequest($$"""{"purposes":{"marketing":true},"timestamp":"{{fast}}"}""").Value!.At);
        var future = now.AddMinutes(5).AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var refusal = Service(server).ReadRequest($$"""{"purposes":{"marketing":true},"timestamp":"{{future}}"}""").Refusal!;
        Assert.Equal((RefusalKind.Invalid, "invalid_consent", "timestamp"), (refusal.Kind, refusal.Code, refusal.Field));
    }

    [Fact]
    public async Task ReadRequest_UnknownPurpose_IsRefusedListingTheWorkspacesPurposes()
    {
        await using var server = await TandemServer.StartAsync();

        var refusal = Service(server).ReadRequest("""{"purposes":{"newsletter":true}}""").Refusal!;

        Assert.Equal((RefusalKind.Invalid, "invalid_consent", "purposes.newsletter"), (refusal.Kind, refusal.Code, refusal.Field));
        Assert.Equal("'newsletter' is not a purpose of this workspace; use one of: analytics, personalization, marketing, advertising.", refusal.Detail);
    }

    [Fact]
    public async Task RecordAsync_AheadOfAnyEvent_ByUserId_IsHeldByTheProfile_FromTandemsApi_AndAudited()
    {
        await using var server = await TandemServer.StartAsync();

        var recorded = await Service(server).RecordAsync(PrivacyOfficer, "user_id:u-9", Record(marketing: true), hidden: null, TestContext.Current.CancellationToken);

        var marketing = Marketing(recorded.Value!);
        Assert.Equal((ConsentStatus.Granted, true), (marketing.Status, marketing.Allowed));
        Assert.Equal(ConsentService.ApiSourceKey, marketing.Decision!.Value.SourceKey);
        Assert.Equal(recorded.Value!.ProfileId, Service(server).Read("user_id:u-9", hidden: null).Value!.ProfileId);
        var audit = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=consent.recorded")).GetProperty("records").EnumerateArray());
        Assert.Equal(("token:tok_po", "profile:" + recorded.Value.ProfileId), (audit.GetProperty("actor").GetString(), audit.GetProperty("target").GetString()));
    }

    [Fact]
    public async Task Read_ByATypeTheCallerMayNotSee_AnswersAsAnUnknownProfile()
    {
        await using var server = await TandemServer.StartAsync();
        await Service(server).RecordAsync(PrivacyOfficer, "user_id:u-9", Record(marketing: true), hidden: null, TestContext.Current.CancellationToken);

        var hidden = Service(server).Read("user_id:u-9", hidden: type => type == IdentifierType.UserId).Refusal!;

        Assert.Equal((RefusalKind.NotFound, "profile_not_found"), (hidden.Kind, hidden.Code));
    }

    [Fact]
    public async Task RecordAsync_UnknownEmail_IsNotFound_AndStoresNothing()
    {
        await using var server = await TandemServer.StartAsync();
        var head = server.Services.GetRequiredService<IngestLog>().Head;

        var refusal = (await Service(server).RecordAsync(PrivacyOfficer, "email:nobody@example.com", Record(marketing: true), null, TestContext.Current.CancellationToken)).Refusal!;

        Assert.Equal((RefusalKind.NotFound, "profile_not_found", "identifier"), (refusal.Kind, refusal.Code, refusal.Field));
        Assert.Equal("No customer is known by email:nobody@example.com. Consent for someone not seen yet can be recorded by user_id or anonymous_id.", refusal.Detail);
        Assert.Equal(head, server.Services.GetRequiredService<IngestLog>().Head);
    }

    [Fact]
    public async Task RecordAsync_SuppressedPerson_IsRefusedAsAConflict_StoresNothing_AndIsNotAudited()
    {
        // docs/privacy.md: "Consent recorded through the API for a suppressed person is refused (409 suppressed)".
        await using var server = await TandemServer.StartAsync();
        server.Services.GetRequiredService<SuppressionList>().Suppress("prq_1", [new Identifier(IdentifierType.UserId, "u-9")]);
        var head = server.Services.GetRequiredService<IngestLog>().Head;

        var refusal = (await Service(server).RecordAsync(PrivacyOfficer, "user_id:u-9", Record(marketing: false), null, TestContext.Current.CancellationToken)).Refusal!;

        Assert.Equal((RefusalKind.Conflict, "suppressed", "identifier"), (refusal.Kind, refusal.Code, refusal.Field));
        Assert.Contains("consent included", refusal.Detail, StringComparison.Ordinal);
        Assert.Equal(head, server.Services.GetRequiredService<IngestLog>().Head);
        Assert.Empty((await server.AdminGetAsync("/api/v1/audit?action=consent.recorded")).GetProperty("records").EnumerateArray());
    }

    [Fact]
    public async Task RecordAsync_LogFull_IsOverloaded_AndTheApiAnswersItAsTheCollectorDoes()
    {
        // docs/privacy.md: a full log refuses a consent record as it refuses the collector: 429 overloaded, Retry-After: 1.
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { MaxBacklogEvents = 1 });
        var log = server.Services.GetRequiredService<IngestLog>();
        var head = log.Head;
        Task<AppendResult> filler;
        using (log.HoldCommits())
        {
            filler = log.TryAppend(1, [new StampedMessage(0, MessageType.Track, "filler", """{"type":"track","userId":"u-1","event":"E"}"""u8.ToArray())], [],
                server.Clock.GetUtcNow())!;

            var refusal = (await Service(server).RecordAsync(PrivacyOfficer, "user_id:u-9", Record(marketing: true), null, TestContext.Current.CancellationToken)).Refusal!;
            Assert.Equal((RefusalKind.Overloaded, "overloaded"), (refusal.Kind, refusal.Code));

            using var consent = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/profiles/user_id:u-9/consent", new { purposes = new { marketing = true } }),
                TestContext.Current.CancellationToken);
            using var collect = await server.CollectAsync("/v1/track", """{"userId":"u-9","event":"E"}""");
            var (consentProblem, collectProblem) = (await HttpAssert.ProblemAsync(consent, HttpStatusCode.TooManyRequests, "overloaded"),
                await HttpAssert.ProblemAsync(collect, HttpStatusCode.TooManyRequests, "overloaded"));
            Assert.Equal("1", consent.Headers.GetValues("Retry-After").Single());
            Assert.Equal("Tandem is catching up", consentProblem.GetProperty("title").GetString());
            Assert.Equal(
                "The ingest log's backlog is past its bound, so nothing from this request was stored. Retry after the number of seconds in Retry-After.",
                consentProblem.GetProperty("detail").GetString());
            Assert.Equal(collectProblem.GetProperty("detail").GetString(), consentProblem.GetProperty("detail").GetString());
        }

        await filler;
        Assert.Equal(head + 1, log.Head); // the filler only
    }
}
