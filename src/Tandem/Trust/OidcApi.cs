using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>OIDC sign-in: its configuration (admins), and the public start and callback routes of the console.</summary>
internal static partial class OidcApi
{
    private const int MaxUrlLength = 2000;
    private const int MaxFieldLength = 200;
    private const int MaxSecretLength = 2000;
    private const int MaxListLength = 50;

    public sealed record OidcRequest(string? Authority, string? ClientId, string? ClientSecret, string[]? Scopes, string? EmailClaim,
        string? DisplayName, string[]? AllowedEmailDomains, bool? TrustUnverifiedEmail);

    /// <summary>The settings as the API shows them: never the secret, at most its last four characters.</summary>
    public sealed record OidcView(string Authority, string ClientId, bool ClientSecretSet, string? ClientSecretEnd, IReadOnlyList<string> Scopes,
        string EmailClaim, string DisplayName, IReadOnlyList<string> AllowedEmailDomains, bool TrustUnverifiedEmail, string CallbackUrl, DateTimeOffset UpdatedAt);

    /// <summary>The settings as the audit log keeps them: nothing of the secret but whether there is one.</summary>
    public sealed record OidcAuditView(string Authority, string ClientId, bool ClientSecretSet, IReadOnlyList<string> Scopes, string EmailClaim,
        string DisplayName, IReadOnlyList<string> AllowedEmailDomains, bool TrustUnverifiedEmail)
    {
        public static OidcAuditView? From(OidcSettings? s) => s is null ? null
            : new(s.Authority, s.ClientId, s.ProtectedSecret is not null, s.Scopes, s.EmailClaim, s.DisplayName, s.AllowedEmailDomains, s.TrustUnverifiedEmail);
    }

    public static RouteGroupBuilder MapOidcApi(this RouteGroupBuilder api)
    {
        // members:write, not policy:write: this decides who can sign in as a member, which is member administration.
        var settings = api.MapGroup("/auth/oidc").WithTags("Members");
        settings.MapGet("/", (HttpRequest request, OidcConfiguration oidc) => oidc.Current is { } current ? (IResult)TypedResults.Ok(View(current, oidc, request)) : NotConfigured())
            .RequireScope(Scopes.MembersWrite).WithSummary("The OIDC sign-in settings (the client secret is never shown)");
        settings.MapPut("/", PutAsync).RequireScope(Scopes.MembersWrite)
            .WithSummary("Configures OIDC sign-in, in force at once; a secret left out keeps the stored one. Needs every scope: the provider can vouch for any member");
        settings.MapDelete("/", Delete).RequireScope(Scopes.MembersWrite).WithSummary("Turns OIDC sign-in off; signed-in sessions go on");

        var session = api.MapGroup("/session/oidc").WithTags("Session");
        session.MapGet("/", StartAsync).AllowPublic()
            .WithSummary("Starts an OIDC sign-in: redirects to the provider, which comes back to the callback; ?returnUrl= a local path to land on");
        session.MapGet("/callback", Callback).AllowPublic()
            .WithSummary("Where the provider sends the browser back: signs the member with that email in, or says why not");
        return api;
    }

    private static async Task<IResult> PutAsync(HttpRequest request, OidcConfiguration oidc, AuditLog audit, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<OidcRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var before = oidc.Current;
        var (settings, invalid) = Validate(body!, before, oidc);
        if (invalid is not null)
        {
            return invalid;
        }

        if (NotEveryScope(user) is { } beyond)
        {
            return beyond;
        }

        oidc.Save(settings);
        audit.Record(user, "oidc.configure", "auth:oidc", OidcAuditView.From(before), OidcAuditView.From(settings),
            body!.ClientSecret is null ? "client secret kept" : "client secret set");
        return TypedResults.Ok(View(settings!, oidc, request));
    }

    private static IResult Delete(OidcConfiguration oidc, AuditLog audit, ClaimsPrincipal user)
    {
        if (oidc.Current is not { } before)
        {
            return NotConfigured();
        }

        if (NotEveryScope(user) is { } beyond)
        {
            return beyond;
        }

        oidc.Save(null);
        audit.Record(user, "oidc.remove", "auth:oidc", before: OidcAuditView.From(before));
        return TypedResults.NoContent();
    }

