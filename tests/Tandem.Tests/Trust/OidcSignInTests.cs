using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Storage;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// OIDC sign-in against a real OpenID provider (OpenIddict on a loopback port): a browser with a cookie
/// jar follows the redirects from Tandem to the provider and back, as a person's browser would.
/// </summary>
public sealed class OidcSignInTests
{
    private const string SignInPath = "/api/v1/session/oidc?returnUrl=/api/v1/session";

    [Fact]
    public async Task SignIn_AnActiveMember_GetsAConsoleSession_LikeAPasswordSignIn()
    {
        await using var provider = await OpenIdProvider.StartAsync();
        await using var server = await StartTandemAsync();
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
        await server.CreateMemberAsync("ada@example.com", ["admin"]);
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
            Assert.Equal(HttpStatusCode.OK, (await trusted.GetAsync("/api/v1/session")).StatusCode);
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
        await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        await ConfigureAsync(server, provider);
        using var browser = Browser(server);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            using var _ = await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "wrong password " + i });
        }

        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "correct horse battery" }),
            HttpStatusCode.TooManyRequests, "account_locked");
        var session = await HttpAssert.JsonAsync(await browser.GetAsync(SignInPath), HttpStatusCode.OK);
        Assert.Equal("ada@example.com", session.GetProperty("member").GetProperty("email").GetString());
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

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { """{"clientId":"c"}""", "invalid_authority", "authority" },
        { """{"authority":"login.example.com","clientId":"c"}""", "invalid_authority", "authority" },
        { """{"authority":"http://login.example.com","clientId":"c"}""", "invalid_authority", "authority" },
        { """{"authority":"ftp://127.0.0.1/","clientId":"c"}""", "invalid_authority", "authority" },
        { """{"authority":"https://login.example.com/?tenant=1","clientId":"c"}""", "invalid_authority", "authority" },
        { """{"authority":"https://login.example.com"}""", "invalid_client_id", "clientId" },
        { """{"authority":"https://login.example.com","clientId":"  "}""", "invalid_client_id", "clientId" },
        { """{"authority":"https://login.example.com","clientId":"c","clientSecret":""}""", "invalid_client_secret", "clientSecret" },
        { """{"authority":"https://login.example.com","clientId":"c","scopes":["openid","two words"]}""", "invalid_scope", "scopes[1]" },
        { """{"authority":"https://login.example.com","clientId":"c","emailClaim":" "}""", "invalid_email_claim", "emailClaim" },
        { """{"authority":"https://login.example.com","clientId":"c","displayName":""}""", "invalid_display_name", "displayName" },
        { """{"authority":"https://login.example.com","clientId":"c","allowedEmailDomains":["example.com","not a domain"]}""", "invalid_email_domain", "allowedEmailDomains[1]" },
        { """{"authority":"https://login.example.com","clientId":"c","allowedEmailDomains":"example.com"}""", "invalid_json", "allowedEmailDomains" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Configure_BadInput_AnswersAProblemNamingTheField_AndChangesNothing(string body, string reason, string field)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Put, "/api/v1/auth/oidc");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, reason);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");
        Assert.Empty(await AuditAsync(server, "oidc.*"));
    }

    [Fact]
    public async Task Configure_NeverShowsOrStoresTheSecretInClear_AndAuditsEveryChange()
    {
        await using var server = await TandemServer.StartAsync();
        var put = await ConfigureAsync(server, authority: "https://login.example.com/realms/acme");
        var got = await server.AdminGetAsync("/api/v1/auth/oidc");
        foreach (var view in new[] { put, got })
        {
            Assert.DoesNotContain(OpenIdProvider.ClientSecret, view.GetRawText(), StringComparison.Ordinal);
            Assert.True(view.GetProperty("clientSecretSet").GetBoolean());
            Assert.Equal(OpenIdProvider.ClientSecret[^4..], view.GetProperty("clientSecretEnd").GetString());
            Assert.Equal(["openid", "profile", "email"], view.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
            Assert.Equal("email", view.GetProperty("emailClaim").GetString());
            Assert.Equal(new Uri(server.BaseAddress, "/api/v1/session/oidc/callback").ToString(), view.GetProperty("callbackUrl").GetString());
        }

        var stored = server.Services.GetRequiredService<ControlStore>().Setting(OidcConfiguration.SettingKey)!;
        Assert.Contains("login.example.com", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(OpenIdProvider.ClientSecret, stored, StringComparison.Ordinal);

        // A change without a secret keeps the stored one; then removal.
        var changed = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/auth/oidc",
            new { authority = "https://login.example.com/realms/acme", clientId = "console-2", scopes = new[] { "email" }, displayName = "Acme SSO" })), HttpStatusCode.OK);
        Assert.True(changed.GetProperty("clientSecretSet").GetBoolean());
        Assert.Equal(["openid", "email"], changed.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/auth/oidc"))).StatusCode);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");

        var records = await AuditAsync(server, "oidc.*");
        Assert.Equal(["oidc.remove", "oidc.configure", "oidc.configure"], records.Select(r => r.GetProperty("action").GetString()));
        Assert.All(records, r => Assert.DoesNotContain(OpenIdProvider.ClientSecret[^4..], r.GetRawText(), StringComparison.Ordinal));
        var first = records[2];
        Assert.Equal(JsonValueKind.Null, first.GetProperty("before").ValueKind);
        Assert.Equal("tandem-console", first.GetProperty("after").GetProperty("clientId").GetString());
        Assert.Equal("client secret set", first.GetProperty("detail").GetString());
        Assert.Equal("console-2", records[1].GetProperty("after").GetProperty("clientId").GetString());
        Assert.Equal("client secret kept", records[1].GetProperty("detail").GetString());
        Assert.Equal(JsonValueKind.Null, records[0].GetProperty("after").ValueKind);
        Assert.All(records, r => Assert.Equal("auth:oidc", r.GetProperty("target").GetString()));

        await server.RestartAsync();
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");
    }

    [Fact]
    public async Task Configure_NeedsEveryScope_SinceTheProviderCanVouchForAnAdmin()
    {
        await using var server = await TandemServer.StartAsync();
        var (_, membersWrite) = await server.CreateTokenAsync([Scopes.MembersWrite]);
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + membersWrite, HttpMethod.Put, "/api/v1/auth/oidc",
            new { authority = "https://login.example.com", clientId = "c" })), HttpStatusCode.Forbidden, "role_not_held");
        Assert.Equal(["*"], problem.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");

        var (viewer, _) = await server.MemberTokenAsync("viewer@example.com", Roles.Viewer);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(viewer, HttpMethod.Get, "/api/v1/auth/oidc")), HttpStatusCode.Forbidden, "missing_scope");
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
    private static Task<TandemServer> StartTandemAsync() => TandemServer.StartAsync(clock: new FakeTimeProvider(TimeProvider.System.GetUtcNow()));

    private static async Task<JsonElement> ConfigureAsync(TandemServer server, OpenIdProvider? provider = null, string[]? domains = null,
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

    private static async Task<List<JsonElement>> AuditAsync(TandemServer server, string action) =>
        [.. (await server.AdminGetAsync("/api/v1/audit?action=" + action)).GetProperty("records").EnumerateArray()];

    private static HttpClient Browser(TandemServer server, bool followRedirects = true) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = followRedirects }) { BaseAddress = server.BaseAddress };
}
