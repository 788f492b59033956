using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

public sealed class TrustApiTests
{
    private const string Password = "correct horse battery";

    [Fact]
    public async Task CreateMember_WithoutPassword_ShowsAGeneratedOneOnce_ThatSignsIn()
    {
        await using var server = await TandemServer.StartAsync();
        var created = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/members",
            new { email = "ada@example.com", name = "Ada", roles = new[] { "marketer", "analyst" } })), HttpStatusCode.Created);
        var initial = created.GetProperty("initialPassword").GetString()!;
        Assert.True(initial.Length >= 12);
        Assert.Equal(["marketer", "analyst"], created.GetProperty("member").GetProperty("roles").EnumerateArray().Select(r => r.GetString()));

        var listed = await server.AdminGetAsync("/api/v1/members");
        Assert.DoesNotContain("initialPassword", listed.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(initial, listed.GetRawText(), StringComparison.Ordinal);

        using var browser = Browser(server);
        var session = await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ADA@example.com", password = initial }), HttpStatusCode.OK);
        Assert.Contains(Scopes.TraitsWrite, session.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
    }

    public static TheoryData<string, string, string> BadMembers => new()
    {
        { """{"name":"Ada","roles":["marketer"]}""", "invalid_email", "email" },
        { """{"email":"not an email","name":"Ada","roles":["marketer"]}""", "invalid_email", "email" },
        { """{"email":"ada@example.com","roles":["marketer"]}""", "invalid_name", "name" },
        { """{"email":"ada@example.com","name":"Ada"}""", "roles_required", "roles" },
        { """{"email":"ada@example.com","name":"Ada","roles":["marketer","wizard"]}""", "unknown_role", "roles[1]" },
        { """{"email":"ada@example.com","name":"Ada","roles":["marketer"],"password":"short"}""", "weak_password", "password" },
        { """{"email":"ada@example.com","name":"Ada","roles":"marketer"}""", "invalid_json", "roles" },
        { """{"email":""", "invalid_json", "email" },
        { "[1,2]", "invalid_json", "body" },
    };

    [Theory]
    [MemberData(nameof(BadMembers))]
    public async Task CreateMember_BadInput_AnswersAProblemNamingTheField_AndAddsNoOne(string body, string reason, string field)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/members");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, reason);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Empty((await server.AdminGetAsync("/api/v1/members")).EnumerateArray());
    }

    [Fact]
    public async Task CreateMember_EmailTaken_Answers409()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["viewer"]);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/members",
            new { email = "Ada@Example.com", name = "Ada again", roles = new[] { "admin" } })), HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task Session_ChangesNeedTheCsrfToken_AndSignOutEndsIt()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ops@example.com", ["it_steward"], Password);
        using var browser = Browser(server);
        var session = await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ops@example.com", password = Password }), HttpStatusCode.OK);
        var csrf = session.GetProperty("csrfToken").GetString()!;

        // Reads need only the cookie.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/v1/sources")).StatusCode);
        Assert.Equal(csrf, (await browser.GetFromJsonAsync<JsonElement>("/api/v1/session")).GetProperty("csrfToken").GetString());

        // A change with the cookie alone is what a forged cross-site request looks like.
        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/sources", new { name = "Forged" }), HttpStatusCode.Forbidden, "csrf_token_missing");
        using var wrongToken = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sources") { Content = JsonContent.Create(new { name = "Forged" }) };
        wrongToken.Headers.Add("X-CSRF-Token", (csrf[0] == '0' ? "1" : "0") + csrf[1..]); // one character off, never equal
        await HttpAssert.ProblemAsync(await browser.SendAsync(wrongToken), HttpStatusCode.Forbidden, "csrf_token_missing");

        using var withToken = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sources") { Content = JsonContent.Create(new { name = "Website" }) };
        withToken.Headers.Add("X-CSRF-Token", csrf);
        await HttpAssert.JsonAsync(await browser.SendAsync(withToken), HttpStatusCode.Created);
        Assert.Equal(2, (await server.AdminGetAsync("/api/v1/sources")).GetArrayLength());

        using var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/session");
        signOut.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(signOut)).StatusCode);
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/sources"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Session_SurvivesARestart()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ops@example.com", ["it_steward"], Password);
        using var browser = Browser(server);
        await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ops@example.com", password = Password }), HttpStatusCode.OK);

        await server.RestartAsync();
        var session = await HttpAssert.JsonAsync(await browser.GetAsync(new Uri(server.BaseAddress, "/api/v1/session")), HttpStatusCode.OK);
        Assert.Equal(["it_steward"], session.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.True(Directory.EnumerateFiles(Path.Combine(server.DataDirectory, "keys")).Any());
    }

    [Fact]
    public async Task Session_OfAMemberDisabledMeanwhile_IsRefusedAtOnce()
    {
        await using var server = await TandemServer.StartAsync();
        var id = await server.CreateMemberAsync("ops@example.com", ["it_steward"], Password);
        using var browser = Browser(server);
        await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ops@example.com", password = Password }), HttpStatusCode.OK);
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{id}", new { disabled = true })), HttpStatusCode.OK);

        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/sources"), HttpStatusCode.Unauthorized, "session_ended");
        // The right password of a disabled member reads as a wrong one: a 403 would confirm it.
        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ops@example.com", password = Password }), HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task SignIn_FiveWrongPasswords_LockTheAccountFor15Minutes_EvenForTheRightOne()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var browser = Browser(server);
        for (var i = 1; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "wrong password " + i }),
                HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        var locked = await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "wrong again" });
        await HttpAssert.ProblemAsync(locked, HttpStatusCode.TooManyRequests, "account_locked");
        Assert.Equal(TimeSpan.FromMinutes(15), locked.Headers.RetryAfter?.Delta);
        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }),
            HttpStatusCode.TooManyRequests, "account_locked");

        server.Clock.Advance(TimeSpan.FromMinutes(15));
        await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }), HttpStatusCode.OK);
    }

    [Fact]
    public async Task SignIn_WrongPasswordsFromOneAddress_LockOnlyThatAddressOut_ButTwentyFromAnyLockTheAccount()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        async Task<HttpResponseMessage> TryAsync(HttpClient browser, string password) =>
            await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password });

        // Someone at another address guesses five times: that address is locked out, Ada is not.
        using (var guesser = BrowserFrom(server, "127.0.0.2"))
        {
            for (var i = 1; i < MemberRegistry.MaxFailedSignIns; i++)
            {
                await HttpAssert.ProblemAsync(await TryAsync(guesser, "guess " + i), HttpStatusCode.Unauthorized, "invalid_credentials");
            }

            await HttpAssert.ProblemAsync(await TryAsync(guesser, "guess 5"), HttpStatusCode.TooManyRequests, "account_locked");
            await HttpAssert.ProblemAsync(await TryAsync(guesser, Password), HttpStatusCode.TooManyRequests, "account_locked");
        }

        using var ada = Browser(server);
        await HttpAssert.JsonAsync(await TryAsync(ada, Password), HttpStatusCode.OK);

        // Guesses spread over addresses still add up: the twentieth in a row locks the account for everyone.
        var failures = 0;
        for (var address = 3; failures < MemberRegistry.MaxFailedSignInsPerAccount; address++)
        {
            using var guesser = BrowserFrom(server, "127.0.0." + address);
            for (var i = 0; i < MemberRegistry.MaxFailedSignIns && failures < MemberRegistry.MaxFailedSignInsPerAccount; i++, failures++)
            {
                using var _ = await TryAsync(guesser, $"guess {address}.{i}");
            }
        }

        var locked = await TryAsync(ada, Password);
        await HttpAssert.ProblemAsync(locked, HttpStatusCode.TooManyRequests, "account_locked");
        Assert.Equal(TimeSpan.FromMinutes(15), locked.Headers.RetryAfter?.Delta);
        server.Clock.Advance(TimeSpan.FromMinutes(15));
        await HttpAssert.JsonAsync(await TryAsync(ada, Password), HttpStatusCode.OK);
    }

    [Fact]
    public async Task SignIn_OneAddressFailingAcrossManyAccounts_IsStopped_OthersAreNot()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var sprayer = BrowserFrom(server, "127.0.0.9");
        for (var i = 1; i < MemberRegistry.MaxFailedSignInsPerAddress; i++)
        {
            await HttpAssert.ProblemAsync(await sprayer.PostAsJsonAsync("/api/v1/session", new { email = $"user{i}@example.com", password = "Summer2026!" }),
                HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        var stopped = await sprayer.PostAsJsonAsync("/api/v1/session", new { email = "user20@example.com", password = "Summer2026!" });
        await HttpAssert.ProblemAsync(stopped, HttpStatusCode.TooManyRequests, "too_many_sign_in_attempts");
        Assert.Equal(TimeSpan.FromMinutes(15), stopped.Headers.RetryAfter?.Delta);

        // Even the right password is refused from there for now; from anywhere else it works.
        await HttpAssert.ProblemAsync(await sprayer.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }),
            HttpStatusCode.TooManyRequests, "too_many_sign_in_attempts");
        using var ada = Browser(server);
        await HttpAssert.JsonAsync(await ada.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }), HttpStatusCode.OK);
        var audit = (await server.AdminGetAsync("/api/v1/audit?action=session.address_throttled")).GetProperty("records");
        Assert.Contains("127.0.0.9", audit[0].GetProperty("detail").GetString(), StringComparison.Ordinal);

        server.Clock.Advance(TimeSpan.FromMinutes(15));
        await HttpAssert.JsonAsync(await sprayer.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = Password }), HttpStatusCode.OK);
    }

    [Fact]
    public async Task SignIn_UnknownEmailAndWrongPassword_ReadTheSame()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var browser = Browser(server);
        var unknown = await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "eve@example.com", password = Password }), HttpStatusCode.Unauthorized, "invalid_credentials");
        var wrong = await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "not the password" }), HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal(unknown.GetProperty("detail").GetString(), wrong.GetProperty("detail").GetString());

        // Five failures lock an unknown email just as they lock a member's, so a lockout proves nothing.
        for (var i = 1; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "eve@example.com", password = "guess " + i }),
                i < MemberRegistry.MaxFailedSignIns - 1 ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests,
                i < MemberRegistry.MaxFailedSignIns - 1 ? "invalid_credentials" : "account_locked");
        }
        await HttpAssert.ProblemAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com" }), HttpStatusCode.BadRequest, "credentials_required");
    }

    [Fact]
    public async Task SignIn_AFloodOfWrongPasswords_IsRefusedCleanly_AndTheServerKeepsServing()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var browser = Browser(server);
            using var response = await browser.PostAsJsonAsync("/api/v1/session", new { email = i % 2 == 0 ? "ada@example.com" : $"guess{i}@example.com", password = "guess " + i });
            return response.StatusCode;
        }));

        Assert.All(answers, status => Assert.True(status is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, status.ToString()));
        Assert.Contains(HttpStatusCode.TooManyRequests, answers);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/members"))).StatusCode);
    }

    [Fact]
    public async Task Token_IsShownOnce_WorksUntilRevoked_ThenSaysSo()
    {
        await using var server = await TandemServer.StartAsync();
        var (id, secret) = await server.CreateTokenAsync([Scopes.SourcesRead], name: "dashboard");
        var listed = await server.AdminGetAsync("/api/v1/tokens?owner=all");
        Assert.DoesNotContain(secret, listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("active", listed.EnumerateArray().Single(t => t.GetProperty("id").GetString() == id).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
        var revoked = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{id}")), HttpStatusCode.OK);
        Assert.Equal("revoked", revoked.GetProperty("status").GetString());
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "token_revoked");

        await server.RestartAsync();
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "token_revoked");
    }

    [Fact]
    public async Task Token_PastItsExpiry_IsRefusedWithTheReason()
    {
        await using var server = await TandemServer.StartAsync();
        var (_, secret) = await server.CreateTokenAsync([Scopes.ProfilesRead], expiresAt: server.Clock.GetUtcNow().AddDays(30));
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/profiles?search=a"))).StatusCode);

        server.Clock.Advance(TimeSpan.FromDays(30));
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/profiles?search=a")), HttpStatusCode.Unauthorized, "token_expired");
    }

    public static TheoryData<string, string, string> BadTokenRequests => new()
    {
        { """{"scopes":["sources:read"]}""", "invalid_name", "name" },
        { """{"name":"t"}""", "scopes_required", "scopes" },
        { """{"name":"t","scopes":[]}""", "scopes_required", "scopes" },
        { """{"name":"t","scopes":["sources:read","root"]}""", "unknown_scope", "scopes[1]" },
        { """{"name":"t","scopes":["sources:read"],"expiresAt":"2020-01-01T00:00:00Z"}""", "expiry_in_past", "expiresAt" },
        { """{"name":"t","scopes":["sources:read"],"expiresAt":"next week"}""", "invalid_json", "expiresAt" },
        { """{"name":"t","scopes":["sources:read"],"ownerId":"mbr_nobody"}""", "unknown_owner", "ownerId" },
    };

    [Theory]
    [MemberData(nameof(BadTokenRequests))]
    public async Task CreateToken_BadInput_AnswersAProblemNamingTheField(string body, string reason, string field)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/tokens");
        request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, reason);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Single((await server.AdminGetAsync("/api/v1/tokens")).EnumerateArray()); // the first admin token only
    }

    [Fact]
    public async Task MemberToken_NeverHoldsMoreThanItsOwner_NowOrAfterADemotion()
    {
        await using var server = await TandemServer.StartAsync();
        var id = await server.CreateMemberAsync("ops@example.com", ["it_steward"], Password);
        var (_, ownerToken) = await server.CreateTokenAsync([Scopes.TokensWrite, Scopes.SourcesWrite, Scopes.SourcesRead], ownerId: id);

        // The member hands on only what they hold.
        var beyond = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + ownerToken, HttpMethod.Post, "/api/v1/tokens",
            new { name = "ci", scopes = new[] { Scopes.SourcesRead, Scopes.MembersWrite } })), HttpStatusCode.Forbidden, "scope_not_held");
        Assert.Equal([Scopes.MembersWrite], beyond.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        var ci = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + ownerToken, HttpMethod.Post, "/api/v1/tokens",
            new { name = "ci", scopes = new[] { Scopes.SourcesWrite } })), HttpStatusCode.Created);
        Assert.Equal(id, ci.GetProperty("ownerId").GetString());
        var ciToken = "Bearer " + ci.GetProperty("token").GetString();
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As(ciToken, HttpMethod.Post, "/api/v1/sources", new { name = "CI" })), HttpStatusCode.Created);

        // Demoted to viewer: the same tokens lose sources:write at once.
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/members/{id}", new { roles = new[] { "viewer" } })), HttpStatusCode.OK);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(ciToken, HttpMethod.Post, "/api/v1/sources", new { name = "CI 2" })), HttpStatusCode.Forbidden, "missing_scope");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + ownerToken, HttpMethod.Get, "/api/v1/sources"))).StatusCode);

        // Removed: every token of theirs is revoked.
        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/members/{id}"))).StatusCode);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + ownerToken, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "token_revoked");
    }

    [Fact]
    public async Task Tokens_OfAnotherMember_AreNotTheirsToSeeOrRevoke()
    {
        await using var server = await TandemServer.StartAsync();
        var ada = await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        var bob = await server.CreateMemberAsync("bob@example.com", ["marketer"]);
        var (adaTokenId, adaToken) = await server.CreateTokenAsync([Scopes.TokensWrite], ownerId: ada);
        var (bobTokenId, _) = await server.CreateTokenAsync([Scopes.TokensWrite], ownerId: bob);

        var own = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + adaToken, HttpMethod.Get, "/api/v1/tokens")), HttpStatusCode.OK);
        Assert.Equal([adaTokenId], own.EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + adaToken, HttpMethod.Get, "/api/v1/tokens?owner=all")), HttpStatusCode.Forbidden, "missing_scope");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + adaToken, HttpMethod.Delete, $"/api/v1/tokens/{bobTokenId}")), HttpStatusCode.Forbidden, "missing_scope");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + adaToken, HttpMethod.Post, "/api/v1/tokens",
            new { name = "for bob", scopes = new[] { Scopes.TokensWrite }, ownerId = bob })), HttpStatusCode.Forbidden, "missing_scope");

        var all = await server.AdminGetAsync("/api/v1/tokens?owner=all");
        Assert.Equal(3, all.GetArrayLength());
    }

    [Fact]
    public async Task TheLastWayToAdminister_CannotBeRemoved()
    {
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{TokenRegistry.FirstAdminTokenId}")), HttpStatusCode.Conflict, "last_admin");

        var admin = await server.CreateMemberAsync("root@example.com", ["admin"], Password);
        // Made in the admin's own session: a token minted by the first admin token would be revoked with it.
        using var browser = Browser(server);
        var session = await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "root@example.com", password = Password }), HttpStatusCode.OK);
        using var mint = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tokens") { Content = JsonContent.Create(new { name = "root", scopes = new[] { Scopes.All } }) };
        mint.Headers.Add("X-CSRF-Token", session.GetProperty("csrfToken").GetString());
        var adminToken = "Bearer " + (await HttpAssert.JsonAsync(await browser.SendAsync(mint), HttpStatusCode.Created)).GetProperty("token").GetString();
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, $"/api/v1/tokens/{TokenRegistry.FirstAdminTokenId}")), HttpStatusCode.OK);

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(adminToken, HttpMethod.Patch, $"/api/v1/members/{admin}", new { roles = new[] { "viewer" } })), HttpStatusCode.Conflict, "last_admin");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(adminToken, HttpMethod.Delete, $"/api/v1/members/{admin}")), HttpStatusCode.Conflict, "last_admin");
    }

    [Fact]
    public async Task ForgedAndMalformedCredentials_AreRefusedWithClearErrors()
    {
        await using var server = await TandemServer.StartAsync();
        string[] forged = ["Bearer " + new string('a', 8_000), "Bearer tdm_" + new string('0', 40), "Basic !!!not-base64", "Bearer %C3%A9%00", "Digest x", "Bearer a b c"];
        foreach (var authorization in forged)
        {
            var problem = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As(authorization, HttpMethod.Get, "/api/v1/members")), HttpStatusCode.Unauthorized);
            Assert.Contains(problem.GetProperty("reason").GetString(), (string[])["invalid_token", "bad_credentials"]);
            Assert.Equal("Authorization", problem.GetProperty("field").GetString());
        }

        using var browser = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        browser.DefaultRequestHeaders.Add("Cookie", "tandem_session=forged-cookie-value");
        await HttpAssert.ProblemAsync(await browser.GetAsync("/api/v1/members"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    private static HttpClient Browser(TandemServer server) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = server.BaseAddress };

    /// <summary>A browser whose connections come from another loopback address.</summary>
    private static HttpClient BrowserFrom(TandemServer server, string address) => FromAddress.Client(server.BaseAddress, address);
}
