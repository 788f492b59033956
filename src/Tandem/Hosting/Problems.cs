using Microsoft.AspNetCore.Http.HttpResults;

namespace Tandem.Hosting;

/// <summary>
/// The one error shape of Tandem: RFC 7807 problem details that say what was wrong (<c>title</c>,
/// <c>detail</c>), where (<c>field</c>), and carry a stable machine-readable <c>code</c> (also written
/// <c>reason</c>, its name before <c>code</c> was added; both stay).
/// </summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string reason, string title, string detail, string? field = null,
        IDictionary<string, object?>? extensions = null)
    {
        var all = new Dictionary<string, object?>(StringComparer.Ordinal) { ["code"] = reason, ["reason"] = reason };
        if (field is not null)
        {
            all["field"] = field;
        }

        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                all[key] = value;
            }
        }

        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: "urn:tandem:problem:" + reason, extensions: all);
    }

    /// <summary>A 400 for a settings document with one or more problems: the first in <c>detail</c> and <c>field</c>, all in <c>errors</c>.</summary>
    public static ProblemHttpResult Invalid(string reason, string title, IReadOnlyList<(string Field, string Detail)> errors) =>
        Create(StatusCodes.Status400BadRequest, reason, title,
            errors.Count == 1 ? errors[0].Detail : $"{errors.Count} problems; the first, at {errors[0].Field}: {errors[0].Detail}", errors[0].Field,
            new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { field = e.Field, detail = e.Detail }).ToArray() });

    public static ProblemHttpResult NotFound(string what, string id) => From(Refusal.NotFound(what, id));

    /// <summary>The one place a service's refusal becomes an HTTP answer (a throttled caller's Retry-After is the handler's to set).</summary>
    public static ProblemHttpResult From(Refusal refusal) =>
        Create(refusal.Kind switch
        {
            RefusalKind.Invalid => StatusCodes.Status400BadRequest,
            RefusalKind.Unauthorized => StatusCodes.Status401Unauthorized,
            RefusalKind.NotFound => StatusCodes.Status404NotFound,
            RefusalKind.Conflict => StatusCodes.Status409Conflict,
            RefusalKind.Forbidden => StatusCodes.Status403Forbidden,
            RefusalKind.Throttled or RefusalKind.Overloaded => StatusCodes.Status429TooManyRequests,
            RefusalKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal.Kind, null),
        }, refusal.Code, refusal.Title, refusal.Detail, refusal.Field, refusal.Extensions is null ? null : new Dictionary<string, object?>(refusal.Extensions));

    /// <summary>
    /// <see cref="From"/> with the Retry-After header HTTP clients and retry libraries read: one second for
    /// an overloaded log, the refusal's own <c>retryAfterSeconds</c> when it says one. A throttled caller's
    /// header depends on the clock and stays the handler's to set.
    /// </summary>
    public static IResult Answer(Refusal refusal)
    {
        var problem = From(refusal);
        if (refusal.Kind == RefusalKind.Overloaded)
        {
            return new WithRetryAfter(problem, 1);
        }

        return refusal.Extensions?.GetValueOrDefault(RetryAfterSeconds) is int seconds ? new WithRetryAfter(problem, seconds) : problem;
    }

    /// <summary>The problem extension that says when to come back; <see cref="Answer"/> sends it as Retry-After too.</summary>
    public const string RetryAfterSeconds = "retryAfterSeconds";

    public static ProblemHttpResult Unauthorized(string detail) =>
        Create(StatusCodes.Status401Unauthorized, "unauthorized", "Authentication required", detail, "Authorization");
}

/// <summary>A problem answered with Retry-After: HTTP clients and retry libraries read the header, not the body.</summary>
internal sealed class WithRetryAfter(IResult problem, int seconds) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return problem.ExecuteAsync(httpContext);
    }
}
