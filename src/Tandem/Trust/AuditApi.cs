using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Collect;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Read the audit log, its head (for an outside system to keep), and check it.</summary>
internal static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("Audit");
        audit.MapGet("/", List).RequireScope(Scopes.AuditRead)
            .WithSummary("Audit records, newest first (?actor=, ?action= exact or prefix.*, ?target=, ?since=, ?until=, ?limit= ≤ 500, ?before= cursor)");
        audit.MapGet("/head", (AuditLog log) => TypedResults.Ok(log.Head)).RequireScope(Scopes.AuditRead)
            .WithSummary("The newest record's seq and hash: record it elsewhere now and then to anchor the log outside Tandem");
        audit.MapGet("/verify", (TandemOptions options) => TypedResults.Ok(AuditLog.Verify(options.DataDirectory))).RequireScope(Scopes.AuditRead)
            .WithSummary("Checks every record, link and the anchor; says intact, or where the first problem is");
        return api;
    }

    private static IResult List(string? actor, string? action, string? target, string? since, string? until, string? limit, string? before, AuditLog log)
    {
        var (max, badLimit) = Paging.Limit(limit, AuditQuery.DefaultLimit, AuditQuery.MaxLimit);
        var (cursor, badCursor) = Paging.Sequence(before, "before");
        if ((badLimit ?? badCursor) is { } invalid)
        {
            return invalid;
        }

        if (!string.IsNullOrEmpty(action) && action.Contains('*', StringComparison.Ordinal)
            && (action.Length < 3 || !action.EndsWith(".*", StringComparison.Ordinal) || action.AsSpan(0, action.Length - 1).Contains('*')))
        {
            return Invalid("action", $"'{action}' is not an action filter: give an exact action such as source.create, or a prefix ending in .* such as source.*.");
        }

        if (Time("since", since, out var from) is { } badSince)
        {
            return badSince;
        }

        if (Time("until", until, out var to) is { } badUntil)
        {
            return badUntil;
        }

        if (from >= to)
        {
            return Invalid("until", $"until ({until}) must be later than since ({since}): records are taken from since up to, not including, until.");
        }

        var query = new AuditQuery(NullIfEmpty(actor), NullIfEmpty(action), NullIfEmpty(target), from, to, max, cursor);
        return TypedResults.Ok(log.Query(query));
    }

    /// <summary>Reads an ISO 8601 time (<c>2026-11-23T12:00:00Z</c>, with fraction or offset) or a date (<c>2026-11-23</c>, midnight UTC).</summary>
    private static ProblemHttpResult? Time(string field, string? value, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (IsoTime.TryParseFast(Encoding.UTF8.GetBytes(value), out var instant))
        {
            time = instant;
            return null;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            time = new DateTimeOffset(date, TimeOnly.MinValue, TimeSpan.Zero);
            return null;
        }

        return Invalid(field, $"'{value}' is not an ISO 8601 time: use 2026-11-23T12:00:00Z, a time with an offset (write + as %2B in a URL), or a date such as 2026-11-23.");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static ProblemHttpResult Invalid(string field, string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_parameter", $"'{field}' is not valid", detail, field);
}
