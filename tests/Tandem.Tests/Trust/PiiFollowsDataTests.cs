using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// Classification follows the data, not the name it travels under (docs/pii.md): a card number, an
/// SSN and an email are planted so that they also arrive through a computed trait, a custom identifier
/// type and <c>context.externalIds</c>, under names that look harmless. Every role then reads every
/// read path, and each planted value must show exactly as the default policy says for its class.
/// </summary>
public sealed class PiiFollowsDataTests
{
    private const string Card = "4242 4242 4242 4242";
    private const string Ssn = "078-05-1120";
    private const string Email = "ada@example.com";

    /// <summary>A value put into the workspace, its class, and what a reader who sees it masked gets.</summary>
    public sealed record Planted(string Name, string Raw, string Masked, PiiClass Class);

    private static readonly Planted CardNumber = new("card", Card, "**** **** **** 4242", PiiClass.Red);
    private static readonly Planted SocialSecurity = new("ssn", Ssn, "0***", PiiClass.Red);
    private static readonly Planted EmailAddress = new("email", Email, "a***@example.com", PiiClass.Yellow);

    /// <summary>One way customer data leaves Tandem, the scope it needs, and which planted values it carries.</summary>
    /// <param name="LooksUpBy">
    /// For a lookup by an identifier: the class of that identifier. A caller who may not see it gets
    /// the unknown-profile 404 (which echoes only what the caller typed), anyone else the answer.
    /// </param>
    /// <param name="NothingPersonal">
    /// A path that must hold no planted value in clear for any role, however much the role may read
    /// elsewhere (the audit log: it names people by profile id or masked identifier only).
    /// </param>
    public sealed record ReadPath(string Name, string Scope, Func<Arranged, string, Task<HttpResponseMessage>> Read, Planted[] Carries, PiiClass? LooksUpBy = null,
        bool NothingPersonal = false);

    public sealed record Arranged(TandemServer Server, string ProfileId);

