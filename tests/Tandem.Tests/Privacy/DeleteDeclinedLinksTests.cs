using System.Net;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Privacy;

/// <summary>
/// docs/privacy.md, "Privacy requests": a delete removes "the declined links other profiles kept that
/// name it". A declined link is kept on both profiles (docs/unify.md, the shared-device example), so
/// without that cleanup other customers' merge histories would go on naming the deleted person's
/// identifiers and profile id.
/// </summary>
public sealed class DeleteDeclinedLinksTests
{
    private static async Task<string> IdOfAsync(TandemServer server, string identifier) =>
        (await server.AdminGetAsync($"/v1/profiles/{identifier}/metadata")).GetProperty("profileId").GetString()!;

    private static async Task<JsonElement> MergesAsync(TandemServer server, string profileId) =>
        await server.AdminGetAsync($"/api/v1/profiles/{profileId}/merges");

    private static async Task IdentifyAsync(TandemServer server, string userId, string messageId, string? anonymousId = null, string? email = null)
    {
        var body = JsonSerializer.Serialize(new { userId, anonymousId, messageId, timestamp = "2026-11-20T10:00:00Z", traits = new { email } });
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/identify", body)).StatusCode);
    }

    [Fact]
    public async Task Delete_TakesEveryDeclinedLinkThatNamesThePerson_OutOfOtherProfiles_ThroughARestart()
    {
        await using var server = await TandemServer.StartAsync();

        // 1. Shared device (docs/unify.md): Ada, then Bo, sign in on one tablet. Bo's record names Ada's device and profile.
        await IdentifyAsync(server, "ada-1", "a-1", anonymousId: "tablet-7f3");
        await IdentifyAsync(server, "bo-2", "b-1", anonymousId: "tablet-7f3");
        // 2. Ada's event names Cy's email: Cy's record names Cy's own email, and Ada's profile.
        await IdentifyAsync(server, "cy-3", "c-1", email: "cy@example.com");
        await IdentifyAsync(server, "ada-1", "a-2", email: "cy@example.com");
        // 3. Dee, at the limit of five emails, declines a sixth that Ada takes later: Dee's record names Ada's email only.
        for (var i = 1; i <= 5; i++)
        {
            await IdentifyAsync(server, "dee-4", "d-" + i, email: $"dee{i}@example.com");
        }

        await IdentifyAsync(server, "dee-4", "d-6", email: "ada@example.com");
        await IdentifyAsync(server, "ada-1", "a-3", email: "ada@example.com");
        await server.CaughtUpAsync();

        var ada = await IdOfAsync(server, "user_id:ada-1");
        var others = new Dictionary<string, string>
        {
            ["user_id:bo-2"] = await IdOfAsync(server, "user_id:bo-2"),
            ["user_id:cy-3"] = await IdOfAsync(server, "user_id:cy-3"),
            ["user_id:dee-4"] = await IdOfAsync(server, "user_id:dee-4"),
        };
        Assert.Equal(4, others.Values.Append(ada).Distinct().Count());
        Assert.Equal(ada, await IdOfAsync(server, "email:ada@example.com"));

        // The three cases under test happened.
        static (string? Identifier, string? Other) Only(JsonElement merges)
        {
            var declined = Assert.Single(merges.GetProperty("declined").EnumerateArray());
            return (declined.GetProperty("identifier").GetString(), declined.GetProperty("otherProfileId").GetString());
        }

        Assert.Equal(("anonymous_id:tablet-7f3", ada), Only(await MergesAsync(server, others["user_id:bo-2"])));
        Assert.Equal(("email:cy@example.com", ada), Only(await MergesAsync(server, others["user_id:cy-3"])));
        Assert.Equal(("email:ada@example.com", (string?)null), Only(await MergesAsync(server, others["user_id:dee-4"])));

        using (var request = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "delete", identifier = "user_id:ada-1" }))
        {
            var filed = await HttpAssert.JsonAsync(await server.Http.SendAsync(request), HttpStatusCode.Created);
            Assert.Equal("completed", filed.GetProperty("status").GetString());
        }

        async Task AssertNoOneKeepsAnythingOfAdaAsync()
        {
            foreach (var (identifier, id) in others)
            {
                Assert.Equal(id, await IdOfAsync(server, identifier)); // the others are untouched
                var merges = await MergesAsync(server, id);
                Assert.Empty(merges.GetProperty("declined").EnumerateArray());
                Assert.DoesNotContain(ada, merges.GetRawText(), StringComparison.Ordinal);
                Assert.DoesNotContain("tablet-7f3", merges.GetRawText(), StringComparison.Ordinal);
                Assert.DoesNotContain("ada@example.com", merges.GetRawText(), StringComparison.Ordinal);
            }
        }

        await AssertNoOneKeepsAnythingOfAdaAsync();
        await server.RestartAsync();
        await server.CaughtUpAsync();
        await AssertNoOneKeepsAnythingOfAdaAsync();
    }
}
