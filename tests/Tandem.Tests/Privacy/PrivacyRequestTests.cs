using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Privacy;
using Tandem.Storage;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Privacy;

/// <summary>Privacy requests: export, delete (and that nothing comes back), suppress and unsuppress, the lifecycle.</summary>
public sealed class PrivacyRequestTests
{
    private const string Ada = """
        {"type":"identify","userId":"ada-1","anonymousId":"anon-ada","messageId":"a-1","timestamp":"2026-11-20T10:00:00Z",
         "traits":{"email":"ada@example.com","first_name":"Ada","card_number":"4242 4242 4242 4242"},
         "context":{"consent":{"categoryPreferences":{"marketing":true}}}}
        """;

    private const string AdaOrder = """
        {"type":"track","userId":"ada-1","event":"Order Completed","messageId":"a-2","timestamp":"2026-11-20T11:00:00Z","properties":{"total":42}}
        """;

    private const string AdaJoins = """
        {"type":"group","userId":"ada-1","groupId":"acme","messageId":"a-3","timestamp":"2026-11-20T12:00:00Z","traits":{"name":"Acme"}}
        """;

    private const string Bo = """
        {"type":"identify","userId":"bo-2","messageId":"b-1","timestamp":"2026-11-20T10:00:00Z","traits":{"email":"bo@example.com","first_name":"Bo"}}
        """;

    private const string BoJoins = """
        {"type":"group","userId":"bo-2","groupId":"acme","messageId":"b-2","timestamp":"2026-11-20T12:00:00Z"}
        """;

    private static async Task<TandemServer> ArrangeAsync()
    {
        var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", Ada);
        await server.CollectAsync("/v1/track", AdaOrder);
        await server.CollectAsync("/v1/group", AdaJoins);
        await server.CollectAsync("/v1/identify", Bo);
        await server.CollectAsync("/v1/group", BoJoins);
        // Refused (no event name), kept raw for the debugger: it names Ada too.
        await server.CollectAsync("/v1/track", """{"type":"track","userId":"ada-1","messageId":"a-bad"}""");
        await server.CaughtUpAsync();
        return server;
    }

