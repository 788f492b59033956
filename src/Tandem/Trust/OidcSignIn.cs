using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>
/// Console sign-in with an OpenID provider: authorization code with PKCE, handled by ASP.NET Core's
/// OpenID Connect handler (it checks the state, redeems the code, and validates the ID token's
/// signature, issuer, audience, nonce and lifetime). What Tandem adds is the last step: the email in
/// the token must belong to an existing, active member, who is then signed in exactly as with a password.
/// </summary>
internal static class OidcSignIn
{
    public const string Scheme = "Oidc";
    public const string StartPath = "/api/v1/session/oidc";
    public const string CallbackPath = StartPath + "/callback";

    /// <summary>
    /// What <c>AddOpenIdConnect</c> would register, less the scheme itself: <see cref="OidcConfiguration"/>
    /// adds and removes it as an admin configures sign-in, and fills its options from the stored settings.
    /// </summary>
    public static AuthenticationBuilder AddOidcSignIn(this AuthenticationBuilder authentication)
    {
        var services = authentication.Services;
        services.AddSingleton<OidcConfiguration>();
        services.AddSingleton<IConfigureOptions<OpenIdConnectOptions>, OidcOptionsSetup>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddOptions<OpenIdConnectOptions>(Scheme).Validate(options =>
        {
            options.Validate(Scheme);
            return true;
        });
        services.TryAddTransient<OpenIdConnectHandler>();
        return authentication;
    }

    /// <summary>Answers a refused or failed sign-in in the one error shape; the browser shows it at the callback address.</summary>
    private static async Task RefuseAsync(HttpContext context, int status, string reason, string title, string detail)
    {
        context.Response.Headers.CacheControl = "no-store";
        await Problems.Create(status, reason, title, detail).ExecuteAsync(context);
    }

    /// <summary>After the handler validated the ID token: map its email to a member, refuse or sign them in.</summary>
    private static async Task TicketReceivedAsync(TicketReceivedContext context)
    {
        context.HandleResponse(); // Tandem signs in with its own session, never with the provider's principal
        var http = context.HttpContext;
        var settings = http.RequestServices.GetRequiredService<OidcConfiguration>().Current;
        var audit = http.RequestServices.GetRequiredService<AuditLog>();
        var principal = context.Principal!;
        var ip = http.Connection.RemoteIpAddress?.ToString();
        if (settings is null)
        {
            await RefuseAsync(http, StatusCodes.Status404NotFound, "oidc_not_configured", "OIDC sign-in is not configured",
                "An admin removed OIDC sign-in while you were signing in. Sign in with your email and password.");
            return;
        }

        var emailClaim = principal.FindFirst(settings.EmailClaim);
        var issuer = emailClaim?.Issuer ?? principal.FindFirst("sub")?.Issuer ?? settings.Authority;
        var email = emailClaim?.Value.Trim();
        async Task Refuse(int status, string reason, string target, string title, string detail)
        {
            audit.Append("anonymous", "session.oidc_refused", target, detail: $"{reason}: issuer {issuer} from {ip}");
            await RefuseAsync(http, status, reason, title, detail);
        }

        if (string.IsNullOrEmpty(email) || email.Length > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            await Refuse(StatusCodes.Status403Forbidden, "email_missing", "oidc:" + issuer, "The provider did not say who you are",
                $"The ID token from {settings.DisplayName} has no usable '{settings.EmailClaim}' claim. An admin can ask for the 'email' scope or change \"emailClaim\".");
            return;
        }

        var target = audit.SignInTarget(email); // the email may be anyone's: the log keeps a keyed hash of it
        // The provider must say it checked the address: an unverified email could be anyone's, an
        // admin's included, and a multi-tenant provider lets anyone claim an address in any domain.
        // Providers that never send email_verified are believed only when an admin says so, and only for
        // the domains listed as the organisation's own; an explicit "false" is never believed.
        var verified = principal.FindFirst("email_verified")?.Value;
        var trusted = verified is null
            ? settings.TrustUnverifiedEmail && settings.AllowedEmailDomains.Count > 0
            : string.Equals(verified, "true", StringComparison.OrdinalIgnoreCase);
        if (!trusted)
        {
            await Refuse(StatusCodes.Status403Forbidden, "email_not_verified", target, "The email is not verified",
                verified is null
                    ? $"{settings.DisplayName} does not say whether {email} is verified. If the provider is the organisation's own tenant and never sends email_verified, an admin can set \"trustUnverifiedEmail\": true with the organisation's domains in \"allowedEmailDomains\"."
                    : $"{settings.DisplayName} says {email} is not verified. Verify it with the provider, then sign in again.");
            return;
        }

        if (!settings.AllowsDomainOf(email))
        {
            await Refuse(StatusCodes.Status403Forbidden, "email_domain_not_allowed", target, "This email's domain may not sign in",
                $"{email} is not in an allowed domain ({string.Join(", ", settings.AllowedEmailDomains)}).");
            return;
        }

        var members = http.RequestServices.GetRequiredService<MemberRegistry>();
        if (members.FindByEmail(email) is not { } member)
        {
            await Refuse(StatusCodes.Status403Forbidden, "unknown_member", target, "No member has this email",
                $"{email} signed in with {settings.DisplayName}, but no member of this workspace has that email. Members are not created at sign-in: ask an admin to add you.");
            return;
        }

        // Lockout is for guessed passwords; it does not apply here. A disabled member is refused all the same.
        if (member.Disabled)
        {
            await Refuse(StatusCodes.Status403Forbidden, "member_disabled", "member:" + member.Id, "The member is disabled",
                "This member was disabled by an admin and cannot sign in.");
            return;
        }

        await TrustAuthentication.StartSessionAsync(http, member);
        audit.Append("member:" + member.Id, "session.sign_in", "member:" + member.Id, detail: $"OIDC via {issuer} from {ip}");
        http.Response.Redirect(OidcApi.IsLocalUrl(context.ReturnUri) ? context.ReturnUri! : "/");
    }

