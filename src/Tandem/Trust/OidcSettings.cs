using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Tandem.Settings;

namespace Tandem.Trust;

/// <summary>How members sign in with an OpenID provider, as an admin configured it.</summary>
/// <param name="Authority">The provider's issuer URL; its discovery document is read from there.</param>
/// <param name="ProtectedSecret">The client secret sealed with Data Protection; null for a public client (PKCE only).</param>
/// <param name="EmailClaim">The ID token claim that holds the member's email.</param>
/// <param name="AllowedEmailDomains">Lower-case domains a signing-in email must belong to; empty allows any.</param>
/// <param name="TrustUnverifiedEmail">
/// An ID token without <c>email_verified</c> is believed for <paramref name="AllowedEmailDomains"/> (never without
/// them): for single-tenant providers that do not send the claim. Off by default.
/// </param>
internal sealed record OidcSettings(string Authority, string ClientId, string? ProtectedSecret, IReadOnlyList<string> Scopes, string EmailClaim,
    string DisplayName, IReadOnlyList<string> AllowedEmailDomains, DateTimeOffset UpdatedAt, bool TrustUnverifiedEmail = false)
{
    public static readonly IReadOnlyList<string> DefaultScopes = ["openid", "profile", "email"];
    public const string DefaultEmailClaim = "email";
    public const string DefaultDisplayName = "Single sign-on";

    /// <summary>Only a loopback provider may be reached over plain http (a test or a local provider).</summary>
    public bool RequiresHttps => Authority.StartsWith(Uri.UriSchemeHttps + "://", StringComparison.OrdinalIgnoreCase);

    public bool AllowsDomainOf(string email)
    {
        var at = email.LastIndexOf('@');
        return AllowedEmailDomains.Count == 0
            || at > 0 && AllowedEmailDomains.Contains(email[(at + 1)..].ToLowerInvariant(), StringComparer.Ordinal);
    }
}

/// <summary>
/// OIDC sign-in as configured (the <see cref="OidcDocument"/>, saved through <see cref="SettingsService"/>).
/// A change takes effect at once, without a restart: the sign-in scheme exists only while OIDC is
/// configured, and its handler's options are dropped from their cache and rebuilt from here on the next sign-in.
/// </summary>
internal sealed class OidcConfiguration : IDisposable
{
    public static readonly string SettingKey = OidcDocument.Instance.Key;

    private readonly SettingsService _settings;
    private readonly IDataProtector _protector;
    private readonly IOptionsMonitorCache<OpenIdConnectOptions> _optionsCache;
    private readonly IAuthenticationSchemeProvider _schemes;
    private readonly TimeProvider _time;

    public OidcConfiguration(SettingsService settings, IDataProtectionProvider protection, IOptionsMonitorCache<OpenIdConnectOptions> optionsCache,
        IAuthenticationSchemeProvider schemes, TimeProvider time)
    {
        _settings = settings;
        _protector = protection.CreateProtector("Tandem.Trust.Oidc.ClientSecret");
        _optionsCache = optionsCache;
        _schemes = schemes;
        _time = time;
        Apply(Current);
        settings.Changed += OnChanged;
    }

    /// <summary>
    /// How Tandem talks to providers (discovery, keys, code redemption): one client for every
    /// configuration, where the handler would make a new one each time its options are rebuilt.
    /// </summary>
    public HttpClient Backchannel { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The settings in force, or null when OIDC sign-in is not configured.</summary>
    public OidcSettings? Current => _settings.Current(OidcDocument.Instance);

    public DateTimeOffset Now => _time.GetUtcNow();

    public string Protect(string secret) => _protector.Protect(secret);

    /// <summary>The client secret in clear, or null when there is none or it can no longer be read (the keys in <c>keys/</c> were lost).</summary>
    public string? ClientSecret(OidcSettings settings)
    {
        if (settings.ProtectedSecret is not { } sealedSecret)
        {
            return null;
        }

        try
        {
            return _protector.Unprotect(sealedSecret);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    // Raised inside the settings service's save lock, so schemes are added and removed in the order of the saves.
    private void OnChanged(string key)
    {
        if (key == SettingKey)
        {
            Apply(Current);
        }
    }

    /// <summary>
    /// Without settings there is no scheme: the authentication middleware asks every scheme's handler
    /// whether a request is its callback, and a handler without an authority or client id cannot be built.
    /// </summary>
    private void Apply(OidcSettings? settings)
    {
        _optionsCache.TryRemove(OidcSignIn.Scheme);
        if (settings is null)
        {
            _schemes.RemoveScheme(OidcSignIn.Scheme);
        }
        else
        {
            _schemes.TryAddScheme(new AuthenticationScheme(OidcSignIn.Scheme, "OpenID Connect", typeof(OpenIdConnectHandler)));
        }
    }

    public void Dispose()
    {
        _settings.Changed -= OnChanged;
        Backchannel.Dispose();
    }
}