    private static async Task<JsonElement> FileAsync(TandemServer server, string type, string identifier, string? authorization = null,
        HttpStatusCode expected = HttpStatusCode.Created)
    {
        using var request = authorization is null
            ? server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type, identifier })
            : server.As(authorization, HttpMethod.Post, "/api/v1/privacy/requests", new { type, identifier });
        return await HttpAssert.JsonAsync(await server.Http.SendAsync(request), expected);
    }

    private static async Task<HttpStatusCode> ProfileStatusAsync(TandemServer server, string identifier)
    {
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/v1/profiles/{identifier}/traits"));
        return response.StatusCode;
    }

    /// <summary>Every byte of the data folder's files: what a disk image would show.</summary>
    private static string AllBytes(TandemServer server) =>
        string.Join('\n', Directory.EnumerateFiles(server.DataDirectory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != Tandem.Hosting.DataFolderLock.LockFile) // locked by the server; it holds only a process id
            .Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f))));

    [Fact]
    public async Task Export_ReturnsEverythingHeld_InFull_AndTheRequestKeepsOnlyAMaskedSubject()
    {
        await using var server = await ArrangeAsync();
        var privacy = await server.MemberTokenAsync("po@example.com", Roles.PrivacyOfficer);

        var request = await FileAsync(server, "export", "email:ADA@example.com", privacy.Authorization);
        Assert.Equal("completed", request.GetProperty("status").GetString());
        Assert.Equal("email:a***@example.com", request.GetProperty("subject").GetString());
        Assert.Equal(DateTimeOffset.Parse("2026-12-23T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            request.GetProperty("dueAt").GetDateTimeOffset());
        Assert.False(request.GetProperty("overdue").GetBoolean());

        var export = request.GetProperty("export");
        Assert.True(export.GetProperty("found").GetBoolean());
        var profile = export.GetProperty("profile");
        Assert.Equal("4242 4242 4242 4242", profile.GetProperty("traits").GetProperty("card_number").GetString());
        Assert.Equal(["anonymous_id:anon-ada", "email:ada@example.com", "user_id:ada-1"],
            profile.GetProperty("identifiers").EnumerateArray().Select(i => $"{i.GetProperty("type").GetString()}:{i.GetProperty("value").GetString()}").Order());
        Assert.Equal(["acme"], profile.GetProperty("accounts").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("granted", profile.GetProperty("consent").GetProperty("purposes").EnumerateArray()
            .Single(p => p.GetProperty("purpose").GetString() == "marketing").GetProperty("status").GetString());
        Assert.Equal(["a-1", "a-2", "a-3"], export.GetProperty("events").EnumerateArray()
            .Select(e => e.GetProperty("event").GetProperty("messageId").GetString()));
        Assert.False(export.GetProperty("suppressed").GetBoolean());

        // The record: listed and readable by id, with what was done; the audit log has its life.
        var id = request.GetProperty("id").GetString()!;
        var kept = await server.AdminGetAsync("/api/v1/privacy/requests/" + id);
        Assert.Equal(3, kept.GetProperty("result").GetProperty("events").GetInt32());
        Assert.False(kept.TryGetProperty("export", out _), "the export is handed over, not kept");
        var listed = (await server.AdminGetAsync("/api/v1/privacy/requests?type=export")).GetProperty("data");
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        var audit = (await server.AdminGetAsync("/api/v1/audit?target=privacy:" + id)).GetProperty("records").EnumerateArray()
            .Select(r => r.GetProperty("action").GetString()).Order().ToList();
        Assert.Equal(["privacy.request_completed", "privacy.request_received"], audit);
        Assert.DoesNotContain("ada@example.com", (await server.AdminGetAsync("/api/v1/audit")).GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_RemovesProfileEventsIdentitiesAndMemberships_AndNoReplayBringsThemBack()
    {
        await using var server = await ArrangeAsync();
        var request = await FileAsync(server, "delete", "anonymous_id:anon-ada");
        var result = request.GetProperty("result");
        Assert.True(result.GetProperty("found").GetBoolean());
        Assert.Equal(3, result.GetProperty("eventsDeleted").GetInt32());
        Assert.Equal(3, result.GetProperty("identifiersRemoved").GetInt32());
        Assert.Equal(1, result.GetProperty("accountMembershipsRemoved").GetInt32());
        Assert.Equal(1, result.GetProperty("refusedEventsDeleted").GetInt32());

        async Task AssertGoneAsync()
        {
            foreach (var identifier in new[] { "user_id:ada-1", "email:ada@example.com", "anonymous_id:anon-ada" })
            {
                Assert.Equal(HttpStatusCode.NotFound, await ProfileStatusAsync(server, identifier));
            }

            var stored = await server.StoredEventsAsync();
            Assert.Equal(["b-1", "b-2"], stored.Select(e => e.GetProperty("messageId").GetString()).Order());
            Assert.Empty(await server.RejectionsAsync());
            var account = await server.AdminGetAsync("/api/v1/accounts/acme");
            Assert.Single(account.GetProperty("members").EnumerateArray());
            Assert.Equal("Bo", (await server.AdminGetAsync("/v1/profiles/user_id:bo-2/traits")).GetProperty("traits").GetProperty("first_name").GetString());
            Assert.DoesNotContain("ada@example.com", AllBytes(server), StringComparison.Ordinal);
            Assert.DoesNotContain("4242 4242", AllBytes(server), StringComparison.Ordinal);
        }

        await AssertGoneAsync();

        // A computed trait folds the whole log in again: nothing of Ada's is read back.
        using var define = server.Admin(HttpMethod.Put, "/api/v1/computed-traits/orders", new { aggregation = "count", @event = "Order Completed" });
        Assert.True((await server.Http.SendAsync(define)).IsSuccessStatusCode);
        await AssertGoneAsync();

        // A restart, then a full replay of the log without the snapshot.
        await server.RestartAsync();
        await server.CaughtUpAsync();
        await AssertGoneAsync();
        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        await server.CaughtUpAsync();
        await AssertGoneAsync();

        // An export now finds nothing; the person's new events (no suppression) make a new profile.
        var export = await FileAsync(server, "export", "user_id:ada-1");
        Assert.False(export.GetProperty("export").GetProperty("found").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/track", AdaOrder.Replace("a-2", "a-4", StringComparison.Ordinal))).StatusCode);
        await server.CaughtUpAsync();
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(server, "user_id:ada-1"));
    }

    [Fact]
    public async Task Suppress_DropsEveryFutureEventOfThePerson_Counted_UntilUnsuppressed()
    {
        await using var server = await ArrangeAsync();
        var request = await FileAsync(server, "suppress", "email:ada@example.com");
        Assert.Equal(3, request.GetProperty("result").GetProperty("identifiersSuppressed").GetInt32());

        // By user id, by anonymous id (from a browser), by email in traits: all dropped; Bo's event is kept.
        var batch = """
            {"batch":[
              {"type":"track","userId":"ada-1","event":"Page Viewed","messageId":"s-1"},
              {"type":"page","anonymousId":"anon-ada","messageId":"s-2"},
              {"type":"identify","userId":"new-id","messageId":"s-3","traits":{"email":" Ada@Example.com "}},
              {"type":"track","userId":"bo-2","event":"Page Viewed","messageId":"s-4"}]}
            """;
        // Answered as accepted, as any other event: the answer must not tell who is suppressed.
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", batch), HttpStatusCode.OK);
        Assert.Equal(4, answer.GetProperty("accepted").GetInt32());
        var only = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"ada-1","event":"Page Viewed","messageId":"s-5"}"""), HttpStatusCode.OK);
        Assert.Equal(1, only.GetProperty("accepted").GetInt32());

        // Their refused events are not kept for the debugger either; the answer still names the refusal.
        var refused = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch",
            """{"batch":[{"type":"track","userId":"ada-1","messageId":"s-7"},{"type":"track","userId":"bo-2","event":"X","messageId":"s-8"}]}"""), HttpStatusCode.OK);
        Assert.Equal(2, refused.GetProperty("accepted").GetInt32());
        Assert.DoesNotContain(await server.RejectionsAsync(), r => r.GetRawText().Contains("s-7", StringComparison.Ordinal));

        // Nor can consent recorded through the API bring them back.
        using var consent = server.Admin(HttpMethod.Post, "/api/v1/profiles/user_id:ada-1/consent", new { purposes = new { marketing = true } });
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(consent), HttpStatusCode.Conflict, "suppressed");

        var stored = (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()).ToList();
        Assert.Contains("s-4", stored);
        Assert.Contains("s-8", stored);
        Assert.DoesNotContain("s-1", stored);
        Assert.DoesNotContain("s-3", stored);
        Assert.DoesNotContain("s-5", stored);
        var suppression = Assert.Single((await server.AdminGetAsync("/api/v1/privacy/suppressions")).GetProperty("data").EnumerateArray());
        Assert.Equal(4, suppression.GetProperty("dropped").GetInt32()); // events stored otherwise; the refused one is not counted
        Assert.Equal(["anonymous_id", "email", "user_id"], suppression.GetProperty("identifierTypes").EnumerateArray().Select(t => t.GetString()));
        // The list holds digests, not the identifiers.
        var list = string.Join('\n', Directory.EnumerateFiles(server.DataDirectory, "suppressions.db*").Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f))));
        Assert.DoesNotContain("ada@example.com", list, StringComparison.Ordinal);
        Assert.DoesNotContain("ada-1", list, StringComparison.Ordinal);

        // Suppression keeps what was held: the profile is still there.
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(server, "user_id:ada-1"));

        // The count survives a restart; unsuppressing by any of the person's identifiers lifts it all.
        await server.RestartAsync();
        Assert.Equal(4, Assert.Single((await server.AdminGetAsync("/api/v1/privacy/suppressions")).GetProperty("data").EnumerateArray())
            .GetProperty("dropped").GetInt32());
        var lifted = await FileAsync(server, "unsuppress", "anonymous_id:anon-ada");
        Assert.Equal(request.GetProperty("id").GetString(), Assert.Single(lifted.GetProperty("result").GetProperty("suppressionsLifted").EnumerateArray()).GetString());
        Assert.Equal(1, (await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"ada-1","event":"Page Viewed","messageId":"s-6"}"""), HttpStatusCode.OK))
            .GetProperty("accepted").GetInt32());
        Assert.Empty((await server.AdminGetAsync("/api/v1/privacy/suppressions")).GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task DeleteAndSuppress_ForgetsThePerson_AndKeepsThemOut()
    {
        await using var server = await ArrangeAsync();
        var request = await FileAsync(server, "delete_and_suppress", "user_id:ada-1");
        var result = request.GetProperty("result");
        Assert.Equal(3, result.GetProperty("eventsDeleted").GetInt32());
        Assert.Equal(3, result.GetProperty("identifiersSuppressed").GetInt32());

        await server.CollectAsync("/v1/identify", Ada.Replace("a-1", "a-9", StringComparison.Ordinal));
        await server.CaughtUpAsync();
        Assert.Equal(HttpStatusCode.NotFound, await ProfileStatusAsync(server, "user_id:ada-1"));
        Assert.DoesNotContain("ada@example.com", AllBytes(server), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASuppression_CoversCustomIdentifiersReadFromTraits_AndDeleteTakesRefusalsNamingTheEmail()
    {
        await using var server = await TandemServer.StartAsync();
        using var type = server.Admin(HttpMethod.Put, "/api/v1/identity/types/crm_id", new { limit = 1, priority = 4, traitKey = "crm_id" });
        Assert.True((await server.Http.SendAsync(type)).IsSuccessStatusCode);
        await server.CollectAsync("/v1/identify", """{"userId":"dee-4","messageId":"d-1","traits":{"crm_id":"C-77","email":"dee@example.com"}}""");
        // Refused (a track without a name), naming her only by email.
        await server.CollectAsync("/v1/track", """{"anonymousId":"x","messageId":"d-2","context":{"traits":{"email":"Dee@Example.com"}}}""");
        await server.CaughtUpAsync();

        var request = await FileAsync(server, "delete_and_suppress", "crm_id:C-77");
        Assert.Equal(1, request.GetProperty("result").GetProperty("refusedEventsDeleted").GetInt32());
        Assert.Empty(await server.RejectionsAsync());

        // A new device, known only by the CRM id in its traits: dropped.
        await server.CollectAsync("/v1/page", """{"anonymousId":"new-device","messageId":"d-3","context":{"traits":{"crm_id":"C-77"}}}""");
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Delete_TakesRefusalsNamingThePersonByPhoneOrExternalId_OrInABodyThatIsNotJson_AndKeepsOthers()
    {
        await using var server = await TandemServer.StartAsync();
        using var type = server.Admin(HttpMethod.Put, "/api/v1/identity/types/salesforce_id", new { limit = 1, priority = 4 });
        Assert.True((await server.Http.SendAsync(type)).IsSuccessStatusCode);
        await server.CollectAsync("/v1/identify", """
            {"userId":"cy-3","messageId":"c-1","traits":{"email":"cy@example.com","phone":"+1 415 555 0199"},
             "context":{"externalIds":[{"id":"SF-123","type":"salesforce_id","collection":"users","encoding":"none"}]}}
            """);
        // Refused tracks (no event name), each naming her one way only, and a body that is not JSON.
        await server.CollectAsync("/v1/track", """{"anonymousId":"p","messageId":"c-2","context":{"traits":{"phone":"+1 415 555 0199"}}}""");
        await server.CollectAsync("/v1/track", """{"anonymousId":"q","messageId":"c-3","context":{"externalIds":[{"id":"SF-123","type":"salesforce_id"}]}}""");
        using (var malformed = await server.CollectAsync("/v1/track", """{"userId":"z","event":"Signed Up","traits":{"email":"CY@example.com"}"""))
        {
            await HttpAssert.ProblemAsync(malformed, HttpStatusCode.BadRequest, "invalid_json");
        }

        // Someone else's refusal stays.
        await server.CollectAsync("/v1/track", """{"anonymousId":"r","messageId":"o-1","context":{"traits":{"phone":"+1 415 555 0100"}}}""");
        await server.CaughtUpAsync();
        Assert.Equal(4, (await server.RejectionsAsync()).Count);

        var request = await FileAsync(server, "delete", "user_id:cy-3");
        Assert.Equal(3, request.GetProperty("result").GetProperty("refusedEventsDeleted").GetInt32());
        var left = Assert.Single(await server.RejectionsAsync());
        Assert.Equal("o-1", left.GetProperty("payload").GetProperty("messageId").GetString());
        Assert.DoesNotContain("415 555 0199", AllBytes(server), StringComparison.Ordinal);
        Assert.DoesNotContain("SF-123", AllBytes(server), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuppressingSomeoneNeverSeen_KeepsTheirFirstEventOut()
    {
        await using var server = await TandemServer.StartAsync();
        var request = await FileAsync(server, "suppress", "user_id:ghost");
        Assert.Equal(1, request.GetProperty("result").GetProperty("identifiersSuppressed").GetInt32());
        await server.CollectAsync("/v1/track", """{"userId":"ghost","event":"Page Viewed","messageId":"g-1"}""");
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Theory]
    [InlineData("""{"type":"erase","identifier":"email:a@b.c"}""", "type")]
    [InlineData("""{"type":"delete"}""", "identifier")]
    [InlineData("""{"type":"delete","identifier":"ada@example.com"}""", "identifier")]
    [InlineData("""{"type":"delete","identifier":"shoe_size:42"}""", "identifier")]
    [InlineData("""{"type":"unsuppress","identifier":"profile_id:prf_00000001"}""", "identifier")]
    [InlineData("""{"type":"delete","identifier":"email:a@b.c","reason":"asked"}""", "reason")]
    [InlineData("""[1,2]""", "body")]
    [InlineData("""{"type":"delete","type":"export","identifier":"user_id:ada-1"}""", "body")]
    [InlineData("""{"type":"delete","identifier":"user_id:unknown"}""", "identifier")]
    public async Task BadRequests_AreRefused_NamingTheField_AndNothingIsRecorded(string body, string field)
    {
        await using var server = await ArrangeAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests");
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_privacy_request");
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Empty((await server.AdminGetAsync("/api/v1/privacy/requests")).GetProperty("data").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(server, "user_id:ada-1"));
    }

    [Fact]
    public async Task AFailedRequest_IsKept_CanBeRetried_AndShowsOverdueAfterItsDueDate()
    {
        await using var server = await ArrangeAsync();

        // The snapshot cannot be rewritten (its temporary file's name is taken by a folder): the delete
        // must not be reported done, since the old snapshot still holds the person.
        var blocker = Path.Combine(server.DataDirectory, "profiles.snapshot.tmp");
        Directory.CreateDirectory(blocker);
        using var file = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "delete", identifier = "user_id:bo-2" });
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(file), HttpStatusCode.InternalServerError, "privacy_request_failed");
        var id = problem.GetProperty("request").GetProperty("id").GetString()!;
        Assert.Equal("failed", problem.GetProperty("request").GetProperty("status").GetString());
        Assert.Contains("snapshot", problem.GetProperty("request").GetProperty("error").GetString(), StringComparison.Ordinal);

        server.Clock.Advance(TimeSpan.FromDays(31));
        var kept = await server.AdminGetAsync("/api/v1/privacy/requests/" + id);
        Assert.True(kept.GetProperty("overdue").GetBoolean());
        Assert.Equal("user_id:bo-2", kept.GetProperty("subject").GetString()); // kept in clear until done: a retry needs it
        Assert.Single((await server.AdminGetAsync("/api/v1/privacy/requests?status=failed")).GetProperty("data").EnumerateArray());

        // Fixed, retried: done, and gone for good, across a restart.
        Directory.Delete(blocker);
        using var retry = server.Admin(HttpMethod.Post, $"/api/v1/privacy/requests/{id}/retry");
        var retried = await HttpAssert.JsonAsync(await server.Http.SendAsync(retry), HttpStatusCode.OK);
        Assert.Equal(2, retried.GetProperty("attempts").GetInt32());
        Assert.Equal("completed", retried.GetProperty("status").GetString());
        Assert.False(retried.GetProperty("overdue").GetBoolean());
        await server.RestartAsync();
        Assert.Equal(HttpStatusCode.NotFound, await ProfileStatusAsync(server, "user_id:bo-2"));

        using var again = server.Admin(HttpMethod.Post, $"/api/v1/privacy/requests/{id}/retry");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(again), HttpStatusCode.Conflict, "not_failed");
        using var missing = server.Admin(HttpMethod.Get, "/api/v1/privacy/requests/prq_nope");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(missing), HttpStatusCode.NotFound, "privacy_request_not_found");
    }

    [Fact]
    public async Task DeletingTheNewestEvents_ThenRestarting_NeverReusesTheirSequenceNumbers()
    {
        await using var server = await ArrangeAsync();
        await server.CollectAsync("/v1/track", AdaOrder.Replace("a-2", "a-5", StringComparison.Ordinal)); // Ada is the last one active
        await server.CaughtUpAsync();
        var before = await SequenceNumbersAsync(server);
        Assert.Equal("a-5", before.MaxBy(e => e.Seq).MessageId);
        var adas = before.Where(e => e.MessageId.StartsWith("a-", StringComparison.Ordinal)).Select(e => e.Seq).ToList();
        Assert.Equal(4, adas.Count);
        await FileAsync(server, "delete", "email:ADA@example.com");
        var others = before.Where(e => !adas.Contains(e.Seq)).ToList();
        Assert.Equal(others, await SequenceNumbersAsync(server));

        await server.RestartAsync();
        await server.CaughtUpAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/identify", """{"userId":"cy-3","messageId":"c-1","traits":{"first_name":"Cy"}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/track", """{"userId":"cy-3","event":"Viewed","messageId":"c-2"}""")).StatusCode);
        await server.CaughtUpAsync();
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(server, "user_id:cy-3"));

        // docs/privacy.md: the head is kept, so the new events come after every deleted one, Ada's
        // newest included, and everyone else's keep the numbers they had.
        var after = await SequenceNumbersAsync(server);
        var cys = after.Where(e => e.MessageId.StartsWith("c-", StringComparison.Ordinal)).ToList();
        Assert.Equal(["c-2", "c-1"], cys.Select(e => e.MessageId));
        Assert.All(cys, e => Assert.True(e.Seq > adas.Max(), $"{e.MessageId} got seq {e.Seq}, not past the deleted {adas.Max()}"));
        Assert.Equal(others, after.Except(cys));
        Assert.Equal(after.Count, after.Select(e => e.Seq).Distinct().Count());

        // Asked by email: the request keeps it masked, and no file (tandem.db and its WAL included) holds it.
        Assert.DoesNotContain("ada@example.com", AllBytes(server), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The default source's stored events, newest first, as the debugger feed numbers them (docs/collect.md: <c>seq</c>).</summary>
    private static async Task<List<(long Seq, string MessageId)>> SequenceNumbersAsync(TandemServer server) =>
        [.. (await server.AdminGetAsync($"/api/v1/sources/{server.DefaultSourceId}/events?limit=1000")).GetProperty("events").EnumerateArray()
            .Select(e => (e.GetProperty("seq").GetInt64(), e.GetProperty("event").GetProperty("messageId").GetString()!))];

    [Fact]
    public async Task ARequestLeftUnfinishedByAStop_IsCarriedOutAtTheNextStart()
    {
        await using var server = await ArrangeAsync();
        var requests = server.Services.GetRequiredService<IPrivacyRequestStore>();
        var pending = requests.Add(PrivacyRequest.Receive(PrivacyRequestTypes.Delete, "user_id:bo-2", "token:test", server.Clock.GetUtcNow()));

        await server.RestartAsync();
        await server.Services.GetRequiredService<PrivacyDesk>().Resumed.WaitAsync(TimeSpan.FromSeconds(30));
        var kept = await server.AdminGetAsync("/api/v1/privacy/requests/" + pending.Id);
        Assert.Equal("completed", kept.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, await ProfileStatusAsync(server, "user_id:bo-2"));
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(server, "user_id:ada-1"));
    }
}
