using System.Net;
using System.Net.Http.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Trust;

/// <summary>
/// The attributes of the session cookie, read from the Set-Cookie header as a browser reads them:
/// docs/trust.md, "Console sign-in" (HttpOnly, SameSite=Strict) and its trusted-proxy paragraph
/// (Secure when the browser used HTTPS, as X-Forwarded-Proto from a trusted proxy says).
/// </summary>
public sealed class SessionCookieTests
{
    private const string Password = "correct horse battery";

    /// <summary>One Set-Cookie header split at its semicolons: the name, the value and the attributes by lower-cased name.</summary>
    private sealed record SetCookie(string Name, string Value, IReadOnlyDictionary<string, string?> Attributes)
    {
        public static SetCookie Parse(string header)
        {
            var parts = header.Split(';').Select(p => p.Trim()).ToArray();
            var pair = parts[0].Split('=', 2);
            var attributes = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var part in parts.Skip(1).Where(p => p.Length > 0))
            {
                var attribute = part.Split('=', 2);
                // A repeated attribute would leave a browser to pick one: refuse it here.
                Assert.True(attributes.TryAdd(attribute[0].ToLowerInvariant(), attribute.Length == 2 ? attribute[1] : null), $"'{attribute[0]}' twice in: {header}");
            }

            return new SetCookie(pair[0], pair.Length == 2 ? pair[1] : "", attributes);
        }

        public bool Has(string attribute) => Attributes.ContainsKey(attribute);

        public string? Attribute(string name) => Attributes.GetValueOrDefault(name);
    }

    private static async Task<SetCookie> SignInAsync(TandemServer server, string? forwardedProto = null)
    {
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        // No cookie jar: the header is read as it came, before any client interprets it.
        using var browser = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/session") { Content = JsonContent.Create(new { email = "ada@example.com", password = Password }) };
        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        using var response = await browser.SendAsync(request);
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        var header = Assert.Single(response.Headers.GetValues("Set-Cookie"), h => h.StartsWith("tandem_session=", StringComparison.Ordinal));
        var cookie = SetCookie.Parse(header);
        Assert.Equal("tandem_session", cookie.Name);
        Assert.NotEmpty(cookie.Value);
        return cookie;
    }

    private static void AssertConsoleCookie(SetCookie cookie)
    {
        Assert.True(cookie.Has("httponly"), "the page's scripts must not read the session: HttpOnly");
        Assert.Null(cookie.Attribute("httponly"));
        Assert.Equal("strict", cookie.Attribute("samesite")?.ToLowerInvariant());
        Assert.Equal("/", cookie.Attribute("path"));
        // No Domain: the cookie goes back to this host only, not to its sibling subdomains.
        Assert.False(cookie.Has("domain"));
    }

    [Fact]
    public async Task SignIn_OverPlainHttp_SetsAnHttpOnlyStrictCookie_WithoutSecure()
    {
        await using var server = await TandemServer.StartAsync();
        var cookie = await SignInAsync(server);

        AssertConsoleCookie(cookie);
        // A Secure cookie set over http would never come back: the console could not be used without TLS.
        Assert.False(cookie.Has("secure"));
    }

    [Fact]
    public async Task SignIn_BehindATrustedProxyOverHttps_SetsTheSameCookie_Secure()
    {
        await using var server = await TandemServer.StartAsync(trustedProxies: ["127.0.0.1"]);
        var cookie = await SignInAsync(server, forwardedProto: "https");

        AssertConsoleCookie(cookie);
        Assert.True(cookie.Has("secure"));
        Assert.Null(cookie.Attribute("secure"));
    }

    [Fact]
    public async Task SignIn_BehindATrustedProxyOverHttp_SetsTheSameCookie_WithoutSecure()
    {
        await using var server = await TandemServer.StartAsync(trustedProxies: ["127.0.0.1"]);
        var cookie = await SignInAsync(server, forwardedProto: "http");

        AssertConsoleCookie(cookie);
        Assert.False(cookie.Has("secure"));
    }

    [Fact]
    public async Task SignIn_WithXForwardedProtoFromAnUntrustedCaller_IsNotSecure()
    {
        // Without --trusted-proxy nothing is believed, loopback included (docs/trust.md).
        await using var server = await TandemServer.StartAsync();
        var cookie = await SignInAsync(server, forwardedProto: "https");

        AssertConsoleCookie(cookie);
        Assert.False(cookie.Has("secure"));
    }
}
