using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Collect;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Read the audit log, its head (for an outside system to keep), and check it.</summary>
internal static partial class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("Audit");
        audit.MapGet("/", List).RequireScope(Scopes.AuditRead)
            .WithSummary("Audit records, newest first (?actor=, ?action= exact or prefix.*, ?target=, ?since=, ?until=, ?limit= ≤ 500, ?before= cursor)");
        audit.MapGet("/head", (AuditLog log) => TypedResults.Ok(log.Head)).RequireScope(Scopes.AuditRead)
            .WithSummary("The newest record's seq, hash and (with an audit key) MAC: record it elsewhere now and then to anchor the log outside Tandem");
        audit.MapGet("/verify", (AuditLog log) => TypedResults.Ok(log.VerifyOwn())).RequireScope(Scopes.AuditRead)
            .WithSummary("Checks every record, link and the anchor; says intact, or where the first problem is");
        return api;
    }

    private static IResult List(string? actor, string? action, string? target, string? since, string? until, string? limit, string? before, AuditLog log,
        PiiGuard pii, HttpContext context)
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
        var page = log.Query(query);
        var lens = pii.For(context);
        var shown = new AuditPage([.. page.Records.Select(r => AsSeenBy(lens, r))], page.Next);
        lens.AuditRead();
        return TypedResults.Ok(shown);
    }

    /// <summary>
    /// A record as the reader may see it, by the same policy as every read path. Records name people by
    /// profile id or masked identifier only, but a record written before that rule (or a member's email
    /// in a member.* record: members are staff) still passes through the reader's view: emails in the
    /// target and detail, and fields of before and after by their names.
    /// </summary>
    private static AuditRecord AsSeenBy(PiiLens lens, AuditRecord record) => record with
    {
        Target = MaskEmails(lens, record.Target, "audit.target"),
        Detail = record.Detail is null ? null : MaskEmails(lens, record.Detail, "audit.detail"),
        Before = record.Before is JsonObject before ? lens.Traits(before, "audit.before") : record.Before,
        After = record.After is JsonObject after ? lens.Traits(after, "audit.after") : record.After,
    };

    private static string MaskEmails(PiiLens lens, string text, string where) =>
        text.Contains('@', StringComparison.Ordinal)
            ? Email().Replace(text, m => lens.Identifier("email", m.Value, where) ?? "(hidden)")
            : text;

    [System.Text.RegularExpressions.GeneratedRegex(@"[^\s:@,;()<>""']+@[^\s:@,;()<>""']+")]
    private static partial System.Text.RegularExpressions.Regex Email();

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
