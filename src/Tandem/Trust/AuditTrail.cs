using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tandem.Trust;

/// <summary>How the APIs write to the audit log: the caller as actor, views serialised as the API shows them.</summary>
internal static class AuditTrail
{
    public static AuditRecord Record(this AuditLog log, ClaimsPrincipal user, string action, string target, object? before = null, object? after = null, string? detail = null) =>
        log.Append(user.Actor(), action, target, Node(before), Node(after), detail);

    /// <summary>
    /// Records token use for management, after the call is answered, with its status: every call
    /// that would change something (POST, PUT, PATCH, DELETE), and every call refused for a missing
    /// scope. Reads that pass are not recorded one by one: a dashboard polling with a token would bury
    /// the log, and reads of personal data are recorded where the data leaves (unmasked red PII).
    /// The query string is left out: it may carry customer data (a search term), and the log is forever.
    /// </summary>
    public static IApplicationBuilder UseTokenCallAudit(this IApplicationBuilder app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api/v1", StringComparison.Ordinal), api => api.Use(async (context, next) =>
        {
            await next(context);
            var method = context.Request.Method;
            var changes = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
            if ((changes || context.Response.StatusCode == StatusCodes.Status403Forbidden) && context.User.IsToken())
            {
                context.RequestServices.GetRequiredService<AuditLog>().Append(context.User.Actor(), "api.call",
                    $"{context.Request.Method} {context.Request.Path}", detail: $"answered {context.Response.StatusCode}");
            }
        }));

    private static JsonNode? Node(object? value) => value is null ? null : JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web);
}
