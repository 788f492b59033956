using System.Net;
using System.Text.RegularExpressions;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Trust;

public sealed partial class TrustCliTests
{
    [Fact]
    public async Task MembersAndTokens_AddListRevoke_WorkAgainstARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];

        var added = await RunAsync(["members", "add", "ada@example.com", "Ada", "marketer,analyst", .. connection]);
        Assert.True(added.Code == 0, added.Error);
        var password = InitialPassword().Match(added.Output).Groups[1].Value;
        Assert.True(password.Length >= 12, added.Output);
        var id = MemberId().Match(added.Output).Value;

        var roles = await RunAsync(["members", "roles", id, "viewer", .. connection]);
        Assert.True(roles.Code == 0, roles.Error);
        Assert.Contains("viewer", (await RunAsync(["members", "list", .. connection])).Output, StringComparison.Ordinal);
        var badRole = await RunAsync(["members", "roles", id, "wizard", .. connection]);
        Assert.Equal(1, badRole.Code);
        Assert.Contains("wizard", badRole.Error, StringComparison.Ordinal);

        var created = await RunAsync(["tokens", "create", "website", "profiles:read", .. connection]);
        Assert.True(created.Code == 0, created.Error);
        var secret = Secret().Match(created.Output).Value;
        var tokenId = TokenId().Match(created.Output).Value;
        // Let in (no such profile yet, so 404), where a missing or wrong token would be 401 or 403.
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/v1/profiles/user_id:x/traits")), HttpStatusCode.NotFound, "profile_not_found");
        Assert.DoesNotContain(secret, (await RunAsync(["tokens", "list", .. connection])).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(["tokens", "revoke", tokenId, .. connection])).Code);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/v1/profiles/user_id:x/traits")), HttpStatusCode.Unauthorized, "token_revoked");
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [GeneratedRegex(@"initial password \(shown once\): (\S+)")]
    private static partial Regex InitialPassword();

    [GeneratedRegex(@"mbr_[0-9a-f]{12}")]
    private static partial Regex MemberId();

    [GeneratedRegex(@"tdm_[0-9a-f]{40}")]
    private static partial Regex Secret();

    [GeneratedRegex(@"tok_[0-9a-f]{12}")]
    private static partial Regex TokenId();
}
