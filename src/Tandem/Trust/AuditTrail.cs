using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>How the APIs write to the audit log: the caller as actor, views serialised as the API shows them.</summary>
internal static class AuditTrail
{
    public static AuditRecord Record(this AuditLog log, ClaimsPrincipal user, string action, string target, object? before = null, object? after = null, string? detail = null) =>
        log.Append(user.Actor(), action, target, Node(before), Node(after), detail);

    /// <summary>As <see cref="Record(AuditLog, ClaimsPrincipal, string, string, object?, object?, string?)"/>, for services that know the caller by its actor.</summary>
    public static AuditRecord Record(this AuditLog log, string actor, string action, string target, object? before = null, object? after = null, string? detail = null) =>
        log.Append(actor, action, target, Node(before), Node(after), detail);

    /// <summary>Set on <see cref="HttpContext.Items"/> by a route that answers 404 because policy hides what exists: counted as a refusal.</summary>
    public const string RefusedByPolicy = "tandem.refused_by_policy";

    private static readonly System.Buffers.SearchValues<char> PlainValue =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

    // Route values that name Tandem's own things (a source, a token, a member, a trait, a profile id).
    // {identifier} is never kept: it is a customer's email or phone.
    private static readonly string[] NonPersonalRouteValues = ["id", "name", "profileId"];

    /// <summary>
    /// Records token use for management, after the call is answered, with its status: every call
    /// that would change something (POST, PUT, PATCH, DELETE), and refusals (sampled, see
    /// <see cref="AuditLog.Refused"/>). Reads that pass are not recorded one by one: a dashboard polling
    /// with a token would bury the log, and reads of personal data are recorded where the data leaves
    /// (unmasked red PII). The target is the route's pattern, never the path or query: they may carry
    /// customer data (an email identifier, a search term), and the log is forever.
    /// Before a change runs, the log must be able to take its record; if not, the change is not made.
    /// </summary>
    public static IApplicationBuilder UseTokenCallAudit(this IApplicationBuilder app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api/v1", StringComparison.Ordinal), api => api.Use(async (context, next) =>
        {
            var method = context.Request.Method;
            var changes = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
            var log = context.RequestServices.GetRequiredService<AuditLog>();
            if (changes && !log.Ready())
            {
                context.Response.Headers.RetryAfter = "5";
                await Problems.Create(StatusCodes.Status503ServiceUnavailable, "audit_unavailable", "The audit log cannot record changes now",
                    "Changes are recorded in the audit log, which cannot be written at the moment (its anchor file audit.head in the data folder is not writable), so nothing was changed. Try again in a few seconds; an operator should check the data folder's permissions and free space.")
                    .ExecuteAsync(context);
                return;
            }

            await next(context);
            var status = context.Response.StatusCode;
            var route = $"{method} {RoutePattern(context)}";
            if (IsRefusal(context, status) && RefusedCaller(context) is { } who)
            {
                log.Refused(context.User.IsToken() ? context.User.Actor() : "anonymous", who, route, status);
            }
            else if (changes && context.User.IsToken())
            {
                log.Append(context.User.Actor(), "api.call", route, detail: $"answered {status}{(status is >= 200 and < 300 ? RouteValues(context) : "")}");
            }
        }));

    /// <summary>
    /// Records a failed sign-in against a keyed hash of the email typed. Attempts refused for throttling
    /// or lockout (429) are sampled like any refusal, per address: a client hammering the sign-in
    /// route costs two records a minute, not one per attempt.
    /// </summary>
    public static void SignInRefused(this AuditLog log, SignInOutcome outcome, string email, string? ip)
    {
        var action = outcome switch
        {
            SignInOutcome.LockedOut => "session.locked_out",
            SignInOutcome.AddressThrottled => "session.address_throttled",
            _ => "session.sign_in_failed",
        };
        var detail = $"{outcome} from {ip}";
        if (outcome is SignInOutcome.LockedOut or SignInOutcome.AddressThrottled)
        {
            log.Refused("anonymous", "address:" + (ip ?? "unknown"), "POST /api/v1/session", StatusCodes.Status429TooManyRequests, action, log.SignInTarget(email), detail);
        }
        else
        {
            log.Append("anonymous", action, log.SignInTarget(email), detail: detail);
        }
    }

    /// <summary>The matched route's pattern, such as <c>/api/v1/profiles/{identifier}/consent</c>; <c>(no route)</c> when none matched.</summary>
    public static string RoutePattern(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } raw ? (raw.Length > 1 ? raw.TrimEnd('/') : raw) : "(no route)";

    private static bool IsRefusal(HttpContext context, int status) =>
        status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden or StatusCodes.Status429TooManyRequests
        || (status == StatusCodes.Status404NotFound && context.Items.ContainsKey(RefusedByPolicy));

    /// <summary>Whom refusals are counted by: a token, or the address of a caller that sent credentials; null for a caller that sent none (a signed-out console).</summary>
    private static string? RefusedCaller(HttpContext context) =>
        context.User.IsToken() ? context.User.Actor()
        : context.Request.Headers.Authorization.Count > 0 ? "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown")
        : null;

    private static string RouteValues(HttpContext context)
    {
        var kept = NonPersonalRouteValues
            .Where(name => context.Request.RouteValues.TryGetValue(name, out var value) && value is string text && IsPlain(text))
            .Select(name => $"{name}={context.Request.RouteValues[name]}");
        var text = string.Join(", ", kept);
        return text.Length == 0 ? "" : "; " + text;
    }

    private static bool IsPlain(string value) => value.Length is > 0 and <= 64 && !value.AsSpan().ContainsAnyExcept(PlainValue);

    private static JsonNode? Node(object? value) => value is null ? null : JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web);
}
