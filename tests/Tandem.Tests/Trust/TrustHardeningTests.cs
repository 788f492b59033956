using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Ways around the rules that a careful attacker, or an odd client, would try.</summary>
public sealed class TrustHardeningTests
{
    private const string Password = "correct horse battery";

    /// <summary>A client without a cookie jar: each request carries exactly the cookie the test gives it.</summary>
    private static readonly HttpClient Raw = new(new HttpClientHandler { UseCookies = false });

    [Fact]
    public async Task StoredEventWithANameTwice_IsReadFirstValueWins_AsProfilesDo_NotA500()
    {
        await using var server = await TandemServer.StartAsync();
        const string twice = """
            {"type":"identify","userId":"u-2","messageId":"dup-1","context":{"ip":"198.51.100.1","ip":"203.0.113.9"},
             "traits":{"email":"old@example.com","email":"bob@example.com","address":{"city":"Paris","city":"Lyon"}}}
            """;
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/identify", twice)).StatusCode);
        await server.CaughtUpAsync();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);

        var traits = await server.GetAsAsync(marketer.Authorization, "/v1/profiles/user_id:u-2/traits");
        Assert.Equal("o***@example.com", traits.GetProperty("traits").GetProperty("email").GetString());
        var stored = Assert.Single((await server.GetAsAsync(marketer.Authorization, "/v1/profiles/user_id:u-2/events")).GetProperty("data").EnumerateArray());
        Assert.Equal("198.51.100.0", stored.GetProperty("context").GetProperty("ip").GetString());
        await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=u-2");
        await server.GetAsAsync(marketer.Authorization, $"/api/v1/sources/{server.DefaultSourceId}/events");
    }

    [Fact]
    public async Task MembersWrite_CannotGrantOrTakeOverMoreThanTheCallerHolds()
    {
        await using var server = await TandemServer.StartAsync();
        var admin = await server.CreateMemberAsync("root@example.com", [Roles.Admin], Password);
        var (_, provisioning) = await server.CreateTokenAsync([Scopes.MembersWrite, Scopes.MembersRead, Scopes.ProfilesRead, Scopes.SourcesRead, Scopes.IdentityRead, Scopes.TraitsRead, Scopes.TokensWrite]);
        var token = "Bearer " + provisioning;

        var grant = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(token, HttpMethod.Post, "/api/v1/members",
            new { email = "eve@example.com", name = "Eve", roles = new[] { "admin" }, password = Password })), HttpStatusCode.Forbidden, "role_not_held");
        Assert.Contains("*", grant.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(token, HttpMethod.Post, $"/api/v1/members/{admin}/password", new { password = "taken over at last" })),
            HttpStatusCode.Forbidden, "role_not_held");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As(token, HttpMethod.Patch, $"/api/v1/members/{admin}", new { disabled = true })),
            HttpStatusCode.Forbidden, "role_not_held");

        // Within what it holds, it works.
        await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As(token, HttpMethod.Post, "/api/v1/members",
            new { email = "liz@example.com", name = "Liz", roles = new[] { "liaison" } })), HttpStatusCode.Created);
    }

    [Fact]
    public async Task Search_NeverSpellsOutWhatTheCallerMayNotSee()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", """{"userId":"u-3","traits":{"email":"carol@example.com","ssn":"078-05-1120"}}""");
        await server.CaughtUpAsync();
        var marketer = await server.MemberTokenAsync("mk@example.com", Roles.Marketer);

        Assert.Equal(0, (await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=078-05")).GetProperty("data").GetArrayLength()); // red, hidden
        Assert.Equal(0, (await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=carol@")).GetProperty("data").GetArrayLength()); // yellow, masked: no prefix
        Assert.Equal(1, (await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=Carol@Example.com")).GetProperty("data").GetArrayLength()); // the whole value
        Assert.Equal(1, (await server.GetAsAsync(marketer.Authorization, "/api/v1/profiles?search=u-")).GetProperty("data").GetArrayLength()); // green: prefix
        Assert.Equal(1, (await server.AdminGetAsync("/api/v1/profiles?search=carol@")).GetProperty("data").GetArrayLength()); // admin sees yellow in full
    }

    [Fact]
    public async Task SignOutAndNewPasswords_EndCopiedSessionsToo()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ops@example.com", [Roles.ItSteward], Password);
        var (cookie, csrf) = await SignInAsync(server, "ops@example.com", Password);
        var (copied, _) = await SignInAsync(server, "ops@example.com", Password);

        using var signOut = WithCookie(server, cookie, HttpMethod.Delete, "/api/v1/session");
        signOut.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.NoContent, (await Raw.SendAsync(signOut)).StatusCode);
        await HttpAssert.ProblemAsync(await Raw.SendAsync(WithCookie(server, cookie, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "session_ended");
        await HttpAssert.ProblemAsync(await Raw.SendAsync(WithCookie(server, copied, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "session_ended");

        var (again, againCsrf) = await SignInAsync(server, "ops@example.com", Password);
        using var change = WithCookie(server, again, HttpMethod.Put, "/api/v1/session/password");
        change.Content = JsonContent.Create(new { currentPassword = Password, newPassword = "a brand new passphrase" });
        change.Headers.Add("X-CSRF-Token", againCsrf);
        Assert.Equal(HttpStatusCode.NoContent, (await Raw.SendAsync(change)).StatusCode);
        await HttpAssert.ProblemAsync(await Raw.SendAsync(WithCookie(server, again, HttpMethod.Get, "/api/v1/sources")), HttpStatusCode.Unauthorized, "session_ended");
    }

    [Fact]
    public async Task Bodies_OnlyJson_AndBoundedEvenWhenChunked()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", [Roles.Marketer], Password);

        // A cross-site form can post text/plain without a preflight; signing in needs JSON.
        using var form = new HttpRequestMessage(HttpMethod.Post, server.Url("/api/v1/session"))
        {
            Content = new StringContent($$"""{"email":"ada@example.com","password":"{{Password}}"}""", Encoding.UTF8, "text/plain"),
        };
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(form), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");

        // No Content-Length: the limit still holds, and nothing reaches the audit log.
        var huge = "{\"email\":\"" + new string('a', 200_000) + "@example.com\",\"password\":\"x\"}";
        using var chunked = new HttpRequestMessage(HttpMethod.Post, server.Url("/api/v1/session"))
        {
            Content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(huge))),
        };
        chunked.Content.Headers.ContentType = new("application/json");
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(chunked), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        Assert.Equal(0, (await server.AdminGetAsync("/api/v1/audit?action=session.*")).GetProperty("records").GetArrayLength());
    }

    [Fact]
    public async Task TokenMadeByAnExpiringToken_ExpiresNoLater()
    {
        await using var server = await TandemServer.StartAsync();
        var parentExpiry = server.Clock.GetUtcNow().AddHours(1);
        var (_, parent) = await server.CreateTokenAsync([Scopes.TokensWrite, Scopes.SourcesRead], expiresAt: parentExpiry);
        var child = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + parent, HttpMethod.Post, "/api/v1/tokens",
            new { name = "forever", scopes = new[] { Scopes.SourcesRead } })), HttpStatusCode.Created);
        Assert.Equal(parentExpiry, child.GetProperty("expiresAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task OwnerlessTokens_AreNotEachOthers()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("root@example.com", [Roles.Admin]);
        var (_, ci) = await server.CreateTokenAsync([Scopes.TokensWrite]);
        var mine = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.As("Bearer " + ci, HttpMethod.Get, "/api/v1/tokens")), HttpStatusCode.OK);
        Assert.Equal(1, mine.GetArrayLength());
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.As("Bearer " + ci, HttpMethod.Delete, $"/api/v1/tokens/{TokenRegistry.FirstAdminTokenId}")),
            HttpStatusCode.Forbidden, "missing_scope");
    }

    private static async Task<(string Cookie, string Csrf)> SignInAsync(TandemServer server, string email, string password)
    {
        using var response = await Raw.PostAsJsonAsync(server.Url("/api/v1/session"), new { email, password });
        var session = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(TrustAuthentication.SessionCookie + "=", StringComparison.Ordinal)).Split(';')[0];
        return (cookie, session.GetProperty("csrfToken").GetString()!);
    }

    private static HttpRequestMessage WithCookie(TandemServer server, string cookie, HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, server.Url(path));
        request.Headers.Add("Cookie", cookie);
        return request;
    }

    /// <summary>A stream without a length, so the client sends the body chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
