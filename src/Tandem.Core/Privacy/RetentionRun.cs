using System.Text.Json.Nodes;

namespace Tandem.Privacy;

/// <summary>The rule that decides how long one event is kept, and the time before which it is due.</summary>
/// <param name="Rule"><c>defaultDays</c>, <c>types.page</c> or <c>events["Page Viewed"]</c>.</param>
/// <param name="Days">Null: kept forever.</param>
public sealed record RetentionCutoff(string Rule, int? Days, DateTimeOffset? Cutoff);

/// <summary>What one retention run removed.</summary>
/// <param name="ByRule">Events removed per rule (<c>defaultDays</c>, <c>types.page</c>, <c>events["Page Viewed"]</c>).</param>
/// <param name="ByType">Events removed per call type (<c>track</c>, <c>page</c>…).</param>
/// <param name="ByEvent">Track events removed per event name.</param>
/// <param name="TimelineEntries">Entries taken out of profiles' event lists.</param>
public sealed record RetentionRemoved(long Events, IReadOnlyDictionary<string, long> ByRule, IReadOnlyDictionary<string, long> ByType,
    IReadOnlyDictionary<string, long> ByEvent, long Rejections, long TimelineEntries);

/// <summary>The report of one retention run, as stored and as the API shows it.</summary>
/// <param name="Trigger"><c>schedule</c> (the timer) or <c>manual</c> (<c>POST /api/v1/retention/runs</c>).</param>
/// <param name="Status"><c>completed</c>, <c>failed</c> (see <paramref name="Error"/>) or <c>interrupted</c> (the server stopped); counts say what was removed before it ended.</param>
/// <param name="Cutoffs">Each rule of the policy the run used, with the time before which its events were due.</param>
public sealed record RetentionRun(long Id, string Trigger, string Actor, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Status,
    string? Error, JsonObject Policy, IReadOnlyList<RetentionCutoff> Cutoffs, RetentionRemoved Removed)
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";
}
