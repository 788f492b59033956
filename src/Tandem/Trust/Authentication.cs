using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>
/// Who is calling: an API token (<c>Authorization: Bearer</c>) or a member signed in to the console
/// (a session cookie, with a CSRF token on every change). Both become the same claims, so every route
/// checks one thing: does the caller hold the route's scope.
/// </summary>
internal static class TrustAuthentication
{
    public const string Scheme = "Tandem";
    public const string TokenScheme = "ApiToken";
    public const string SessionScheme = "Session";
    public const string SessionCookie = "tandem_session";
    public const string CsrfHeader = "X-CSRF-Token";
    public const string SignedInPolicy = "signed-in";

    public const string CallerClaim = "tandem:caller";
    public const string MemberClaim = "tandem:member";
    public const string ScopeClaim = "tandem:scope";
    public const string CsrfClaim = "tandem:csrf";
    public const string ExpiresClaim = "tandem:expires";
    public const string StampClaim = "tandem:stamp";

    /// <summary>Why authentication failed, kept for the 401 answer.</summary>
    internal const string FailureItem = "tandem.auth.failure";

    public static IServiceCollection AddTrust(this IServiceCollection services, string dataDirectory)
    {
        // Session cookies are sealed with keys kept in the data folder, so sign-ins survive a restart.
        services.AddDataProtection()
            .SetApplicationName("Tandem")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "keys")));
        services.AddSingleton<AuditLog>();
        services.AddSingleton<MemberRegistry>();
        services.AddSingleton<TokenRegistry>();
        services.AddSingleton<AdminContinuity>();
        services.AddSingleton<MembersService>();
        services.AddSingleton<TokensService>();
        services.AddSingleton<SessionsService>();
        services.AddSingleton<PiiGuard>();
        services.AddSingleton<TrustMetrics>();
        services.AddSingleton<BadTokenThrottle>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(TrustMetrics.MeterName));
        // No default scheme: the collector's requests (write keys) never run the token handler; routes
        // that need a caller name the scheme through their policy.
        services.AddAuthentication()
            .AddPolicyScheme(Scheme, "API token or console session", options => options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.Count == 0 && context.Request.Cookies.ContainsKey(SessionCookie) ? SessionScheme : TokenScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(TokenScheme, null)
            .AddCookie(SessionScheme, options =>
            {
                options.Cookie.Name = SessionCookie;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
                options.Events.OnRedirectToLogin = context => Task.CompletedTask; // an API answers 401, it does not redirect
                options.Events.OnRedirectToAccessDenied = context => Task.CompletedTask;
                options.Events.OnValidatePrincipal = RefreshSession;
            })
            .AddOidcSignIn();
        services.AddAuthorization(options =>
        {
            foreach (var scope in Scopes.Catalog.Keys)
            {
                options.AddPolicy(PolicyName(scope), policy => policy.AddAuthenticationSchemes(Scheme).AddRequirements(new ScopeRequirement(scope)));
            }

            options.AddPolicy(SignedInPolicy, policy => policy.AddAuthenticationSchemes(Scheme).AddRequirements(new ScopeRequirement(null)));
        });
        services.AddSingleton<IAuthorizationHandler, ScopeHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemResultHandler>();
        return services;
    }

    public static string PolicyName(string scope) => "scope:" + scope;

    /// <summary>The route needs a caller holding <paramref name="scope"/>.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder
    {
        if (!Scopes.Catalog.ContainsKey(scope))
        {
            throw new ArgumentException($"'{scope}' is not in the scope catalog.", nameof(scope));
        }

        return builder.RequireAuthorization(PolicyName(scope)).WithMetadata(new RouteAccess(scope));
    }

    /// <summary>The route is open to any signed-in member or valid token, whatever its scopes (e.g. "who am I").</summary>
    public static TBuilder RequireSignedIn<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(SignedInPolicy).WithMetadata(new RouteAccess(RouteAccess.SignedIn));

    /// <summary>The route is public on purpose (the collector, health, sign-in).</summary>
    public static TBuilder AllowPublic<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AllowAnonymous().WithMetadata(new RouteAccess(RouteAccess.Public));

    /// <summary>Claims for a member signed in to the console, or for a token acting for them.</summary>
    /// <param name="roles">The roles the caller reads personal data as, when not the member's own (a minted token narrowed by its parent).</param>
    public static ClaimsPrincipal Principal(string authenticationType, string caller, Member? member, IEnumerable<string> scopes, string? csrf = null,
        IReadOnlyList<string>? roles = null)
    {
        var claims = new List<Claim> { new(CallerClaim, caller) };
        if (member is not null)
        {
            claims.Add(new Claim(MemberClaim, member.Id));
            claims.Add(new Claim(ClaimTypes.Name, member.Email));
        }

        claims.AddRange((roles ?? member?.Roles ?? []).Select(role => new Claim(ClaimTypes.Role, role)));

        claims.AddRange(scopes.Select(scope => new Claim(ScopeClaim, scope)));
        if (csrf is not null)
        {
            // A console session: its CSRF token, and the member's session stamp at sign-in.
            claims.Add(new Claim(CsrfClaim, csrf));
            claims.Add(new Claim(StampClaim, member?.SessionStamp ?? ""));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>Starts a console session for the member (the session cookie) and returns its CSRF token: one way for every sign-in.</summary>
    public static async Task<string> StartSessionAsync(HttpContext context, Member member)
    {
        var csrf = RandomNumberGenerator.GetHexString(32, lowercase: true);
        await context.SignInAsync(SessionScheme, Principal(SessionScheme, "member:" + member.Id, member, member.Scopes, csrf));
        return csrf;
    }

    /// <summary>A session's roles are read again on every request: a member disabled or demoted loses access at once.</summary>
    private static Task RefreshSession(CookieValidatePrincipalContext context)
    {
        var members = context.HttpContext.RequestServices.GetRequiredService<MemberRegistry>();
        var member = context.Principal?.FindFirstValue(MemberClaim) is { } id ? members.Find(id) : null;
        if (member is null || member.Disabled || context.Principal!.FindFirstValue(StampClaim) != member.SessionStamp)
        {
            context.RejectPrincipal();
            context.HttpContext.Items[FailureItem] = new AuthFailure("session_ended",
                "The session has ended: the member signed out, changed password, or was removed or disabled. Sign in again.");
            return Task.CompletedTask;
        }

        context.ReplacePrincipal(Principal(SessionScheme, "member:" + member.Id, member, member.Scopes, context.Principal!.FindFirstValue(CsrfClaim)));
        return Task.CompletedTask;
    }
}

/// <summary>Why authentication failed, for the answer: 401 unless a lock says 429 (with the seconds for Retry-After).</summary>
internal sealed record AuthFailure(string Reason, string Detail, int Status = StatusCodes.Status401Unauthorized, int? RetryAfterSeconds = null);

/// <summary>What a route requires, as endpoint metadata: a scope, any signed-in caller, or nothing (public).</summary>
internal sealed record RouteAccess(string Requirement)
{
    public const string SignedIn = "(signed in)";
    public const string Public = "(public)";
}

/// <summary>The caller as the APIs see it.</summary>
internal static class CallerExtensions
{
    /// <summary>The caller as the services take it.</summary>
    public static Caller ToCaller(this ClaimsPrincipal user) => new(user.Actor(), user.MemberId(), user.Scopes(), user.IsToken(), user.TokenExpiry());

    /// <summary>How the audit log names the caller: <c>member:mbr_…</c> or <c>token:tok_…</c>.</summary>
    public static string Actor(this ClaimsPrincipal user) => user.FindFirstValue(TrustAuthentication.CallerClaim) ?? "anonymous";

    public static string? MemberId(this ClaimsPrincipal user) => user.FindFirstValue(TrustAuthentication.MemberClaim);

    public static IReadOnlySet<string> Scopes(this ClaimsPrincipal user) =>
        user.FindAll(TrustAuthentication.ScopeClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);

    public static IReadOnlyList<string> Roles(this ClaimsPrincipal user) => [.. user.FindAll(ClaimTypes.Role).Select(c => c.Value)];

    public static bool Holds(this ClaimsPrincipal user, string scope) =>
        user.HasClaim(TrustAuthentication.ScopeClaim, Trust.Scopes.All) || user.HasClaim(TrustAuthentication.ScopeClaim, scope);

    public static bool IsToken(this ClaimsPrincipal user) => user.Identity?.AuthenticationType == TrustAuthentication.TokenScheme;

    /// <summary>When the calling token expires; null for sessions and tokens without expiry.</summary>
    public static DateTimeOffset? TokenExpiry(this ClaimsPrincipal user) =>
        user.FindFirstValue(TrustAuthentication.ExpiresClaim) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, System.Globalization.CultureInfo.InvariantCulture)) : null;
}

