using System.Net;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Tokens minted by tokens: they die with their parent and never hold or see more than it.</summary>
public sealed class TokenLineageTests
{
    [Fact]
    public async Task RevokingAToken_RevokesEveryTokenItMinted_AtAnyDepth()
    {
        await using var server = await TandemServer.StartAsync();
        var (parentId, parent) = await server.CreateTokenAsync([Scopes.TokensWrite, Scopes.SourcesRead], name: "ci");
        var child = await MintAsync(server, parent, [Scopes.TokensWrite, Scopes.SourcesRead], "persistence");
        var grandchild = await MintAsync(server, child.Secret, [Scopes.SourcesRead], "persistence 2");
        Assert.Equal(parentId, child.ParentId);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + grandchild.Secret, HttpMethod.Get, "/api/v1/sources"))).StatusCode);

        var revoked = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{parentId}")), HttpStatusCode.OK);
        Assert.Equal("revoked", revoked.GetProperty("status").GetString());

        foreach (var secret in new[] { child.Secret, grandchild.Secret })
        {
            await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "token_revoked");
        }

        var record = (await server.AdminGetAsync("/api/v1/audit?action=token.revoke")).GetProperty("records")[0];
        Assert.Contains(child.Id, record.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(grandchild.Id, record.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMintedToken_IsNarrowedToItsParent_WhenTheParentNarrows()
    {
        await using var server = await TandemServer.StartAsync();
        var alice = await server.CreateMemberAsync("alice@example.com", [Roles.Admin]);
        var bob = await server.CreateMemberAsync("bob@example.com", [Roles.Admin]);
        var (_, aliceToken) = await server.CreateTokenAsync([Scopes.All], ownerId: alice);
        var forBob = await MintAsync(server, aliceToken, [Scopes.SourcesWrite, Scopes.SourcesRead], "for bob", ownerId: bob);
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + forBob.Secret, HttpMethod.Post, "/api/v1/sources", new { name = "One" })), HttpStatusCode.Created);

        // Alice is demoted: her token narrows, and so does what it minted, whoever owns it.
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{alice}", new { roles = new[] { Roles.Viewer } })), HttpStatusCode.OK);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + forBob.Secret, HttpMethod.Post, "/api/v1/sources", new { name = "Two" })),
            HttpStatusCode.Forbidden, "missing_scope");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + forBob.Secret, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
    }

    [Fact]
    public async Task AMintedToken_WhoseMakerIsInactive_Is401MakerInactive()
    {
        await using var server = await TandemServer.StartAsync();
        var alice = await server.CreateMemberAsync("alice@example.com", [Roles.Admin]);
        var bob = await server.CreateMemberAsync("bob@example.com", [Roles.Marketer]);
        await server.CreateMemberAsync("carol@example.com", [Roles.Admin]); // so that Alice may be disabled
        var (_, aliceToken) = await server.CreateTokenAsync([Scopes.All], ownerId: alice);
        var forBob = await MintAsync(server, aliceToken, [Scopes.SourcesRead], "for bob", ownerId: bob);

        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{alice}", new { disabled = true })), HttpStatusCode.OK);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + aliceToken, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "owner_inactive");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + forBob.Secret, HttpMethod.Get, "/api/v1/sources")),
            HttpStatusCode.Unauthorized, "maker_inactive");
        Assert.Contains(forBob.Id, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{alice}", new { disabled = false })), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + forBob.Secret, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
    }

    [Fact]
    public async Task AnOwnerlessChildOfAMachineToken_ReadsPiiAsAViewer_NeverAsAdmin()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", """{"userId":"u-1","traits":{"email":"carol@example.com"}}""");
        await server.CaughtUpAsync();
        var (machineId, machine) = await server.CreateTokenAsync([Scopes.TokensWrite, Scopes.ProfilesRead], name: "website");
        var child = await MintAsync(server, machine, [Scopes.ProfilesRead], "website helper");

        var listed = await server.AdminGetAsync("/api/v1/tokens?owner=all");
        string[] ReadsAs(string id) => [.. listed.EnumerateArray().Single(t => t.GetProperty("id").GetString() == id).GetProperty("readsAs").EnumerateArray().Select(r => r.GetString()!)];
        Assert.Equal([Roles.Admin], ReadsAs(machineId));
        Assert.Equal([Roles.Viewer], ReadsAs(child.Id));

        var asMachine = await server.GetAsAsync("Bearer " + machine, "/v1/profiles/user_id:u-1/traits");
        Assert.Equal("carol@example.com", asMachine.GetProperty("traits").GetProperty("email").GetString());
        var asChild = await server.GetAsAsync("Bearer " + child.Secret, "/v1/profiles/user_id:u-1/traits");
        Assert.NotEqual("carol@example.com", asChild.GetProperty("traits").TryGetProperty("email", out var email) ? email.GetString() : null);
    }

    [Fact]
    public async Task RevokingTheFirstAdminToken_WhenEveryOtherAdminTokenDescendsFromIt_Is409LastAdmin()
    {
        // Revoking takes the lineage with it: the admin tokens it minted do not count as another way in.
        await using var server = await TandemServer.StartAsync();
        var (_, deploy) = await server.CreateTokenAsync([Scopes.All], name: "deploy robot");
        await MintAsync(server, deploy, [Scopes.All], "deploy robot 2");

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{TokenRegistry.FirstAdminTokenId}")),
            HttpStatusCode.Conflict, "last_admin");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + deploy, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
    }

    private sealed record Minted(string Id, string Secret, string? ParentId);

    private static async Task<Minted> MintAsync(TandemServer server, string parentSecret, string[] scopes, string name, string? ownerId = null)
    {
        using var response = await server.Http.SendAsync(server.As("Bearer " + parentSecret, HttpMethod.Post, "/api/v1/tokens", new { name, scopes, ownerId }));
        var created = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        return new Minted(created.GetProperty("id").GetString()!, created.GetProperty("token").GetString()!,
            created.TryGetProperty("parentId", out var parent) && parent.ValueKind == JsonValueKind.String ? parent.GetString() : null);
    }
}
