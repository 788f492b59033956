using System.Net;
using System.Net.Http.Json;
using System.Text;
using Tandem.Cli;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// Behind a reverse proxy named with <c>--trusted-proxy</c>, the caller's address and scheme are the
/// client's (from X-Forwarded-For and X-Forwarded-Proto); from anyone else those headers are ignored.
/// </summary>
public sealed class TrustedProxyTests
{
    private const string Password = "correct horse battery";

    private static HttpRequestMessage SignIn(string password, string? forwardedFor, string? forwardedProto = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/session") { Content = JsonContent.Create(new { email = "ada@example.com", password }) };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        return request;
    }

    private static async Task<List<string>> AuditDetailsAsync(TandemServer server, string action) =>
        [.. (await server.AdminGetAsync("/api/v1/audit?action=" + action)).GetProperty("records").EnumerateArray()
            .Select(r => r.GetProperty("detail").GetString()!)];

    [Fact]
    public async Task BehindATrustedProxy_ClientsAreTold_ApartByTheirOwnAddress_AndTheCookieIsSecureOverHttps()
    {
        await using var server = await TandemServer.StartAsync(trustedProxies: ["127.0.0.1"]);
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var proxy = new HttpClient { BaseAddress = server.BaseAddress };

        // A guesser behind the proxy locks only their own address out of the account.
        for (var i = 1; i <= MemberRegistry.MaxFailedSignIns; i++)
        {
            using var _ = await proxy.SendAsync(SignIn("guess " + i, "203.0.113.7"));
        }

        await HttpAssert.ProblemAsync(await proxy.SendAsync(SignIn(Password, "203.0.113.7")), HttpStatusCode.TooManyRequests, "account_locked");
        using var signedIn = await proxy.SendAsync(SignIn(Password, "198.51.100.2", "https"));
        await HttpAssert.JsonAsync(signedIn, HttpStatusCode.OK);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("tandem", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);

        Assert.All(await AuditDetailsAsync(server, "session.sign_in_failed"), d => Assert.EndsWith("from 203.0.113.7", d, StringComparison.Ordinal));
        Assert.EndsWith("from 198.51.100.2", Assert.Single(await AuditDetailsAsync(server, "session.sign_in")), StringComparison.Ordinal);

        // A browser's event through the proxy carries the browser's address, not the proxy's.
        using var track = new HttpRequestMessage(HttpMethod.Post, "/v1/track")
        {
            Content = new StringContent("""{"anonymousId":"a","event":"Viewed","messageId":"m-1"}""", Encoding.UTF8, "text/plain"),
        };
        track.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        track.Headers.Add("Origin", "http://shop.example");
        track.Headers.Add("X-Forwarded-For", "203.0.113.50");
        await HttpAssert.JsonAsync(await proxy.SendAsync(track), HttpStatusCode.OK);
        Assert.Equal("203.0.113.50", Assert.Single(await server.StoredEventsAsync()).GetProperty("context").GetProperty("ip").GetString());
    }

    [Fact]
    public async Task ForwardedHeaders_FromAnUntrustedCaller_AreIgnored()
    {
        await using var server = await TandemServer.StartAsync(trustedProxies: ["127.0.0.1"]);
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var stranger = FromAddress.Client(server.BaseAddress, "127.0.0.3", cookies: false);

        using var signedIn = await stranger.SendAsync(SignIn(Password, "198.51.100.2", "https"));
        await HttpAssert.JsonAsync(signedIn, HttpStatusCode.OK);
        Assert.DoesNotContain("secure", Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("tandem", StringComparison.OrdinalIgnoreCase)),
            StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("from 127.0.0.3", Assert.Single(await AuditDetailsAsync(server, "session.sign_in")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutATrustedProxy_ForwardedHeadersAreIgnored_EvenFromLoopback()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        await HttpAssert.JsonAsync(await client.SendAsync(SignIn(Password, "198.51.100.2")), HttpStatusCode.OK);
        Assert.EndsWith("from 127.0.0.1", Assert.Single(await AuditDetailsAsync(server, "session.sign_in")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithATrustedProxyThatIsNotAnAddress_SaysSoAndDoesNotStart()
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-proxy-" + Guid.NewGuid().ToString("N"));
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(["serve", "--data", data, "--urls", "http://127.0.0.1:0", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "proxy.internal"], output, error);
        Assert.Equal(2, code);
        Assert.Contains("'proxy.internal' is neither an IP address", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "nothing is created for a server that does not start");
        Assert.Throws<ArgumentException>(() => TandemHost.Build(new TandemOptions { DataDirectory = data, TrustedProxies = ["10.0.0.300"] }));
    }
}
