using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Trust;

/// <summary>
/// Each role holds exactly the scopes docs/trust.md "Members and roles" gives it, as a member and their
/// tools see them: the catalog at <c>GET /api/v1/scopes</c> and the scopes a signed-in member is answered.
/// The expectations come from <see cref="DocumentedRoles"/>, never from the production table.
/// </summary>
public sealed class DocumentedRolesTests
{
    private const string Password = "correct horse battery";

    [Fact]
    public async Task ScopesCatalog_ListsEveryDocumentedRole_WithExactlyItsDocumentedScopes()
    {
        await using var server = await TandemServer.StartAsync();
        var roles = (await server.AdminGetAsync("/api/v1/scopes")).GetProperty("roles").EnumerateArray()
            .ToDictionary(r => r.GetProperty("name").GetString()!, r => Strings(r.GetProperty("scopes")), StringComparer.Ordinal);

        Assert.Equal(DocumentedRoles.ScopesOf.Keys.Order(StringComparer.Ordinal), roles.Keys.Order(StringComparer.Ordinal));
        foreach (var role in DocumentedRoles.ScopesOf.Keys)
        {
            Assert.True(DocumentedRoles.Sorted(role).SequenceEqual(roles[role].Order(StringComparer.Ordinal)),
                $"{role}: documented {string.Join(", ", DocumentedRoles.Sorted(role))}; served {string.Join(", ", roles[role].Order(StringComparer.Ordinal))}");
        }
    }

    [Fact]
    public async Task SignIn_AsAMemberOfEachRole_AnswersExactlyTheDocumentedScopes()
    {
        await using var server = await TandemServer.StartAsync();
        foreach (var role in DocumentedRoles.ScopesOf.Keys)
        {
            var email = role.Replace('_', '-') + "@example.com";
            await server.CreateMemberAsync(email, [role], Password);
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = server.BaseAddress };
            var session = await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email, password = Password }), HttpStatusCode.OK);
            var scopes = Strings(session.GetProperty("scopes")).Order(StringComparer.Ordinal);
            Assert.True(DocumentedRoles.Sorted(role).SequenceEqual(scopes),
                $"{role}: documented {string.Join(", ", DocumentedRoles.Sorted(role))}; signed in with {string.Join(", ", scopes)}");
        }
    }

    private static List<string> Strings(JsonElement array) => [.. array.EnumerateArray().Select(s => s.GetString()!)];
}
