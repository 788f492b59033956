using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>Settings of the retention job.</summary>
public sealed record RetentionOptions
{
    /// <summary>Time between two scheduled runs, counted from the start of the last run.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most rows one deletion removes in the log writer's transaction; collector commits run in between.</summary>
    public int ChunkEvents { get; init; } = 50_000;
}

/// <summary>
/// Enforces the retention policy: on a timer and on demand, deletes the events (and refused events)
/// older than their rule from the ingest log, takes them out of profile timelines, and records what
/// it removed (a run report in <c>tandem.db</c>, a <c>retention.run</c> audit record).
/// </summary>
/// <remarks>
/// A run reads the log on a reader connection and hands only the deletions to the log's writer, in
/// chunks, so the collector keeps committing in between. Deleted events are first taken out of the
/// profiles (after the processor has applied them) and only then out of the log: a crash between the
/// two leaves events that the next run deletes, never a timeline that points at nothing. Events are
/// never changed, only deleted, so running again removes only what has come due since.
/// </remarks>
internal sealed partial class RetentionJob : IHostedService, IDisposable
{
    public const string SystemActor = "system:retention";
    public const string Scheduled = "schedule";
    public const string Manual = "manual";

    /// <summary>
    /// The log is in sequence order, and sequence follows arrival time closely but not exactly (requests
    /// stamped in one order may commit in another). The scan stops at the first event this far past
    /// the newest cutoff; an event stamped out of order by more than this is removed by a later run.
    /// </summary>
    private static readonly TimeSpan ArrivalSlack = TimeSpan.FromDays(1);

    /// <summary>An overdue run waits this long after start, so it does not compete with loading profiles.</summary>
    private static readonly TimeSpan StartDelay = TimeSpan.FromMinutes(1);

    /// <summary>Chunks of deletions gathered before the profiles are updated (each update writes a profile snapshot).</summary>
    private const int ChunksPerProfileUpdate = 20;

    private readonly IEventLogMaintenance _log;
    private readonly ProfileProcessor _processor;
    private readonly SettingsService _settings;
    private readonly IRetentionRunStore _runs;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly RetentionOptions _options;
    private readonly ILogger<RetentionJob> _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _removed;
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private TaskCompletionSource<RetentionRun> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextRunAtMs;

    public RetentionJob(IEventLogMaintenance log, ProfileProcessor processor, SettingsService settings, IRetentionRunStore runs, AuditLog audit, TimeProvider time,
        TandemOptions options, IMeterFactory meters, ILogger<RetentionJob> logger)
    {
        _log = log;
        _processor = processor;
        _settings = settings;
        _runs = runs;
        _audit = audit;
        _time = time;
        _options = options.Retention;
        _logger = logger;
        _meter = meters.Create(MeterName);
        _removed = _meter.CreateCounter<long>("tandem.retention.removed", "{row}", "Rows removed by retention, by kind (event, rejection)");
    }

    public const string MeterName = "Tandem.Retention";

    /// <summary>The policy in force; changed through <see cref="SettingsService"/> with <see cref="RetentionPolicyDocument"/>.</summary>
    public RetentionPolicy Policy => _settings.Current(RetentionPolicyDocument.Instance)!;

    public TimeSpan Interval => _options.Interval;

