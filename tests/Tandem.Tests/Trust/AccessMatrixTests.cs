using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// Every route of the app against the expected access matrix. A route added without declaring who may
/// call it, or declared differently from this table, fails here; then every route is called over HTTP
/// as each role and with each single scope, and must answer as the matrix says.
/// </summary>
public sealed class AccessMatrixTests
{
    private const string Public = RouteAccess.Public;
    private const string SignedIn = RouteAccess.SignedIn;

    /// <summary>The matrix: method, route pattern, what it needs. Change it on purpose, with the route.</summary>
    private static readonly (string Method, string Route, string Access)[] Expected =
    [
        // Collector: a write key authorises it, not a member or token.
        .. new[] { "identify", "track", "page", "screen", "group", "alias", "batch", "import", "i", "t", "p", "s", "g", "a", "b" }
            .Select(path => ("POST", "/v1/" + path, Public)),
        ("GET", "/v1/projects/{writeKey}/settings", Public),
        ("GET", "/openapi/{documentName}.json", Public),
        ("*", "/health/live", Public),
        ("*", "/health/ready", Public),
        ("*", "/metrics", Public),

        ("GET", "/v1/profiles/{identifier}/traits", Scopes.ProfilesRead),
        ("GET", "/v1/profiles/{identifier}/events", Scopes.ProfilesRead),
        ("GET", "/v1/profiles/{identifier}/identifiers", Scopes.ProfilesRead),
        ("GET", "/v1/profiles/{identifier}/audiences", Scopes.ProfilesRead),
        ("GET", "/v1/profiles/{identifier}/metadata", Scopes.ProfilesRead),

        ("POST", "/api/v1/sources/", Scopes.SourcesWrite),
        ("GET", "/api/v1/sources/", Scopes.SourcesRead),
        ("GET", "/api/v1/sources/{id}", Scopes.SourcesRead),
        ("PATCH", "/api/v1/sources/{id}", Scopes.SourcesWrite),
        ("POST", "/api/v1/sources/{id}/rotate-key", Scopes.SourcesWrite),
        ("GET", "/api/v1/sources/{id}/events", Scopes.EventsRead),
        ("GET", "/api/v1/sources/{id}/rejections", Scopes.EventsRead),

        ("GET", "/api/v1/profiles/", Scopes.ProfilesRead),
        ("GET", "/api/v1/profiles/{profileId}/merges", Scopes.ProfilesRead),
        ("GET", "/api/v1/accounts/{groupId}", Scopes.ProfilesRead),
        ("GET", "/api/v1/processor", Scopes.IdentityRead),
        ("GET", "/api/v1/processor/not-applied", Scopes.IdentityRead),
        ("GET", "/api/v1/identity/types/", Scopes.IdentityRead),
        ("PUT", "/api/v1/identity/types/{name}", Scopes.IdentityWrite),
        ("DELETE", "/api/v1/identity/types/{name}", Scopes.IdentityWrite),
        ("GET", "/api/v1/computed-traits/", Scopes.TraitsRead),
        ("PUT", "/api/v1/computed-traits/{name}", Scopes.TraitsWrite),
        ("DELETE", "/api/v1/computed-traits/{name}", Scopes.TraitsWrite),

        ("GET", "/api/v1/members/", Scopes.MembersRead),
        ("GET", "/api/v1/members/{id}", Scopes.MembersRead),
        ("POST", "/api/v1/members/", Scopes.MembersWrite),
        ("PATCH", "/api/v1/members/{id}", Scopes.MembersWrite),
        ("DELETE", "/api/v1/members/{id}", Scopes.MembersWrite),
        ("POST", "/api/v1/members/{id}/password", Scopes.MembersWrite),
        ("GET", "/api/v1/tokens/", Scopes.TokensWrite),
        ("POST", "/api/v1/tokens/", Scopes.TokensWrite),
        ("DELETE", "/api/v1/tokens/{id}", Scopes.TokensWrite),
        ("POST", "/api/v1/session/", Public),
        ("GET", "/api/v1/session/", SignedIn),
        ("DELETE", "/api/v1/session/", SignedIn),
        ("PUT", "/api/v1/session/password", SignedIn),
        ("GET", "/api/v1/session/oidc/", Public),
        ("GET", "/api/v1/session/oidc/callback", Public),
        ("GET", "/api/v1/auth/oidc/", Scopes.MembersWrite),
        ("PUT", "/api/v1/auth/oidc/", Scopes.MembersWrite),
        ("DELETE", "/api/v1/auth/oidc/", Scopes.MembersWrite),
        ("GET", "/api/v1/scopes", SignedIn),
        ("GET", "/api/v1/audit/", Scopes.AuditRead),
        ("GET", "/api/v1/audit/head", Scopes.AuditRead),
        ("GET", "/api/v1/audit/verify", Scopes.AuditRead),
        ("GET", "/api/v1/pii/policy", SignedIn),
        ("PUT", "/api/v1/pii/policy", Scopes.PolicyWrite),
        ("GET", "/api/v1/consent/purposes", SignedIn),
        ("PUT", "/api/v1/consent/purposes", Scopes.PolicyWrite),
        ("GET", "/api/v1/consent/uses", SignedIn),
        ("GET", "/api/v1/profiles/{identifier}/consent/", Scopes.ProfilesRead),
        ("POST", "/api/v1/profiles/{identifier}/consent/", Scopes.ProfilesWrite),
        ("POST", "/api/v1/exports/profiles", Scopes.ProfilesRead),
        ("POST", "/api/v1/privacy/requests", Scopes.PrivacyAdmin),
        ("GET", "/api/v1/privacy/requests", Scopes.PrivacyAdmin),
        ("GET", "/api/v1/privacy/requests/{id}", Scopes.PrivacyAdmin),
        ("POST", "/api/v1/privacy/requests/{id}/retry", Scopes.PrivacyAdmin),
        ("GET", "/api/v1/privacy/suppressions", Scopes.PrivacyAdmin),
        ("GET", "/api/v1/retention/", Scopes.AuditRead),
        ("PUT", "/api/v1/retention/", Scopes.PrivacyAdmin),
        ("GET", "/api/v1/retention/runs", Scopes.AuditRead),
        ("POST", "/api/v1/retention/runs", Scopes.PrivacyAdmin),
    ];

