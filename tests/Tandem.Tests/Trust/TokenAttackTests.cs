using System.Net;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Guessing API tokens, and choosing a weak admin token.</summary>
/// <remarks>Reads /metrics, which every test server's meters of the same name feed: runs with the other metrics tests, alone.</remarks>
[Collection(nameof(Collect.MetricsTests))]
public sealed class TokenAttackTests
{
    [Fact]
    public async Task BadTokens_TwentyFromOneAddress_StopIt_EvenForTheRightToken_AuditedOnce()
    {
        await using var server = await TandemServer.StartAsync();
        using var guesser = FromAddress.Client(server.BaseAddress, "127.0.0.21", cookies: false);
        for (var i = 1; i < BadTokenThrottle.MaxBadTokens; i++)
        {
            await HttpAssert.ProblemAsync(await guesser.SendAsync(server.As("Bearer guess-" + i, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "invalid_token");
        }

        var stopped = await guesser.SendAsync(server.As("Bearer guess-20", HttpMethod.Get, "/api/v1/sources"));
        await HttpAssert.ProblemAsync(stopped, HttpStatusCode.TooManyRequests, "too_many_bad_tokens");
        Assert.Equal(TimeSpan.FromMinutes(15), stopped.Headers.RetryAfter?.Delta);

        // A right guess now would be refused all the same, on the Profile API too; other addresses go on.
        await HttpAssert.ProblemAsync(await guesser.SendAsync(server.As("Bearer " + TandemServer.AdminToken, HttpMethod.Get, "/api/v1/sources")),
            HttpStatusCode.TooManyRequests, "too_many_bad_tokens");
        await HttpAssert.ProblemAsync(await guesser.SendAsync(server.As("Bearer guess-21", HttpMethod.Get, "/v1/profiles/user_id:x/traits")),
            HttpStatusCode.TooManyRequests, "too_many_bad_tokens");
        var records = (await server.AdminGetAsync("/api/v1/audit?action=token.address_throttled")).GetProperty("records");
        Assert.Equal("address:127.0.0.21", Assert.Single(records.EnumerateArray()).GetProperty("target").GetString());
        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        var counted = System.Text.RegularExpressions.Regex.Match(metrics, @"tandem_trust_throttled_total\{[^}]*kind=""too_many_bad_tokens""[^}]*\} (\d+)");
        Assert.True(counted.Success && long.Parse(counted.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 3, metrics); // other servers in this process may add

        server.Clock.Advance(BadTokenThrottle.Window);
        Assert.Equal(HttpStatusCode.OK, (await guesser.SendAsync(server.As("Bearer " + TandemServer.AdminToken, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
    }

    [Fact]
    public async Task RevokedAndExpiredTokens_AreNotGuesses_AndDoNotStopTheAddress()
    {
        await using var server = await TandemServer.StartAsync();
        var (id, secret) = await server.CreateTokenAsync([Scopes.SourcesRead]);
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{id}")), HttpStatusCode.OK);
        using var dashboard = FromAddress.Client(server.BaseAddress, "127.0.0.22", cookies: false);
        for (var i = 0; i < BadTokenThrottle.MaxBadTokens + 5; i++)
        {
            await HttpAssert.ProblemAsync(await dashboard.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "token_revoked");
        }
    }

    public static TheoryData<string, string> WeakAdminTokens => new()
    {
        { "change-me", "at least 32" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "different characters" },
        { "0123456789012345678901234567890123456789", "repeats the same" },
        { "Kx7Qp2Lm9Vb4Nz8Rt3Yw6Hj1Fd5Gaaaaa", "in a row" },
    };

    [Theory]
    [MemberData(nameof(WeakAdminTokens))]
    public void WeakAdminToken_TheServerDoesNotStart_AndSaysHowToMakeOne(string token, string why)
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-weak-admin-" + Guid.NewGuid().ToString("N"));
        var refused = Assert.Throws<StartRefusedException>(() => TandemHost.Build(new TandemOptions { DataDirectory = data, Urls = "http://127.0.0.1:0", AdminToken = token }));
        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "nothing is created for a server that does not start");
    }

    [Fact]
    public void GeneratedLikeAdminTokens_Pass()
    {
        Assert.Null(AdminTokenRule.Weakness(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))));
        Assert.Null(AdminTokenRule.Weakness(TandemServer.AdminToken));
        Assert.Null(AdminTokenRule.Weakness(null));
    }
}
