using System.Net;
using System.Net.Http.Json;
using System.Text;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>What the sign-in endpoint answers an attacker, and what it leaves in the audit log and the metrics.</summary>
/// <remarks>Reads /metrics, which every test server's meters of the same name feed: runs with the other metrics tests, alone.</remarks>
[Collection(nameof(Collect.MetricsTests))]
public sealed class SignInEndpointTests
{
    private const string Password = "correct horse battery";

    [Fact]
    public async Task DisabledMember_RightPassword_Gets401LikeAWrongPassword()
    {
        await using var server = await TandemServer.StartAsync();
        var id = await server.CreateMemberAsync("ada@example.com", [Roles.Marketer], Password);
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{id}", new { disabled = true })), HttpStatusCode.OK);
        using var browser = FromAddress.Client(server.BaseAddress, "127.0.0.11");

        var right = await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }),
            HttpStatusCode.Unauthorized, "invalid_credentials");
        var wrong = await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "not the password" }),
            HttpStatusCode.Unauthorized, "invalid_credentials");
        foreach (var field in new[] { "title", "detail", "field" })
        {
            Assert.Equal(wrong.GetProperty(field).GetString(), right.GetProperty(field).GetString());
        }
    }

    public static TheoryData<string> NotJson => new() { "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" };

    [Theory]
    [MemberData(nameof(NotJson))]
    public async Task SignIn_WithoutAJsonContentType_Is415_AndSignsNoOneIn(string contentType)
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", [Roles.Marketer], Password);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"email":"ada@example.com","password":"{{Password}}"}"""));
        if (contentType.Length > 0)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await server.Http.PostAsync(server.Url("/api/v1/session"), content);
        await HttpAssert.ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task SignIn_WithJsonCharset_Works()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", [Roles.Marketer], Password);
        var content = new StringContent($$"""{"email":"ada@example.com","password":"{{Password}}"}""", Encoding.UTF8, "application/json");
        await HttpAssert.JsonAsync(await server.Http.PostAsync(server.Url("/api/v1/session"), content), HttpStatusCode.OK);
    }

    [Fact]
    public async Task LockedSignIns_AreNotAuditedOneByOne_AndAreCountedInTheMetric()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", [Roles.Marketer], Password);
        using var guesser = FromAddress.Client(server.BaseAddress, "127.0.0.12");
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns + 10; i++)
        {
            using var _ = await guesser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "guess " + i });
        }

        var failed = (await server.AdminGetAsync("/api/v1/audit?action=session.sign_in_failed&limit=500")).GetProperty("records");
        var locked = (await server.AdminGetAsync("/api/v1/audit?action=session.locked_out&limit=500")).GetProperty("records");
        Assert.Equal(MemberRegistry.MaxFailedSignIns - 1, failed.GetArrayLength());
        Assert.Equal(1, locked.GetArrayLength());
        Assert.Contains("127.0.0.12", locked[0].GetProperty("detail").GetString(), StringComparison.Ordinal);

        // At least: servers of other tests in this process may add to a meter of the same name.
        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        var counted = System.Text.RegularExpressions.Regex.Match(metrics, @"tandem_trust_throttled_total\{[^}]*kind=""account_locked""[^}]*\} (\d+)");
        Assert.True(counted.Success && long.Parse(counted.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 11, metrics);
    }
}
