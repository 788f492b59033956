using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Storage;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>PUT, GET and DELETE /api/v1/auth/oidc: what is refused, what is kept secret, who may change it.</summary>
public sealed class OidcConfigurationTests
{
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
        Assert.Empty(await OidcSignInTests.AuditAsync(server, "oidc.*"));
    }

    [Fact]
    public async Task Configure_NeverShowsOrStoresTheSecretInClear_AndAuditsEveryChange()
    {
        await using var server = await TandemServer.StartAsync();
        var put = await OidcSignInTests.ConfigureAsync(server, authority: "https://login.example.com/realms/acme");
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

        var stored = server.Services.GetRequiredService<IWorkspaceStore>().Setting(OidcConfiguration.SettingKey)!;
        Assert.Contains("login.example.com", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(OpenIdProvider.ClientSecret, stored, StringComparison.Ordinal);

        // A change without a secret keeps the stored one; then removal.
        var changed = await HttpAssert.JsonAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/auth/oidc",
            new { authority = "https://login.example.com/realms/acme", clientId = "console-2", scopes = new[] { "email" }, displayName = "Acme SSO" })), HttpStatusCode.OK);
        Assert.True(changed.GetProperty("clientSecretSet").GetBoolean());
        Assert.Equal(["openid", "email"], changed.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/auth/oidc"))).StatusCode);
        await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/auth/oidc")), HttpStatusCode.NotFound, "oidc_not_configured");

        var records = await OidcSignInTests.AuditAsync(server, "oidc.*");
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
}