    /// <summary>
    /// The read paths. Add a row for each new one. The server's log output is the one path not here:
    /// Hosting/LoggingTests reads it at trace level, since it needs the real <c>serve</c> process.
    /// </summary>
    private static readonly ReadPath[] Paths =
    [
        new("Profile API traits (computed trait lucky_number over card_number, contact over email)", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, "/v1/profiles/user_id:u-1/traits"), [CardNumber, EmailAddress, SocialSecurity]),
        new("Profile API identifiers (loyalty_code keyed by the ssn trait)", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, "/v1/profiles/user_id:u-1/identifiers"), [SocialSecurity, EmailAddress]),
        new("Profile API events (externalIds, consent recorded by email)", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, "/v1/profiles/user_id:u-1/events?limit=200"), [CardNumber, SocialSecurity, EmailAddress]),
        new("search", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, "/api/v1/profiles?search=u-1"), [SocialSecurity, EmailAddress]),
        new("merges and their explanations", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, $"/api/v1/profiles/{a.ProfileId}/merges"), [SocialSecurity, EmailAddress]),
        new("accounts", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, "/api/v1/accounts/acme"), [SocialSecurity, EmailAddress]),
        new("export", Scopes.ProfilesRead,
            (a, auth) => a.Server.Http.SendAsync(a.Server.As(auth, HttpMethod.Post, "/api/v1/exports/profiles", new { use = "table test", purposes = new[] { "marketing" } })),
            [SocialSecurity, EmailAddress]),
        new("debugger feed", Scopes.EventsRead,
            (a, auth) => Get(a, auth, $"/api/v1/sources/{a.Server.DefaultSourceId}/events?limit=1000"), [CardNumber, SocialSecurity, EmailAddress]),
        new("refusals", Scopes.EventsRead,
            (a, auth) => Get(a, auth, $"/api/v1/sources/{a.Server.DefaultSourceId}/rejections?limit=1000"), [CardNumber, EmailAddress]),
        new("error bodies: a lookup by the loyalty code (an SSN)", Scopes.ProfilesRead,
            (a, auth) => Get(a, auth, $"/v1/profiles/loyalty_code:{Ssn}/identifiers"), [SocialSecurity, EmailAddress], LooksUpBy: PiiClass.Red),
        new("audit log, after every read above and a lookup by email (a refused one too)", Scopes.AuditRead,
            AllAuditAsync, [CardNumber, SocialSecurity, EmailAddress], NothingPersonal: true),
    ];

    [Fact]
    public async Task EveryRole_OnEveryReadPath_SeesPlantedValuesAsTheirClassSays()
    {
        await using var server = await TandemServer.StartAsync();
        var arranged = await ArrangeAsync(server);
        var wrong = new List<string>();
        foreach (var role in AccessPolicy.RoleNames)
        {
            var (auth, _) = await server.MemberTokenAsync(role + "@example.com", role);
            foreach (var path in Paths)
            {
                using var response = await path.Read(arranged, auth);
                var body = await response.Content.ReadAsStringAsync();
                if (!Holds(role, path.Scope))
                {
                    Expect(response.StatusCode == HttpStatusCode.Forbidden, $"{role} × {path.Name}: expected 403 without {path.Scope}, got {(int)response.StatusCode}");
                    continue;
                }

                if (path.LooksUpBy is { } looked && SeenBy(role, looked) == Exposure.Hidden)
                {
                    Expect(response.StatusCode == HttpStatusCode.NotFound && body.Contains("\"profile_not_found\"", StringComparison.Ordinal),
                        $"{role} × {path.Name}: expected the unknown-profile 404, got {(int)response.StatusCode}: {body}");
                    continue;
                }

                if (response.StatusCode != HttpStatusCode.OK)
                {
                    wrong.Add($"{role} × {path.Name}: expected 200, got {(int)response.StatusCode}: {body}");
                    continue;
                }

                foreach (var planted in path.Carries)
                {
                    if (path.NothingPersonal)
                    {
                        Expect(!body.Contains(planted.Raw, StringComparison.Ordinal), $"{role} × {path.Name}: the {planted.Name} should not be there in clear");
                        continue;
                    }

                    var shown = SeenBy(role, planted.Class);
                    var hasRaw = body.Contains(planted.Raw, StringComparison.Ordinal);
                    var hasMasked = body.Contains(planted.Masked, StringComparison.Ordinal);
                    Expect(shown switch
                    {
                        Exposure.Full => hasRaw,
                        Exposure.Masked => !hasRaw && hasMasked,
                        _ => !hasRaw && !hasMasked,
                    }, $"{role} × {path.Name}: the {planted.Name} should be {shown.ToString().ToLowerInvariant()} (raw shown: {hasRaw}, masked shown: {hasMasked})");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        void Expect(bool ok, string what)
        {
            if (!ok)
            {
                wrong.Add(what);
            }
        }
    }

    /// <summary>
    /// What a member's token gets of a class under the default policy: tokens read red in full only
    /// with privacy:admin (docs/pii.md), which of the roles only the privacy officer and admin hold.
    /// </summary>
    private static Exposure SeenBy(string role, PiiClass pii)
    {
        var exposure = AccessPolicy.Default.For([role], pii);
        return pii == PiiClass.Red && exposure == Exposure.Full && !Holds(role, Scopes.PrivacyAdmin) ? Exposure.Masked : exposure;
    }

    private static bool Holds(string role, string scope) =>
        Roles.ScopesOf[role].Contains(Scopes.All) || Roles.ScopesOf[role].Contains(scope);

    private static Task<HttpResponseMessage> Get(Arranged a, string auth, string path) =>
        a.Server.Http.SendAsync(a.Server.As(auth, HttpMethod.Get, path));

    /// <summary>Every page of the audit log, followed by its cursor, as one answer: the first refusal if a page is refused.</summary>
    private static async Task<HttpResponseMessage> AllAuditAsync(Arranged a, string auth)
    {
        var pages = new StringBuilder();
        string? before = null;
        do
        {
            var response = await Get(a, auth, "/api/v1/audit?limit=500" + (before is null ? "" : "&before=" + before));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return response;
            }

            var page = await response.Content.ReadAsStringAsync();
            response.Dispose();
            pages.AppendLine(page);
            using var json = JsonDocument.Parse(page);
            before = json.RootElement.TryGetProperty("next", out var next) && next.ValueKind != JsonValueKind.Null ? next.ToString() : null;
        }
        while (before is not null);

        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(pages.ToString()) };
    }

    /// <summary>
    /// One customer (u-1) whose SSN is also a loyalty code, whose card number and email feed computed
    /// traits with harmless names, whose events carry both in externalIds, who was merged with an
    /// anonymous visitor through the loyalty code, belongs to an account, consented by email, and
    /// sent one event that was refused.
    /// </summary>
    internal static async Task<Arranged> ArrangeAsync(TandemServer server)
    {
        await SendAsync(server, HttpMethod.Put, "/api/v1/identity/types/loyalty_code", new { traitKey = "ssn" });
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/track", """
            {"type":"track","anonymousId":"anon-9","event":"Visited","messageId":"m-0","timestamp":"2026-11-23T09:00:00Z"}
            """)).StatusCode);
        await server.CaughtUpAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.CollectAsync("/v1/batch", $$$"""
            {"batch":[
             {"type":"identify","userId":"u-1","messageId":"m-1","timestamp":"2026-11-23T10:00:00Z",
              "traits":{"email":"{{{Email}}}","ssn":"{{{Ssn}}}","plan":"pro"}},
             {"type":"track","userId":"u-1","event":"Order Completed","messageId":"m-2","timestamp":"2026-11-23T10:05:00Z",
              "context":{"externalIds":[{"type":"email","id":"{{{Email}}}","collection":"users","encoding":"none"}]},
              "properties":{"total":42.5,"card_number":"{{{Card}}}","email":"{{{Email}}}"}},
             {"type":"track","anonymousId":"anon-9","event":"Came Back","messageId":"m-3","timestamp":"2026-11-23T10:10:00Z",
              "context":{"externalIds":[{"type":"loyalty_code","id":"{{{Ssn}}}"}]}},
             {"type":"group","userId":"u-1","groupId":"acme","messageId":"m-4","timestamp":"2026-11-23T10:15:00Z",
              "traits":{"billing_email":"{{{Email}}}","tax_id":"{{{Ssn}}}","industry":"rail"}}
            ]}
            """)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.CollectAsync("/v1/track", $$$"""
            {"userId":"u-1","messageId":"m-5","context":{"externalIds":[{"type":"email","id":"{{{Email}}}"}]},"properties":{"card_number":"{{{Card}}}"}}
            """)).StatusCode); // refused: no event name
        await server.CaughtUpAsync();
        await SendAsync(server, HttpMethod.Post, $"/api/v1/profiles/email:{Email}/consent", new { purposes = new { marketing = true } });

        // Only a caller who reads red data in full may define a trait over it: the admin is allowed to for a moment.
        await SendAsync(server, HttpMethod.Put, "/api/v1/pii/policy", new { admin = new { red = "full" } });
        await SendAsync(server, HttpMethod.Put, "/api/v1/computed-traits/lucky_number", new { aggregation = "last", @event = "Order Completed", property = "card_number" });
        await SendAsync(server, HttpMethod.Put, "/api/v1/computed-traits/contact", new { aggregation = "last", @event = "Order Completed", property = "email" });
        await SendAsync(server, HttpMethod.Put, "/api/v1/pii/policy", new { admin = new { red = "masked" } });
        await server.CaughtUpAsync();

        // Calls the audit log sees: a lookup by email, and one a token without profiles:read is refused.
        await server.AdminGetAsync($"/v1/profiles/email:{Email}/traits");
        var (noProfiles, _) = await server.MemberTokenAsync("no-profiles@example.com", Roles.Viewer);
        using (var refused = await server.Http.SendAsync(server.As(noProfiles, HttpMethod.Get, $"/v1/profiles/loyalty_code:{Ssn}/traits")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var metadata = await server.AdminGetAsync("/v1/profiles/user_id:u-1/metadata");
        var profileId = metadata.GetProperty("profileId").GetString()!;
        Assert.NotEmpty(metadata.GetProperty("mergedProfileIds").EnumerateArray()); // the loyalty code merged anon-9 in
        return new(server, profileId);
    }

    private static async Task SendAsync(TandemServer server, HttpMethod method, string path, object body)
    {
        using var response = await server.Http.SendAsync(server.Admin(method, path, body));
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
