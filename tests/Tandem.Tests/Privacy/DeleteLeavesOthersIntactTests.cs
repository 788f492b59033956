using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Privacy;

/// <summary>
/// A privacy delete takes one person out and leaves everyone else exactly as they were: the same
/// profile ids (which audit and privacy records name), and accounts described only by what the others sent.
/// </summary>
public sealed class DeleteLeavesOthersIntactTests
{
    private const string AdaJoins = """
        {"type":"group","userId":"ada-1","groupId":"acme","messageId":"a-1","timestamp":"2026-11-20T12:00:00Z",
         "traits":{"billing_email":"billing.ada@acme.example","phone":"+44 20 7946 0000","name":"Acme"}}
        """;

    private const string BoJoins = """
        {"type":"group","userId":"bo-2","groupId":"acme","messageId":"b-1","timestamp":"2026-11-20T11:00:00Z","traits":{"plan":"pro","name":"Acme Inc"}}
        """;

    private static async Task CollectAsync(TandemServer server, params string[] identifies)
    {
        foreach (var body in identifies)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/identify", body)).StatusCode);
        }

        await server.CaughtUpAsync();
    }

    private static string Identify(string userId, string messageId) =>
        $$$"""{"type":"identify","userId":"{{{userId}}}","messageId":"{{{messageId}}}","timestamp":"2026-11-20T10:00:00Z","traits":{"first_name":"{{{userId}}}"}}""";

    private static async Task<string> IdOfAsync(TandemServer server, string identifier) =>
        (await server.AdminGetAsync($"/v1/profiles/{identifier}/metadata")).GetProperty("profileId").GetString()!;

    private static async Task DeleteAsync(TandemServer server, string identifier)
    {
        using var request = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "delete", identifier });
        var filed = await HttpAssert.JsonAsync(await server.Http.SendAsync(request), HttpStatusCode.Created);
        Assert.Equal("completed", filed.GetProperty("status").GetString());
    }

    private static async Task<HttpStatusCode> StatusAsync(TandemServer server, string path)
    {
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, path));
        return response.StatusCode;
    }

    [Fact]
    public async Task Delete_ThenRestartOrFullReplay_KeepsEveryOtherProfilesId_AndNoNewcomerTakesTheDeletedId()
    {
        await using var server = await TandemServer.StartAsync();
        await CollectAsync(server, Identify("p1", "m-1"), Identify("p1", "m-2"), Identify("p2", "m-3"), Identify("p3", "m-4"));
        var p1 = await IdOfAsync(server, "user_id:p1");
        var others = new Dictionary<string, string>
        {
            ["user_id:p2"] = await IdOfAsync(server, "user_id:p2"),
            ["user_id:p3"] = await IdOfAsync(server, "user_id:p3"),
        };

        await DeleteAsync(server, "user_id:p1");

        async Task AssertStableAsync()
        {
            foreach (var (identifier, id) in others)
            {
                Assert.Equal(id, await IdOfAsync(server, identifier));
                Assert.Equal(id, await IdOfAsync(server, "profile_id:" + id));
            }

            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(server, $"/v1/profiles/profile_id:{p1}/traits"));
        }

        await AssertStableAsync();
        await server.RestartAsync();
        await server.CaughtUpAsync();
        await AssertStableAsync();
        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        await server.CaughtUpAsync();
        await AssertStableAsync();

        await CollectAsync(server, Identify("p4", "m-5"));
        Assert.DoesNotContain(await IdOfAsync(server, "user_id:p4"), others.Values.Append(p1));
        await AssertStableAsync();
    }

    [Fact]
    public async Task Delete_TakesTheAccountTraitsThePersonsGroupCallsSet_AndKeepsTheOtherMembers_ThroughRestartAndReplay()
    {
        await using var server = await TandemServer.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/group", AdaJoins)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/group", BoJoins)).StatusCode);
        await server.CaughtUpAsync();
        var before = (await server.AdminGetAsync("/api/v1/accounts/acme")).GetProperty("traits");
        Assert.Equal("billing.ada@acme.example", before.GetProperty("billing_email").GetString());

        await DeleteAsync(server, "user_id:ada-1");

        async Task AssertOnlyBosAsync()
        {
            var account = await server.AdminGetAsync("/api/v1/accounts/acme");
            var traits = account.GetProperty("traits");
            Assert.Equal(["name", "plan"], traits.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            Assert.Equal("pro", traits.GetProperty("plan").GetString());
            Assert.Equal("Acme Inc", traits.GetProperty("name").GetString());
            Assert.Equal(DateTimeOffset.Parse("2026-11-20T11:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
                account.GetProperty("lastSeen").GetDateTimeOffset());
            Assert.Single(account.GetProperty("members").EnumerateArray());

            var files = string.Join('\n', Directory.EnumerateFiles(server.DataDirectory, "profiles.snapshot*")
                .Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f))));
            Assert.DoesNotContain("billing.ada@acme.example", files, StringComparison.Ordinal);
            Assert.DoesNotContain("7946", files, StringComparison.Ordinal);
        }

        await AssertOnlyBosAsync();
        await server.RestartAsync();
        await server.CaughtUpAsync();
        await AssertOnlyBosAsync();
        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));
        await server.CaughtUpAsync();
        await AssertOnlyBosAsync();
    }

    [Fact]
    public async Task Delete_OfTheNewestEvents_ThenFullReplay_CatchesUpToTheLogHead()
    {
        await using var server = await TandemServer.StartAsync();
        await CollectAsync(server, Identify("p1", "m-1"), Identify("p2", "m-2"), Identify("p2", "m-3"));
        await DeleteAsync(server, "user_id:p2"); // the log's newest events are gone; its head is not

        await server.RestartAsync(() => File.Delete(Path.Combine(server.DataDirectory, "profiles.snapshot")));

        // Before the fix the replay stopped at p1's event and waited for events that no longer exist:
        // anything waiting to see the head processed (a privacy request, a consent write) waited forever.
        await server.CaughtUpAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "/v1/profiles/user_id:p1/traits"));
        await CollectAsync(server, Identify("p3", "m-4"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "/v1/profiles/user_id:p3/traits"));
    }
}
