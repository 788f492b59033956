using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Sources;
using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Unify;

/// <summary>
/// The processor's own account of itself: how far it has read the log, and every event it read that
/// reached no customer, with the reason.
/// </summary>
internal static class ProcessorApi
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    /// <param name="EventsNotApplied">Events read that reached no customer; <paramref name="NotApplied"/> splits them by reason (every reason listed, zeros included).</param>
    public sealed record ProcessorView(bool Loaded, long Position, long Head, long Lag, long EventsApplied, long EventsUnattributed,
        int Profiles, int Identifiers, long Merges, int Accounts, string? Fault, long EventsNotApplied, IReadOnlyDictionary<string, long> NotApplied);

    /// <param name="ReceivedAt">When the collector received it; null when the stored event does not say (it is not readable JSON).</param>
    public sealed record NotAppliedView(long Seq, string? SourceId, string? SourceName, string? MessageId, string? Type, string Reason, string Detail,
        DateTimeOffset? ReceivedAt);

    /// <param name="Next">The cursor for the next (older) page, to pass as <c>before</c>; null on the last page.</param>
    public sealed record NotAppliedPage(IReadOnlyList<NotAppliedView> Events, long? Next);

    public static RouteGroupBuilder MapProcessorApi(this RouteGroupBuilder api)
    {
        api.MapGet("/processor", Status).RequireScope(Scopes.IdentityRead).WithTags("Profiles")
            .WithSummary("How far the profile processor has read the log, and how many events it could not apply, by reason");
        api.MapGet("/processor/not-applied", NotApplied).RequireScope(Scopes.IdentityRead).WithTags("Profiles")
            .WithSummary($"Events read from the log that reached no customer, with the reason, newest first (?limit= ≤ {MaxLimit}, ?before= cursor); the newest {NotAppliedEvents.Kept:N0} are kept");
        return api;
    }

    private static IResult Status(ProfileProcessor processor, IEventLog log) => TypedResults.Ok(processor.Read(engine =>
    {
        var head = log.Head;
        var notApplied = NotAppliedReason.All.ToDictionary(r => r, r => engine.NotApplied.Totals.GetValueOrDefault(r), StringComparer.Ordinal);
        foreach (var (reason, count) in engine.NotApplied.Totals)
        {
            notApplied[reason] = count;
        }

        return new ProcessorView(processor.Loaded, processor.Position, head, Math.Max(0, head - processor.Position), engine.EventsApplied,
            engine.EventsUnattributed, engine.ProfileCount, engine.IdentifierCount, engine.MergeCount, engine.AccountCount, processor.Fault?.Message,
            engine.NotApplied.Total, notApplied);
    }));

    /// <summary>
    /// Shows no event content, only where to find the event (its seq and source) and why it was not
    /// applied; the source's event feed shows the event itself, masked by the PII policy.
    /// </summary>
    private static IResult NotApplied(string? limit, string? before, ProfileProcessor processor, SourceRegistry sources)
    {
        var (max, limitProblem) = Paging.Limit(limit, DefaultLimit, MaxLimit);
        if (limitProblem is not null)
        {
            return limitProblem;
        }

        var (cursor, cursorProblem) = Paging.Sequence(before, "before");
        if (cursorProblem is not null)
        {
            return cursorProblem;
        }

        // One more than asked says whether an older page exists.
        var found = processor.Read(engine => engine.NotApplied.Newest(max + 1, cursor));
        var page = found.Take(max).Select(e =>
        {
            var source = sources.FindByKey(e.SourceKey);
            return new NotAppliedView(e.Seq, source?.Id, source?.Name, e.MessageId, e.Type, e.Reason, e.Detail,
                e.ReceivedAtMs == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(e.ReceivedAtMs));
        }).ToArray();
        return TypedResults.Ok(new NotAppliedPage(page, found.Count > max ? page[^1].Seq : null));
    }
}