    /// <summary>When the timer runs retention next (null before the job has started).</summary>
    public DateTimeOffset? NextRunAt => Interlocked.Read(ref _nextRunAtMs) is > 0 and var ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>Completes when the next run ends, whatever started it: lets tests wait for the timer without polling.</summary>
    public Task<RetentionRun> NextRunFinished => Volatile.Read(ref _finished).Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(static state => ((RetentionJob)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ScheduleAfter(_runs.Latest()?.StartedAt);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // A run in progress stops at its next chunk and records what it removed.
        try
        {
            await _running.WaitAsync(cancellationToken);
            _running.Release();
        }
        catch (OperationCanceledException)
        {
            // The host ran out of patience; the run's report may be lost, never its deletions' consistency.
        }
    }

    /// <summary>Runs retention now with the current policy; waits for a run in progress to end first.</summary>
    public async Task<RetentionRun> RunAsync(string trigger, string actor)
    {
        var stopping = _stopping.Token;
        await _running.WaitAsync(stopping);
        var started = _time.GetUtcNow();
        try
        {
            var policy = Policy;
            var tally = new Tally();
            var status = RetentionRun.Completed;
            string? error = null;
            try
            {
                await RemoveEventsAsync(policy, started, tally, stopping);
                await RemoveRejectionsAsync(policy, started, tally, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                status = RetentionRun.Interrupted;
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException or ObjectDisposedException)
            {
                status = RetentionRun.Failed;
                error = ex.Message;
                Log.RunFailed(_logger, ex);
            }

            var run = _runs.Add(new RetentionRun(0, trigger, actor, started, _time.GetUtcNow(), status, error, policy.ToJson(),
                policy.Cutoffs(started), tally.Report()));
            if (trigger == Manual || run.Removed.Events > 0 || run.Removed.Rejections > 0 || status != RetentionRun.Completed)
            {
                // A scheduled run that found nothing due is in the run list, not the audit log: one an hour would bury it.
                _audit.Append(actor, "retention.run", $"retention:run:{run.Id}", after: AuditView(run),
                    detail: $"{status}: {run.Removed.Events} events, {run.Removed.Rejections} refused events removed" + (error is null ? "" : "; " + error));
            }

            Log.RunFinished(_logger, run.Id, status, run.Removed.Events, run.Removed.Rejections);
            Interlocked.Exchange(ref _finished, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(run);
            return run;
        }
        finally
        {
            if (!stopping.IsCancellationRequested)
            {
                ScheduleAfter(started);
            }

            _running.Release();
        }
    }

    private static JsonObject AuditView(RetentionRun run) => new()
    {
        ["trigger"] = run.Trigger,
        ["status"] = run.Status,
        ["cutoffs"] = new JsonArray([.. run.Cutoffs.Select(c => new JsonObject { ["rule"] = c.Rule, ["days"] = c.Days, ["cutoff"] = c.Cutoff })]),
        ["removed"] = System.Text.Json.JsonSerializer.SerializeToNode(run.Removed, System.Text.Json.JsonSerializerOptions.Web),
    };

    private void OnTimer() => _ = Task.Run(async () =>
    {
        try
        {
            await RunAsync(Scheduled, SystemActor);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping: the next start schedules the run again.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The report or its audit record could not be written; the next run tries again.
            Log.RunFailed(_logger, ex);
        }
    });

    /// <summary>Arms the timer for one interval after the last run's start (a restart does not push retention back), and never sooner than a short delay from now.</summary>
    private void ScheduleAfter(DateTimeOffset? lastStart)
    {
        var now = _time.GetUtcNow();
        var at = lastStart is { } last ? last + _options.Interval : now + _options.Interval;
        if (at < now + StartDelay)
        {
            at = now + StartDelay;
        }

        Interlocked.Exchange(ref _nextRunAtMs, at.ToUnixTimeMilliseconds());
        _timer?.Change(at - now, Timeout.InfiniteTimeSpan);
    }

    private async Task RemoveEventsAsync(RetentionPolicy policy, DateTimeOffset now, Tally tally, CancellationToken cancellationToken)
    {
        var cutoffs = policy.Cutoffs(now).Where(c => c.Cutoff is not null).Select(c => c.Cutoff!.Value).ToList();
        if (cutoffs.Count == 0)
        {
            return;
        }

        var stopAt = (cutoffs.Max() + ArrivalSlack).ToUnixTimeMilliseconds();
        var nowMs = now.ToUnixTimeMilliseconds();
        var head = _log.Head; // events committed after the run started are newer than any cutoff
        var due = new Dictionary<long, (string Rule, MessageType Type, string? Event)>();
        var after = 0L;
        var reachedRecent = false;
        while (!reachedRecent)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = _log.ScanForRetention(after, head, _options.ChunkEvents);
            foreach (var row in rows)
            {
                after = row.Seq;
                if (row.ReceivedAtMs >= stopAt)
                {
                    reachedRecent = true;
                    break;
                }

                var (rule, days) = policy.RuleFor(row.Type, row.EventName);
                if (days is { } d && row.ReceivedAtMs < nowMs - (d * TimeSpan.MillisecondsPerDay))
                {
                    due[row.Seq] = (rule, row.Type, row.EventName);
                }
            }

            reachedRecent |= rows.Count < _options.ChunkEvents;
            if (due.Count >= _options.ChunkEvents * ChunksPerProfileUpdate)
            {
                await RemoveDueAsync(due, tally, cancellationToken);
            }
        }

        await RemoveDueAsync(due, tally, cancellationToken);
    }

    /// <summary>Takes the due events out of the profiles (once the processor has applied them), then out of the log, chunk by chunk.</summary>
    private async Task RemoveDueAsync(Dictionary<long, (string Rule, MessageType Type, string? Event)> due, Tally tally, CancellationToken cancellationToken)
    {
        if (due.Count == 0)
        {
            return;
        }

        var seqs = due.Keys.Order().ToArray();
        await _processor.WhenProcessedAsync(seqs[^1], cancellationToken);
        tally.TimelineEntries += await _processor.DropEventsAsync(seqs.ToHashSet(), cancellationToken);
        foreach (var chunk in seqs.Chunk(_options.ChunkEvents))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var deleted = await _log.RemoveEventsAsync(chunk);

            // Counted from what the deletion returned: an event a privacy request deleted meanwhile is not counted twice.
            foreach (var seq in deleted)
            {
                tally.Event(due[seq]);
            }

            _removed.Add(deleted.Count, new KeyValuePair<string, object?>("kind", "event"));
        }

        due.Clear();
    }

    /// <summary>Refused events hold raw payloads; they follow the default rule (they have no trustworthy name or type).</summary>
    private async Task RemoveRejectionsAsync(RetentionPolicy policy, DateTimeOffset now, Tally tally, CancellationToken cancellationToken)
    {
        if (RetentionPolicy.Due(policy.DefaultDays, now) is not { } cutoff)
        {
            return;
        }

        int removed;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            removed = await _log.DeleteRejectionsReceivedBeforeAsync(cutoff, _options.ChunkEvents);
            tally.Rejections += removed;
            _removed.Add(removed, new KeyValuePair<string, object?>("kind", "rejection"));
        }
        while (removed == _options.ChunkEvents);
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _stopping.Dispose();
        _meter.Dispose();
        _running.Dispose();
    }

    private sealed class Tally
    {
        private readonly SortedDictionary<string, long> _byRule = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, long> _byType = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, long> _byEvent = new(StringComparer.Ordinal);
        private long _events;

        public long Rejections { get; set; }

        public long TimelineEntries { get; set; }

        public void Event((string Rule, MessageType Type, string? Event) removed)
        {
            _events++;
            Add(_byRule, removed.Rule);
            Add(_byType, removed.Type.Name());
            if (removed.Event is { } name)
            {
                Add(_byEvent, name);
            }
        }

        public RetentionRemoved Report() => new(_events, _byRule, _byType, _byEvent, Rejections, TimelineEntries);

        private static void Add(SortedDictionary<string, long> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
    }
}