    /// <summary>A callback that did not validate (forged or replayed state, a bad code, an error from the provider, a bad ID token).</summary>
    private static async Task RemoteFailureAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OidcSignIn).FullName!);
        Log.OidcSignInFailed(logger, context.Failure?.Message ?? "(no reason)", context.Failure);
        // The handler's messages are the only sign of what failed; anything unrecognised reads as oidc_failed.
        var message = context.Failure?.Message ?? "";
        var (reason, detail) = message.Contains("Correlation failed", StringComparison.Ordinal)
            ? ("oidc_correlation_failed", "This sign-in was not started from this browser, or took too long. Start again from the sign-in page.")
            : message.Contains("message.State", StringComparison.Ordinal) || message.Contains("oauth state", StringComparison.OrdinalIgnoreCase)
                ? ("oidc_state_invalid", "The sign-in answer carries no valid state: it was not started here, or it was altered. Start again from the sign-in page.")
                : ("oidc_failed", "The provider refused the sign-in, or its answer did not validate (code, ID token, signature, issuer, audience, nonce or lifetime). Start again; if it keeps failing, an admin finds the reason in the server log.");
        await RefuseAsync(http, StatusCodes.Status400BadRequest, reason, "The sign-in did not complete", detail);
    }

    /// <summary>Fills the handler's options from the stored settings; rebuilt after every change (see <see cref="OidcConfiguration.Save"/>).</summary>
    private sealed class OidcOptionsSetup(OidcConfiguration configuration) : IConfigureNamedOptions<OpenIdConnectOptions>
    {
        public void Configure(OpenIdConnectOptions options) => Configure(Options.DefaultName, options);

        public void Configure(string? name, OpenIdConnectOptions options)
        {
            if (name != Scheme || configuration.Current is not { } settings)
            {
                return;
            }

            options.Authority = settings.Authority;
            options.RequireHttpsMetadata = settings.RequiresHttps;
            options.ClientId = settings.ClientId;
            options.ClientSecret = configuration.ClientSecret(settings);
            options.Backchannel = configuration.Backchannel;
            options.ResponseType = OpenIdConnectResponseType.Code;
            // The answer comes back as a top-level GET, so its cookies can be SameSite=Lax (form_post needs None).
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.CallbackPath = CallbackPath;
            options.SignInScheme = TrustAuthentication.SessionScheme;
            options.Scope.Clear();
            foreach (var scope in settings.Scopes)
            {
                options.Scope.Add(scope);
            }

            // Claims keep their names from the ID token ("email", "email_verified"); only the signed
            // ID token speaks for the member, not the user-info endpoint.
            options.MapInboundClaims = false;
            options.GetClaimsFromUserInfoEndpoint = false;
            options.SaveTokens = false;
            options.DisableTelemetry = true;
            foreach (var cookie in new[] { options.CorrelationCookie, options.NonceCookie })
            {
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.Path = StartPath;
            }

            options.CorrelationCookie.Name = "tandem_oidc_correlation.";
            options.NonceCookie.Name = "tandem_oidc_nonce.";
            options.Events = new OpenIdConnectEvents
            {
                OnTicketReceived = TicketReceivedAsync,
                OnRemoteFailure = RemoteFailureAsync,
                // No sign-out at the provider (yet): the handler's own sign-out paths pass on to routing and find
                // nothing, so no cross-site GET of /signout-oidc can end a member's session.
                OnRemoteSignOut = context =>
                {
                    context.SkipHandler();
                    return Task.CompletedTask;
                },
                OnSignedOutCallbackRedirect = context =>
                {
                    context.SkipHandler();
                    return Task.CompletedTask;
                },
            };
        }
    }
}
