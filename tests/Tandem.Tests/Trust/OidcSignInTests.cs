using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// OIDC sign-in against a real OpenID provider (OpenIddict on a loopback port): a browser with a cookie
/// jar follows the redirects from Tandem to the provider and back, as a person's browser would.
/// </summary>
public sealed class OidcSignInTests
{
    internal const string SignInPath = "/api/v1/session/oidc?returnUrl=/api/v1/session";

    [Fact]
    public async Task SignIn_AnActiveMember_GetsAConsoleSession_LikeAPasswordSignIn()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        // A decoy, the first member and an admin: signing in as anyone but Ada would show.
        await server.CreateMemberAsync("grace@example.com", ["admin"]);
        var id = await server.CreateMemberAsync("ada@example.com", ["it_steward"]);
        await ConfigureAsync(server, provider);
        provider.User = new ProviderUser("Ada@Example.com");

        using var browser = Browser(server);
        // Redirected to the provider, back to the callback, then to the return URL: GET /api/v1/session.
        var session = await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
        Assert.Equal("member:" + id, session.GetProperty("caller").GetString());
        Assert.Equal("ada@example.com", session.GetProperty("member").GetProperty("email").GetString());
        Assert.Equal(["it_steward"], session.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        var csrf = session.GetProperty("csrfToken").GetString()!;

        // The same session as a password sign-in: changes need the CSRF token, sign-out ends it.
        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/sources", new { name = "Forged" }), HttpStatusCode.Forbidden, "csrf_token_missing");
        using var change = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sources") { Content = JsonContent.Create(new { name = "Website" }) };
        change.Headers.Add("X-CSRF-Token", csrf);
        await HttpAssert.JsonAsync(await browser.SendAsync(change), HttpStatusCode.Created);

        // The handler's own sign-out paths are not Tandem's: a cross-site GET of them changes nothing.
        foreach (var path in new[] { "/signout-oidc", "/signout-callback-oidc" })
        {
            await HttpAssert.ProblemAsync(await browser.GetAsync(path), HttpStatusCode.NotFound, "no_route");
        }

        await HttpAssert.JsonAsync(await browser.GetAsync("/api/v1/session"), HttpStatusCode.OK);
        var signIn = Assert.Single(await AuditAsync(server, "session.sign_in"));
        Assert.Equal("member:" + id, signIn.GetProperty("actor").GetString());
        Assert.Contains("OIDC via " + provider.Authority, signIn.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/session");
        signOut.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(signOut)).StatusCode);
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/session"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    public static TheoryData<string, bool?, string> Refusals => new()
    {
        { "eve@example.com", true, "unknown_member" },
        { "ada@example.com", false, "email_not_verified" },
        { "ada@elsewhere.org", true, "email_domain_not_allowed" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task SignIn_ThatCannotBeMappedToAMember_IsRefused_Audited_AndSignsNoOneIn(string email, bool? verified, string reason)
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("ada@example.com", ["admin"]);
        await server.CreateMemberAsync("ada@elsewhere.org", ["admin"]);
        await ConfigureAsync(server, provider, domains: ["example.com"]);
        provider.User = new ProviderUser(email, verified);

        using var browser = Browser(server);
        await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.Forbidden, reason);
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/session"), HttpStatusCode.Unauthorized, "unauthorized");

        var refused = Assert.Single(await AuditAsync(server, "session.oidc_refused"));
        // A keyed hash of the email the provider sent: it may be anyone's, so the log never keeps it.
        Assert.Equal(server.Services.GetRequiredService<AuditLog>().SignInTarget(email), refused.GetProperty("target").GetString());
        Assert.DoesNotContain(email, refused.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith(reason + ": issuer " + provider.Authority, refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await AuditAsync(server, "session.sign_in"));
    }

    [Fact]
    public async Task SignIn_WithoutAnEmailVerifiedClaim_IsRefused_UnlessTheAdminTrustsUnverifiedEmailsOfListedDomains()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("grace@example.com", ["admin"]);
        var ada = await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        provider.User = new ProviderUser("ada@example.com", EmailVerified: null);

        // Listing domains alone is not enough: a multi-tenant provider lets anyone claim any address in them.
        foreach (var domains in new[] { null, new[] { "example.com" } })
        {
            await ConfigureAsync(server, provider, domains: domains);
            using var browser = Browser(server);
            var problem = await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.Forbidden, "email_not_verified");
            Assert.Contains("trustUnverifiedEmail", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var configured = await ConfigureAsync(server, provider, domains: ["example.com"], trustUnverifiedEmail: true);
        Assert.True(configured.GetProperty("trustUnverifiedEmail").GetBoolean());
        using (var trusted = Browser(server))
        {
            await trusted.GetAsync(SignInPath);
            await AssertSignedInAsAsync(trusted, ada, "ada@example.com", ["marketer"]);
        }

        // A provider that says outright the address is not verified is never trusted.
        provider.User = new ProviderUser("ada@example.com", EmailVerified: false);
        using var refused = Browser(server);
        await HttpAssert.ProblemAsync(await refused.GetAsync(SignInPath), HttpStatusCode.Forbidden, "email_not_verified");
    }

    [Fact]
    public async Task TrustUnverifiedEmail_WithoutDomains_Is400()
    {
        await using var server = await StartTandemAsync();
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/auth/oidc",
            new { authority = "https://login.example.com", clientId = "c", trustUnverifiedEmail = true })), HttpStatusCode.BadRequest, "email_domains_required");
        Assert.Equal("allowedEmailDomains", problem.GetProperty("field").GetString());
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");
    }

    [Fact]
    public async Task SignIn_ADisabledMember_IsRefused_EvenThoughTheProviderVouchesForThem()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        var id = await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{id}", new { disabled = true })), HttpStatusCode.OK);
        await ConfigureAsync(server, provider);

        using var browser = Browser(server);
        await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.Forbidden, "member_disabled");
        Assert.Equal("member:" + id, Assert.Single(await AuditAsync(server, "session.oidc_refused")).GetProperty("target").GetString());
    }

    [Fact]
    public async Task SignIn_OfAMemberLockedOutOfPasswords_Works_LockoutIsForGuessedPasswords()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("grace@example.com", ["admin"]);
        var ada = await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        await ConfigureAsync(server, provider);
        using var browser = Browser(server);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            using var _ = await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "wrong password " + i });
        }

        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "correct horse battery" }),
            HttpStatusCode.TooManyRequests, "account_locked");
        await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
        await AssertSignedInAsAsync(browser, ada, "ada@example.com", ["marketer"]);
    }

    public static TheoryData<string> Vouched => ["grace@example.com", "ada@example.com", "bob@example.org"];

    [Theory]
    [MemberData(nameof(Vouched))]
    public async Task SignIn_IsAsTheMemberTheProviderVouchedFor_WhoeverCameFirst(string email)
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        var members = new Dictionary<string, (string Id, string Role)>
        {
            ["grace@example.com"] = (await server.CreateMemberAsync("grace@example.com", ["admin"]), "admin"),
            ["ada@example.com"] = (await server.CreateMemberAsync("ada@example.com", ["it_steward"]), "it_steward"),
            ["bob@example.org"] = (await server.CreateMemberAsync("bob@example.org", ["viewer"]), "viewer"),
        };
        await ConfigureAsync(server, provider);
        provider.User = new ProviderUser(email);

        using var browser = Browser(server);
        await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
        var (id, role) = members[email];
        await AssertSignedInAsAsync(browser, id, email, [role]);
        Assert.Equal("member:" + id, Assert.Single(await AuditAsync(server, "session.sign_in")).GetProperty("actor").GetString());
    }

    /// <summary>GET /api/v1/session with the browser's cookie: the caller, the member and the roles are the one member's.</summary>
    private static async Task AssertSignedInAsAsync(HttpClient browser, string memberId, string email, string[] roles)
    {
        var session = await HttpAssert.JsonAsync(await browser.GetAsync("/api/v1/session"), HttpStatusCode.OK);
        Assert.Equal("member:" + memberId, session.GetProperty("caller").GetString());
        Assert.Equal(memberId, session.GetProperty("member").GetProperty("id").GetString());
        Assert.Equal(email, session.GetProperty("member").GetProperty("email").GetString());
        Assert.Equal(roles, session.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task SignIn_WithoutAnEmailClaim_IsRefused()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await ConfigureAsync(server, provider);
        provider.User = new ProviderUser(Email: null);

        using var browser = Browser(server);
        await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.Forbidden, "email_missing");
    }

    [Fact]
    public async Task Callback_ForgedStateOrCode_IsRefusedClearly_AndTheServerKeepsServing()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("ada@example.com", ["admin"]);
        await ConfigureAsync(server, provider);

        // Not started here: no state, a made-up one, or one with a code but no correlation cookie.
        using var stranger = Browser(server);
        await HttpAssert.ProblemAsync(await stranger.GetAsync("/api/v1/session/oidc/callback"), HttpStatusCode.BadRequest, "oidc_state_invalid");
        await HttpAssert.ProblemAsync(await stranger.GetAsync("/api/v1/session/oidc/callback?code=abc&state=forged"), HttpStatusCode.BadRequest, "oidc_state_invalid");

        // Started here (a genuine state and its cookies), but the answer is altered on its way back.
        using var browser = Browser(server, followRedirects: false);
        using var start = await browser.GetAsync(SignInPath);
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var authorize = start.Headers.Location!;
        Assert.StartsWith(provider.Authority, authorize.ToString(), StringComparison.Ordinal);
        var query = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("code", query["response_type"]);
        var state = Uri.EscapeDataString(query["state"]!);

        await HttpAssert.ProblemAsync(await browser.GetAsync($"/api/v1/session/oidc/callback?state={state}"), HttpStatusCode.BadRequest, "oidc_failed");
        using var again = await browser.GetAsync(SignInPath);
        var freshState = Uri.EscapeDataString(System.Web.HttpUtility.ParseQueryString(again.Headers.Location!.Query)["state"]!);
        await HttpAssert.ProblemAsync(await browser.GetAsync($"/api/v1/session/oidc/callback?code=forged-code&state={freshState}"), HttpStatusCode.BadRequest, "oidc_failed");
        await HttpAssert.ProblemAsync(await stranger.GetAsync($"/api/v1/session/oidc/callback?code=forged-code&state={freshState}"), HttpStatusCode.BadRequest, "oidc_correlation_failed");
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/session"), HttpStatusCode.Unauthorized, "unauthorized");

        // The provider says no: an error instead of a code.
        using var denied = await browser.GetAsync(SignInPath);
        var deniedState = Uri.EscapeDataString(System.Web.HttpUtility.ParseQueryString(denied.Headers.Location!.Query)["state"]!);
        await HttpAssert.ProblemAsync(await browser.GetAsync($"/api/v1/session/oidc/callback?error=access_denied&state={deniedState}"), HttpStatusCode.BadRequest, "oidc_failed");

        // A real sign-in still works afterwards.
        using var person = Browser(server);
        await HttpAssert.JsonAsync(await person.GetAsync(SignInPath), HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_WhenNotConfigured_OrWithAReturnUrlElsewhere_AnswersAProblem()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        using var browser = Browser(server, followRedirects: false);
        await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.NotFound, "oidc_not_configured");
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/session/oidc/callback?code=a&state=b"), HttpStatusCode.NotFound, "oidc_not_configured");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");

        await ConfigureAsync(server, provider);
        foreach (var elsewhere in new[] { "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)" })
        {
            var problem = await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/session/oidc?returnUrl=" + Uri.EscapeDataString(elsewhere)),
                HttpStatusCode.BadRequest, "invalid_return_url");
            Assert.Equal("returnUrl", problem.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task Start_WithAProviderThatCannotBeReached_Answers502()
    {
        await using var server = await StartTandemAsync();
        string unreachable;
        await using (var gone = await OpenIdProvider.StartAsync())
        {
            unreachable = gone.Authority;
        }

        await ConfigureAsync(server, authority: unreachable);
        using var browser = Browser(server, followRedirects: false);
        await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.BadGateway, "oidc_provider_unreachable");
    }

    [Fact]
    public async Task Reconfigure_TakesEffectAtOnce_WithoutARestart()
    {
        await using var first = await OpenIdProvider.StartAsync();
        await using var second = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        await server.CreateMemberAsync("bob@example.org", ["viewer"]);
        await ConfigureAsync(server, first);
        using (var browser = Browser(server))
        {
            Assert.Equal("ada@example.com", (await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK)).GetProperty("member").GetProperty("email").GetString());
        }

        // Another provider and a domain rule: both in force for the next sign-in.
        second.User = new ProviderUser("bob@example.org");
        await ConfigureAsync(server, second, domains: ["example.org"]);
        using (var browser = Browser(server, followRedirects: false))
        {
            using var start = await browser.GetAsync(SignInPath);
            Assert.StartsWith(second.Authority, start.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        using (var browser = Browser(server))
        {
            var session = await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
            Assert.Equal(["viewer"], session.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        }

        Assert.Contains("OIDC via " + second.Authority, (await AuditAsync(server, "session.sign_in"))[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        first.User = new ProviderUser("ada@example.com");
        second.User = new ProviderUser("ada@example.com");
        using (var browser = Browser(server))
        {
            await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.Forbidden, "email_domain_not_allowed");
        }

        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/auth/oidc"))).StatusCode);
        using (var browser = Browser(server))
        {
            await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.NotFound, "oidc_not_configured");
        }
    }

    [Fact]
    public async Task SignIn_WithAWrongClientSecret_Fails_AndAFixedOneWorks()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        await ConfigureAsync(server, provider, secret: "not-the-provider-secret-at-all");
        using (var browser = Browser(server))
        {
            await HttpAssert.ProblemAsync(await browser.GetAsync(SignInPath), HttpStatusCode.BadRequest, "oidc_failed");
        }

        await ConfigureAsync(server, provider);
        using (var browser = Browser(server))
        {
            await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
        }
    }

    /// <summary>
    /// Tandem's fake clock starts at the real time: the provider's tokens and the browser's cookie jar
    /// run on real time, and the sign-in cookies Tandem sets must not be already expired there.
    /// </summary>
    internal static Task<TandemServer> StartTandemAsync() => TandemServer.StartAsync(clock: new FakeTimeProvider(TimeProvider.System.GetUtcNow()));

    internal static async Task<JsonElement> ConfigureAsync(TandemServer server, OpenIdProvider? provider = null, string[]? domains = null,
        string? authority = null, string secret = OpenIdProvider.ClientSecret, bool trustUnverifiedEmail = false)
    {
        if (provider is not null)
        {
            provider.RegisteredRedirectUri = new Uri(server.BaseAddress, "/api/v1/session/oidc/callback").ToString();
        }

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/auth/oidc", new
        {
            authority = authority ?? provider!.Authority,
            clientId = OpenIdProvider.ClientId,
            clientSecret = secret,
            displayName = "Test provider",
            allowedEmailDomains = domains,
            trustUnverifiedEmail,
        }));
        return await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
    }

    internal static async Task<List<JsonElement>> AuditAsync(TandemServer server, string action) =>
        [.. (await server.AdminGetAsync("/api/v1/audit?action=" + action)).GetProperty("records").EnumerateArray()];

    internal static HttpClient Browser(TandemServer server, bool followRedirects = true) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = followRedirects }) { BaseAddress = server.BaseAddress };
}