/// <summary>Reads <c>Authorization: Bearer</c> API tokens and says precisely why one is refused.</summary>
internal sealed class ApiTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenRegistry tokens,
    MemberRegistry members,
    BadTokenThrottle throttle) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return Fail("bad_credentials", "Basic credentials carry write keys, for the collector (/v1/track and the like). This API takes an API token: \"Authorization: Bearer <token>\".");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.AsSpan(7).Trim().Length == 0)
        {
            return Fail("bad_credentials", "The Authorization header must be \"Bearer <token>\" with an API token.");
        }

        // Checked before the token is looked up: a stopped address learns nothing, not even a right guess.
        var address = Context.Connection.RemoteIpAddress?.ToString() ?? "";
        if (throttle.StoppedUntil(address) is { } stopped)
        {
            return TooManyBadTokens(stopped);
        }

        var token = tokens.FindBySecret(header[7..].Trim());
        if (token is null)
        {
            return throttle.Failed(address) is { } until
                ? TooManyBadTokens(until)
                : Fail("invalid_token", "The API token is not valid. Check for a copy-paste error, or ask an admin for a token.");
        }

        // Revoked, expired, an owner or maker gone, a parent that no longer works: each says so. A token
        // never holds more than its owner and its parent hold now: demoting either narrows it at once.
        var standing = TokenStanding.Of(token, tokens, members, TimeProvider.GetUtcNow());
        if (standing.Failure is { } failure)
        {
            return Fail(failure);
        }

        // An ownerless token that reads as admin carries no role: the PII guard reads that as admin.
        IReadOnlyList<string>? roles = standing.Owner is not null || !standing.ReadsAs.Contains(Roles.Admin) ? standing.ReadsAs : null;
        var principal = TrustAuthentication.Principal(TrustAuthentication.TokenScheme, "token:" + token.Id, standing.Owner, standing.Scopes, roles: roles);
        if (token.ExpiresAt is { } expiry)
        {
            ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(TrustAuthentication.ExpiresClaim,
                expiry.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, TrustAuthentication.TokenScheme)));
    }

    private Task<AuthenticateResult> Fail(string reason, string detail) => Fail(new AuthFailure(reason, detail));

    private Task<AuthenticateResult> Fail(AuthFailure failure)
    {
        Context.Items[TrustAuthentication.FailureItem] = failure;
        return Task.FromResult(AuthenticateResult.Fail(failure.Detail));
    }

    private Task<AuthenticateResult> TooManyBadTokens(DateTimeOffset until) => Fail(new AuthFailure(BadTokenThrottle.Reason,
        $"{BadTokenThrottle.MaxBadTokens} API tokens that do not exist came from your address within {BadTokenThrottle.Window.TotalMinutes:N0} minutes, so no API token is accepted from it until {until:u}. Check the token your client sends.",
        StatusCodes.Status429TooManyRequests, (int)Math.Ceiling((until - TimeProvider.GetUtcNow()).TotalSeconds)));
}