    private static async Task<IResult> StartAsync(string? returnUrl, HttpContext context, OidcConfiguration oidc)
    {
        if (oidc.Current is null)
        {
            return NotConfigured();
        }

        returnUrl ??= "/";
        if (!IsLocalUrl(returnUrl))
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid_return_url", "The return address must be in Tandem",
                "\"returnUrl\" must be a path of this server, such as /console; another site would be an open redirect.", "returnUrl");
        }

        try
        {
            await context.ChallengeAsync(OidcSignIn.Scheme, new AuthenticationProperties { RedirectUri = returnUrl });
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException && !context.Response.HasStarted)
        {
            // The handler reads the provider's discovery document before it can redirect.
            return Problems.Create(StatusCodes.Status502BadGateway, "oidc_provider_unreachable", "The sign-in provider cannot be reached",
                $"Tandem could not read the discovery document of {oidc.Current?.Authority}: {ex.Message} Check \"authority\", or try again later.", "authority");
        }

        context.Response.Headers.CacheControl = "no-store";
        return Results.Empty;
    }

    /// <summary>
    /// Reached only when no handler took the callback: the authentication middleware hands it to the OIDC
    /// handler (see OidcSignIn's events), whose scheme exists only while OIDC is configured.
    /// </summary>
    private static IResult Callback(OidcConfiguration oidc) => oidc.Current is null ? NotConfigured()
        : Problems.Create(StatusCodes.Status400BadRequest, "oidc_failed", "The sign-in did not complete",
            "This address is where the sign-in provider sends the browser back; start from /api/v1/session/oidc.");

    /// <summary>A path of this server: "/…", never "//host" or "/\host", which browsers read as another site.</summary>
    public static bool IsLocalUrl(string? url) =>
        url is { Length: > 0 and <= MaxUrlLength } && url[0] == '/'
        && !(url.Length > 1 && (url[1] == '/' || url[1] == '\\'))
        && !url.Any(char.IsControl);

    private static IResult NotConfigured() =>
        Problems.Create(StatusCodes.Status404NotFound, "oidc_not_configured", "OIDC sign-in is not configured",
            "Members sign in with email and password. An admin can set up OIDC sign-in with PUT /api/v1/auth/oidc.");

    /// <summary>The provider can vouch for any member, admins included: configuring it is granting every scope.</summary>
    private static IResult? NotEveryScope(ClaimsPrincipal user) => user.Holds(Scopes.All) ? null
        : Problems.Create(StatusCodes.Status403Forbidden, "role_not_held", "Only an admin configures sign-in",
            "The sign-in provider can sign anyone in as any member, admins included, so configuring it needs every scope ('*'): an admin member or the admin token.",
            "Authorization", new Dictionary<string, object?> { ["scopes"] = new[] { Scopes.All } });

    private static OidcView View(OidcSettings settings, OidcConfiguration oidc, HttpRequest request)
    {
        var secret = oidc.ClientSecret(settings);
        // The end of a long secret helps tell which one is set; a short one would give too much away.
        var end = secret is { Length: >= 16 } ? secret[^4..] : null;
        return new OidcView(settings.Authority, settings.ClientId, settings.ProtectedSecret is not null, end, settings.Scopes, settings.EmailClaim,
            settings.DisplayName, settings.AllowedEmailDomains, settings.TrustUnverifiedEmail, $"{request.Scheme}://{request.Host}{request.PathBase}{OidcSignIn.CallbackPath}", settings.UpdatedAt);
    }

    private static (OidcSettings? Settings, IResult? Problem) Validate(OidcRequest body, OidcSettings? existing, OidcConfiguration oidc)
    {
        var authorityText = body.Authority?.Trim();
        if (string.IsNullOrEmpty(authorityText) || authorityText.Length > MaxUrlLength || !Uri.TryCreate(authorityText, UriKind.Absolute, out var authority)
            || !(authority.Scheme == Uri.UriSchemeHttps || authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback)
            || authority.Query.Length > 0 || authority.Fragment.Length > 0 || authority.UserInfo.Length > 0)
        {
            return Invalid("invalid_authority", "The authority must be the provider's https address",
                "\"authority\" must be the provider's issuer URL, absolute, with https (such as https://login.example.com/realms/acme), without query or fragment. Plain http is accepted only for a loopback host (127.0.0.1, localhost).",
                "authority");
        }

        if (string.IsNullOrWhiteSpace(body.ClientId) || body.ClientId.Trim().Length > MaxFieldLength)
        {
            return Invalid("invalid_client_id", "A client id is required",
                $"\"clientId\" must be the id the provider gave Tandem when it was registered, 1 to {MaxFieldLength} characters.", "clientId");
        }

        if (body.ClientSecret is { } secret && (string.IsNullOrWhiteSpace(secret) || secret.Length > MaxSecretLength))
        {
            return Invalid("invalid_client_secret", "The client secret cannot be used",
                $"\"clientSecret\" must be 1 to {MaxSecretLength} characters; leave it out to keep the stored one.", "clientSecret");
        }

        var scopes = new List<string> { "openid" };
        var requested = body.Scopes ?? [.. OidcSettings.DefaultScopes];
        if (requested.Length > MaxListLength)
        {
            return Invalid("invalid_scope", "Too many scopes", $"Send at most {MaxListLength} scopes.", "scopes");
        }

        for (var i = 0; i < requested.Length; i++)
        {
            if (requested[i] is not { Length: > 0 and <= MaxFieldLength } scope || !ScopeToken().IsMatch(scope))
            {
                return Invalid("invalid_scope", "A scope cannot be used",
                    $"'{requested[i]}' is not an OAuth scope: printable characters without spaces, quotes or backslashes, such as \"email\".", $"scopes[{i}]");
            }

            if (!scopes.Contains(scope, StringComparer.Ordinal))
            {
                scopes.Add(scope);
            }
        }

        var emailClaim = body.EmailClaim?.Trim() ?? OidcSettings.DefaultEmailClaim;
        if (emailClaim.Length is 0 or > MaxFieldLength || emailClaim.Any(char.IsWhiteSpace))
        {
            return Invalid("invalid_email_claim", "The email claim cannot be used",
                $"\"emailClaim\" names the ID token claim with the member's email (default \"{OidcSettings.DefaultEmailClaim}\"), without spaces.", "emailClaim");
        }

        var displayName = body.DisplayName?.Trim() ?? OidcSettings.DefaultDisplayName;
        if (displayName.Length is 0 or > 100)
        {
            return Invalid("invalid_display_name", "The display name cannot be used",
                "\"displayName\" is what the sign-in page shows (such as \"Acme SSO\"), 1 to 100 characters.", "displayName");
        }

        var domains = new List<string>();
        var allowed = body.AllowedEmailDomains ?? [];
        if (allowed.Length > MaxListLength)
        {
            return Invalid("invalid_email_domain", "Too many domains", $"Send at most {MaxListLength} domains.", "allowedEmailDomains");
        }

        for (var i = 0; i < allowed.Length; i++)
        {
            var domain = allowed[i]?.Trim().TrimStart('@').ToLowerInvariant();
            if (domain is not { Length: > 0 and <= 253 } || Uri.CheckHostName(domain) != UriHostNameType.Dns || !domain.Contains('.', StringComparison.Ordinal))
            {
                return Invalid("invalid_email_domain", "An email domain cannot be used",
                    $"'{allowed[i]}' is not a domain such as example.com.", $"allowedEmailDomains[{i}]");
            }

            if (!domains.Contains(domain, StringComparer.Ordinal))
            {
                domains.Add(domain);
            }
        }

        if (body.TrustUnverifiedEmail == true && domains.Count == 0)
        {
            return Invalid("email_domains_required", "Unverified emails can only be trusted for listed domains",
                "\"trustUnverifiedEmail\": true believes an ID token's email without email_verified. With a multi-tenant provider anyone can claim any address, an admin's included, so it needs \"allowedEmailDomains\": the organisation's own domains, whose accounts only its provider tenant issues.",
                "allowedEmailDomains");
        }

        var protectedSecret = body.ClientSecret is { } newSecret ? oidc.Protect(newSecret) : existing?.ProtectedSecret;
        return (new OidcSettings(authorityText, body.ClientId.Trim(), protectedSecret, scopes, emailClaim, displayName, domains, oidc.Now,
            body.TrustUnverifiedEmail == true), null);
    }

    private static (OidcSettings?, IResult?) Invalid(string reason, string title, string detail, string field) =>
        (null, Problems.Create(StatusCodes.Status400BadRequest, reason, title, detail, field));

    /// <summary>RFC 6749's scope-token: printable ASCII except space, double quote and backslash.</summary>
    [GeneratedRegex(@"^[\x21\x23-\x5B\x5D-\x7E]+$")]
    private static partial Regex ScopeToken();
}