    [Fact]
    public async Task EveryRoute_DeclaresWhoMayCallIt_AsTheMatrixSays()
    {
        await using var server = await TandemServer.StartAsync();
        var actual = Routes(server).Select(r => $"{r.Method} {r.Route} → {r.Access ?? "(nothing declared)"}").Order(StringComparer.Ordinal).ToList();
        var expected = Expected.Select(r => $"{r.Method} {r.Route} → {r.Access}").Order(StringComparer.Ordinal).ToList();

        Assert.True(actual.SequenceEqual(expected),
            "Routes differ from the access matrix.\nIn the app, not in the matrix:\n  " + string.Join("\n  ", actual.Except(expected))
            + "\nIn the matrix, not in the app:\n  " + string.Join("\n  ", expected.Except(actual)));
    }

    [Fact]
    public async Task EveryRoute_AnswersEachRoleAndEachScope_AsTheMatrixSays()
    {
        await using var server = await TandemServer.StartAsync();
        var callers = new List<(string Name, string Authorization, IReadOnlySet<string> Scopes)>();
        Assert.Equal(DocumentedRoles.ScopesOf.Keys.Order(StringComparer.Ordinal), Roles.ScopesOf.Keys.Order(StringComparer.Ordinal));
        foreach (var (role, documented) in DocumentedRoles.ScopesOf)
        {
            // A token with every scope, owned by a member with one role, holds exactly that role's scopes:
            // the ones docs/trust.md lists, not the production table, which is what is under test.
            var member = await server.CreateMemberAsync($"{role.Replace('_', '-')}@example.com", [role]);
            var (_, secret) = await server.CreateTokenAsync([Scopes.All], ownerId: member, name: role);
            callers.Add(("role " + role, "Bearer " + secret, documented.ToHashSet(StringComparer.Ordinal)));
        }

        foreach (var scope in Scopes.Catalog.Keys)
        {
            var (_, secret) = await server.CreateTokenAsync([scope], name: scope);
            callers.Add(("scope " + scope, "Bearer " + secret, new HashSet<string> { scope }));
        }

        var wrong = new List<string>();
        foreach (var (method, route, access) in Expected)
        {
            var path = Concrete(route, server.WriteKey);
            var verb = method == "*" ? "GET" : method;
            // Collector routes are public to members and tokens but take a write key, as SDKs send it.
            var collector = route.StartsWith("/v1/", StringComparison.Ordinal) && !route.StartsWith("/v1/profiles", StringComparison.Ordinal);
            var anonymous = await CallAsync(server, collector ? TandemServer.Basic(server.WriteKey).ToString() : null, verb, path);
            if (access == Public ? anonymous.Status is 401 or 403 : anonymous.Status != 401)
            {
                wrong.Add($"{verb} {path} without credentials answered {anonymous.Status} {anonymous.Reason}");
            }

            if (access == Public)
            {
                continue;
            }

            foreach (var (name, authorization, scopes) in callers)
            {
                var allowed = access == SignedIn || scopes.Contains(Scopes.All) || scopes.Contains(access);
                var (status, reason) = await CallAsync(server, authorization, verb, path);
                var refused = status == 403 && reason == "missing_scope";
                if (allowed ? status is 401 or 403 : !refused)
                {
                    wrong.Add($"{verb} {path} as {name}: expected {(allowed ? "access" : "403 missing_scope")}, answered {status} {reason}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    private static List<(string Method, string Route, string? Access)> Routes(TandemServer server) =>
        [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e =>
            {
                var methods = e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"];
                var access = e.Metadata.GetOrderedMetadata<RouteAccess>();
                return methods.Select(m => (m, "/" + e.RoutePattern.RawText!.TrimStart('/'), access.Count == 1 ? access[0].Requirement : null));
            })];

    private static string Concrete(string route, string writeKey) => route
        .Replace("{writeKey}", writeKey, StringComparison.Ordinal)
        .Replace("{documentName}", "v1", StringComparison.Ordinal)
        .Replace("{identifier}", "user_id:nobody", StringComparison.Ordinal)
        .Replace("{profileId}", "prf_0", StringComparison.Ordinal)
        .Replace("{groupId}", "acme", StringComparison.Ordinal)
        .Replace("{name}", "matrix_probe", StringComparison.Ordinal)
        .Replace("{id}", "x_missing", StringComparison.Ordinal);

    private static async Task<(int Status, string? Reason)> CallAsync(TandemServer server, string? authorization, string method, string path)
    {
        using var request = server.As(authorization, new HttpMethod(method), path);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await server.Http.SendAsync(request);
        string? reason = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            reason = problem.RootElement.TryGetProperty("reason", out var r) ? r.GetString() : null;
        }

        return ((int)response.StatusCode, reason);
    }
}
