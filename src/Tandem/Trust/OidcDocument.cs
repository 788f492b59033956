using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tandem.Settings;

namespace Tandem.Trust;

/// <summary>An OIDC configuration as an admin sends it; fields left out take their defaults, a secret left out keeps the stored one.</summary>
internal sealed record OidcRequest(string? Authority, string? ClientId, string? ClientSecret, string[]? Scopes, string? EmailClaim,
    string? DisplayName, string[]? AllowedEmailDomains, bool? TrustUnverifiedEmail);

/// <summary>The settings as the audit log keeps them: nothing of the secret but whether there is one.</summary>
internal sealed record OidcAuditView(string Authority, string ClientId, bool ClientSecretSet, IReadOnlyList<string> Scopes, string EmailClaim,
    string DisplayName, IReadOnlyList<string> AllowedEmailDomains, bool TrustUnverifiedEmail)
{
    public static OidcAuditView? From(OidcSettings? s) => s is null ? null
        : new(s.Authority, s.ClientId, s.ProtectedSecret is not null, s.Scopes, s.EmailClaim, s.DisplayName, s.AllowedEmailDomains, s.TrustUnverifiedEmail);
}

/// <summary>
/// OIDC sign-in as a settings document. Unlike the policy documents it is not sent whole as stored: a
/// request may leave the secret out to keep the stored one, and the secret is sealed before it is kept,
/// so <see cref="Validate"/> takes the stored settings and the sealing. Null is a state of its own
/// (not configured), stored as JSON null so the table keeps when it was removed.
/// </summary>
internal sealed partial class OidcDocument : SettingsDocument<OidcSettings>
{
    private const int MaxUrlLength = 2000;
    private const int MaxFieldLength = 200;
    private const int MaxSecretLength = 2000;
    private const int MaxListLength = 50;

    public static OidcDocument Instance { get; } = new();

    public override string Key => "trust.oidc";

    public override OidcSettings? Default => null;

    public override string AuditTarget => "auth:oidc";

    public override string AuditAction(OidcSettings? after) => after is null ? "oidc.remove" : "oidc.configure";

    // Stored by this class, so a text that does not read is damage to report, not a default to fall back to.
    public override OidcSettings? Read(string stored) => JsonSerializer.Deserialize<OidcSettings>(stored, JsonSerializerOptions.Web);

    public override string Write(OidcSettings? value) => JsonSerializer.Serialize(value, JsonSerializerOptions.Web);

    public override JsonNode? AuditView(OidcSettings? value) =>
        OidcAuditView.From(value) is { } view ? JsonSerializer.SerializeToNode(view, JsonSerializerOptions.Web) : null;

    /// <summary>The settings a request asks for, or the first problem with it; <paramref name="protect"/> seals a new secret.</summary>
    public static OidcSettings? Validate(OidcRequest body, OidcSettings? existing, Func<string, string> protect, DateTimeOffset now, out SettingsRefusal? refusal)
    {
        (var settings, refusal) = Check(body, existing, protect, now);
        return settings;
    }

    private static (OidcSettings? Settings, SettingsRefusal? Refusal) Check(OidcRequest body, OidcSettings? existing, Func<string, string> protect, DateTimeOffset now)
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

        var protectedSecret = body.ClientSecret is { } newSecret ? protect(newSecret) : existing?.ProtectedSecret;
        return (new OidcSettings(authorityText, body.ClientId.Trim(), protectedSecret, scopes, emailClaim, displayName, domains, now,
            body.TrustUnverifiedEmail == true), null);
    }

    private static (OidcSettings?, SettingsRefusal?) Invalid(string reason, string title, string detail, string field) =>
        (null, SettingsRefusal.One(reason, title, field, detail));

    /// <summary>RFC 6749's scope-token: printable ASCII except space, double quote and backslash.</summary>
    [GeneratedRegex(@"^[\x21\x23-\x5B\x5D-\x7E]+$")]
    private static partial Regex ScopeToken();
}
