using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Storage;

namespace Tandem.Collect;

/// <summary>What ingestion does with the events of a suppressed person.</summary>
internal enum WhenSuppressed
{
    /// <summary>
    /// Leave them out, count them under their suppression, and store the rest: the collector, which
    /// answers them as accepted so a write key holder cannot learn who is suppressed.
    /// </summary>
    DropAndCount,

    /// <summary>Store nothing and refuse the request (409 <c>suppressed</c>): Tandem's own API, whose caller is a member or a token.</summary>
    Refuse,

    /// <summary>Do not look: what is appended is not a person's event (a whole unreadable body kept for the debugger).</summary>
    Keep,
}

/// <summary>Parsed events on their way into the ingest log, from one request.</summary>
/// <param name="Accepted">Valid events; <see cref="WhenSuppressed.DropAndCount"/> takes suppressed people's out of the list.</param>
/// <param name="Rejected">Refused events, kept for the debugger; suppressed people's are taken out too.</param>
internal readonly record struct IngestRequest(int SourceKey, List<StampedMessage> Accepted, List<Rejection> Rejected,
    DateTimeOffset ReceivedAt, WhenSuppressed WhenSuppressed);

/// <summary>How the ingest log took a request.</summary>
/// <param name="Commit">
/// The group commit the events are in: awaiting it is the durable acknowledgement. Null when nothing
/// was appended: refused (<paramref name="Refusal"/>), or every event was a suppressed person's.
/// </param>
/// <param name="Suppressed">Events (and refused events) left out as suppressed people's.</param>
internal readonly record struct Admission(Task<AppendResult>? Commit, int Suppressed, Refusal? Refusal);

/// <summary>
/// The one way into the ingest log: the collector's events and the consent recorded through the API
/// pass the same suppression check and the same backlog bound, and a full log refuses them alike
/// (<see cref="Overloaded"/>, answered 429 with Retry-After: 1).
/// </summary>
internal sealed class IngestionService(IEventLog log, SuppressionList suppressions, CollectMetrics metrics)
{
    /// <summary>The ingest log's backlog is past its bound (or its writer has stopped): nothing of the request was stored.</summary>
    public static readonly Refusal Overloaded = new(RefusalKind.Overloaded, "overloaded", "Tandem is catching up",
        "The ingest log's backlog is past its bound, so nothing from this request was stored. Retry after the number of seconds in Retry-After.");

    /// <summary>Nothing about a suppressed person is stored; the caller says why in its own words.</summary>
    public static readonly Refusal Suppressed = new(RefusalKind.Conflict, "suppressed", "This person is suppressed",
        "A privacy request suppressed this person, so nothing about them is stored. Lift it with an unsuppress request first.");

    /// <summary>Newest durable sequence number: what an answer for a request that stored nothing reports.</summary>
    public long Head => log.Head;

    /// <summary>
    /// Checks suppression, then queues the events for the next group commit. Synchronous on purpose: the
    /// collector's hot path pays for no state machine here, and the caller awaits <see cref="Admission.Commit"/>.
    /// </summary>
    public Admission Admit(IngestRequest request)
    {
        var suppressed = 0;
        if (request.WhenSuppressed != WhenSuppressed.Keep && suppressions.Active)
        {
            if (request.WhenSuppressed == WhenSuppressed.Refuse)
            {
                if (AnySuppressed(request))
                {
                    return new Admission(null, 0, Suppressed);
                }
            }
            else
            {
                suppressed = DropSuppressed(request);
                if (suppressed > 0 && request.Accepted.Count == 0 && request.Rejected.Count == 0)
                {
                    return new Admission(null, suppressed, null);
                }
            }
        }

        var commit = log.TryAppend(request.SourceKey, request.Accepted, request.Rejected, request.ReceivedAt);
        return commit is null ? new Admission(null, suppressed, Overloaded) : new Admission(commit, suppressed, null);
    }

    private bool AnySuppressed(IngestRequest request) =>
        request.Accepted.Exists(m => suppressions.Match(m.Json) is not null) || request.Rejected.Exists(r => suppressions.MatchRaw(r.Payload) is not null);

    /// <summary>
    /// Takes out the events of suppressed people, counting each under its suppression, and their
    /// refused events too (those are stored for the debugger otherwise); answers how many events went.
    /// </summary>
    private int DropSuppressed(IngestRequest request)
    {
        var dropped = 0;
        var accepted = request.Accepted;
        for (var i = accepted.Count - 1; i >= 0; i--)
        {
            if (suppressions.Match(accepted[i].Json) is { } suppression)
            {
                suppressions.CountDropped(suppression);
                accepted.RemoveAt(i);
                dropped++;
            }
        }

        // A suppressed person's refused events are not kept either, and are answered like the rest.
        dropped += request.Rejected.RemoveAll(r => suppressions.MatchRaw(r.Payload) is not null);
        if (dropped > 0)
        {
            metrics.Suppressed(dropped);
        }

        return dropped;
    }
}