/// <summary>A scope a route needs; null means any authenticated caller.</summary>
internal sealed record ScopeRequirement(string? Scope) : IAuthorizationRequirement;

/// <summary>Grants a route when the caller holds its scope, and refuses console changes that lack the CSRF token.</summary>
internal sealed class ScopeHandler : AuthorizationHandler<ScopeRequirement>
{
    public const string CsrfFailure = "csrf";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            return Task.CompletedTask;
        }

        if (user.Identity.AuthenticationType == TrustAuthentication.SessionScheme && context.Resource is HttpContext http && !CsrfHolds(http, user))
        {
            context.Fail(new AuthorizationFailureReason(this, CsrfFailure));
            return Task.CompletedTask;
        }

        if (requirement.Scope is null || user.Holds(requirement.Scope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A session cookie travels with any request the browser makes, even one forged by another site;
    /// the CSRF token does not, since only Tandem's own pages read it from the sign-in answer.
    /// </summary>
    private static bool CsrfHolds(HttpContext http, ClaimsPrincipal user)
    {
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method))
        {
            return true;
        }

        var expected = user.FindFirstValue(TrustAuthentication.CsrfClaim);
        var sent = http.Request.Headers[TrustAuthentication.CsrfHeader].ToString();
        return expected is not null && sent.Length > 0
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(sent));
    }
}

/// <summary>Answers refused calls with problem details that say what is missing and how to get it.</summary>
internal sealed class ProblemResultHandler : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context);
            return;
        }

        IResult problem;
        if (authorizeResult.Challenged)
        {
            var failure = context.Items[TrustAuthentication.FailureItem] as AuthFailure
                ?? new AuthFailure("unauthorized", "This API needs an API token (\"Authorization: Bearer <token>\") or a console session. The first admin token is printed on first start.");
            if (failure.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            problem = Problems.Create(failure.Status, failure.Reason,
                failure.Status == StatusCodes.Status429TooManyRequests ? "Too many unknown API tokens from this address" : "Authentication required", failure.Detail, "Authorization");
        }
        else if (authorizeResult.AuthorizationFailure?.FailureReasons.Any(r => r.Message == ScopeHandler.CsrfFailure) == true)
        {
            problem = Problems.Create(StatusCodes.Status403Forbidden, "csrf_token_missing", "The CSRF token is missing or wrong",
                $"Changes made with a console session must send the {TrustAuthentication.CsrfHeader} header with the csrfToken from the sign-in answer (GET /api/v1/session repeats it).",
                TrustAuthentication.CsrfHeader);
        }
        else
        {
            var scope = policy.Requirements.OfType<ScopeRequirement>().FirstOrDefault()?.Scope ?? "(none)";
            problem = Problems.Create(StatusCodes.Status403Forbidden, "missing_scope", "The caller lacks a scope this call needs",
                $"{context.Request.Method} {context.Request.Path} needs the '{scope}' scope. A member's roles decide their scopes; an API token holds the scopes it was created with, never more than its owner's. Ask an admin.",
                "Authorization", new Dictionary<string, object?> { ["scope"] = scope });
        }

        await problem.ExecuteAsync(context);
    }
}
