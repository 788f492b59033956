using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;
using Tandem.Settings;

namespace Tandem.Trust;

/// <summary>OIDC sign-in: its configuration (admins), and the public start and callback routes of the console.</summary>
internal static class OidcApi
{
    private const int MaxUrlLength = 2000;

    /// <summary>The settings as the API shows them: never the secret, at most its last four characters.</summary>
    public sealed record OidcView(string Authority, string ClientId, bool ClientSecretSet, string? ClientSecretEnd, IReadOnlyList<string> Scopes,
        string EmailClaim, string DisplayName, IReadOnlyList<string> AllowedEmailDomains, bool TrustUnverifiedEmail, string CallbackUrl, DateTimeOffset UpdatedAt);

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

    private static async Task<IResult> PutAsync(HttpRequest request, OidcConfiguration oidc, SettingsService settings, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<OidcRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        // The body is checked before the caller's rights, as it always was: a wrong body is a 400 for anyone.
        var proposed = OidcDocument.Validate(body!, oidc.Current, oidc.Protect, oidc.Now, out var refused);
        if (refused is not null)
        {
            return refused.AsSingleProblem();
        }

        if (NotEveryScope(user) is { } beyond)
        {
            return beyond;
        }

        var change = settings.Save(user.Actor(), OidcDocument.Instance, proposed, body!.ClientSecret is null ? "client secret kept" : "client secret set");
        return TypedResults.Ok(View(change.After!, oidc, request));
    }

    private static IResult Delete(OidcConfiguration oidc, SettingsService settings, ClaimsPrincipal user)
    {
        if (oidc.Current is null)
        {
            return NotConfigured();
        }

        if (NotEveryScope(user) is { } beyond)
        {
            return beyond;
        }

        settings.Save(user.Actor(), OidcDocument.Instance, null);
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
}
