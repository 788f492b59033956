using System.Net;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Trust;

/// <summary>
/// docs/trust.md, "Members": "The last active admin member cannot be demoted, disabled or removed
/// (409 last_admin)". A disabled admin is not an active one: it must not count as the admin that
/// makes the change safe. The first admin token does not count either (it is not a member).
/// </summary>
public sealed class LastAdminTests
{
    private static async Task<JsonElement> MemberAsync(TandemServer server, string id) =>
        (await server.AdminGetAsync("/api/v1/members")).EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);

    private static Task<HttpResponseMessage> PatchAsync(TandemServer server, string id, object body) =>
        server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{id}", body));

    private static async Task AssertStillAnEnabledAdminAsync(TandemServer server, string id)
    {
        var member = await MemberAsync(server, id);
        Assert.False(member.GetProperty("disabled").GetBoolean());
        Assert.Equal(["admin"], member.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task TheOnlyAdmin_CannotBeDisabledDemotedOrRemoved_AndStaysAsTheyWere()
    {
        await using var server = await TandemServer.StartAsync();
        var root = await server.CreateMemberAsync("root@example.com", ["admin"]);
        await server.CreateMemberAsync("ada@example.com", ["marketer"]);

        var problem = await HttpAssert.ProblemAsync(await PatchAsync(server, root, new { disabled = true }), HttpStatusCode.Conflict, "last_admin");
        Assert.Contains("root@example.com", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await HttpAssert.ProblemAsync(await PatchAsync(server, root, new { roles = new[] { "viewer" } }), HttpStatusCode.Conflict, "last_admin");
        await HttpAssert.ProblemAsync(await PatchAsync(server, root, new { roles = new[] { "viewer" }, disabled = true }), HttpStatusCode.Conflict, "last_admin");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/members/{root}")), HttpStatusCode.Conflict, "last_admin");
        await AssertStillAnEnabledAdminAsync(server, root);

        // A change that keeps them an enabled admin is not a last-admin matter.
        await HttpAssert.JsonAsync(await PatchAsync(server, root, new { name = "Root", disabled = false }), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ADisabledAdmin_DoesNotCountAsAnAdmin_SoTheLastEnabledOneIsKept()
    {
        await using var server = await TandemServer.StartAsync();
        var root = await server.CreateMemberAsync("root@example.com", ["admin"]);
        var spare = await server.CreateMemberAsync("spare@example.com", ["admin"]);

        // Two enabled admins: one of them may be disabled.
        var disabled = await HttpAssert.JsonAsync(await PatchAsync(server, spare, new { disabled = true }), HttpStatusCode.OK);
        Assert.True(disabled.GetProperty("disabled").GetBoolean());

        // The spare still holds the admin role, but cannot use it: root is the last active admin.
        await HttpAssert.ProblemAsync(await PatchAsync(server, root, new { disabled = true }), HttpStatusCode.Conflict, "last_admin");
        await HttpAssert.ProblemAsync(await PatchAsync(server, root, new { roles = new[] { "it_steward" } }), HttpStatusCode.Conflict, "last_admin");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/members/{root}")), HttpStatusCode.Conflict, "last_admin");
        await AssertStillAnEnabledAdminAsync(server, root);

        // Enabled again, the spare is an admin again, and root may step down.
        await HttpAssert.JsonAsync(await PatchAsync(server, spare, new { disabled = false }), HttpStatusCode.OK);
        var demoted = await HttpAssert.JsonAsync(await PatchAsync(server, root, new { roles = new[] { "it_steward" } }), HttpStatusCode.OK);
        Assert.Equal(["it_steward"], demoted.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        await AssertStillAnEnabledAdminAsync(server, spare);
    }
}
