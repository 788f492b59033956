using System.Diagnostics;

namespace Tandem.Hosting;

/// <summary>
/// <c>--log-requests</c>: one line per request naming the route it matched (<c>/v1/profiles/{identifier}/traits</c>),
/// never the path or query it was called with. Paths carry customer identifiers (<c>email:…</c>) and
/// queries carry search terms, and logs are kept and shipped with less care than the data.
/// </summary>
internal static class RequestLog
{
    public const string Category = "Tandem.Requests";

    /// <summary>
    /// Framework categories that write the raw URL, request line or a bound parameter's value: held at
    /// Warning whatever <c>--log-level</c> says. Their warnings and errors do not carry URLs.
    /// </summary>
    public static readonly string[] QuietCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics", // "Request starting GET http://…/v1/profiles/email:…?search=…"
        "Microsoft.AspNetCore.Routing", // "No candidates found for the request path '…'"
        "Microsoft.AspNetCore.HostFiltering", // echoes the request's Host and path
        "Microsoft.AspNetCore.Http", // request delegate binding: "Failed to bind parameter … from '…'"
        "Microsoft.AspNetCore.HttpLogging",
        "Microsoft.AspNetCore.Server.Kestrel", // request lines of bad requests, remote addresses
        "Microsoft.AspNetCore.Authentication", // the OIDC callback's URL and claims
        "Microsoft.AspNetCore.HttpOverrides", // client addresses from forwarded headers
    ];

    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                // Read after the call: routing has picked the endpoint by then.
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } pattern
                    ? (pattern.StartsWith('/') ? pattern : "/" + pattern)
                    : "(no route)";
                Log.Request(logger, context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
    }
}
