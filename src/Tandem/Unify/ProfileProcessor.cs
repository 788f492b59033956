using System.Threading.Channels;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage;

namespace Tandem.Unify;

/// <summary>Settings of the processor that builds profiles from the log.</summary>
public sealed record ProcessorOptions
{
    /// <summary>Events read from the log per round.</summary>
    public int ReadBatch { get; init; } = 2_000;

    /// <summary>Events applied per hold of the write lock; small, so Profile API reads never wait long.</summary>
    public int ApplyChunk { get; init; } = 64;

    /// <summary>A snapshot is written once this many events were applied since the last one (and on shutdown).</summary>
    public int SnapshotEveryEvents { get; init; } = 250_000;

    /// <summary>When idle, a snapshot is written if events were applied and this much time passed since the last.</summary>
    public TimeSpan SnapshotEvery { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Lowers the calling thread's scheduling priority (Linux nice 10); elsewhere it does nothing.</summary>
internal static class LowerPriority
{
    private const int PriorityProcess = 0;
    private const int Nice = 10;

    public static void OfThisThread()
    {
        if (OperatingSystem.IsLinux())
        {
            // On Linux a thread id names one thread to setpriority; failing is harmless (the thread just keeps its priority).
            _ = SetPriority(PriorityProcess, GetThreadId(), Nice);
        }
    }

    // Blittable ints only, so the classic import needs no marshalling code (and no unsafe blocks).
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}

/// <summary>Counts of the profile state, for metrics.</summary>
/// <param name="NotApplied">Events that reached no customer, by reason (exact, replayed the same way from the log).</param>
internal sealed record ProcessorStats(int Profiles, int Identifiers, long Merges, long Unattributed, IReadOnlyDictionary<string, long> NotApplied);

/// <summary>
/// The processor: reads the ingest log in sequence order from where it stopped, and applies each
/// event to the <see cref="ProfileEngine"/>. One loop owns all writes, settings changes included;
/// readers (the Profile API) share a reader lock. Restarts load <c>profiles.snapshot</c> and read the
/// log after it, so an acknowledged event is never missed, and since the engine is deterministic the
/// result is the same as if the process had never stopped.
/// </summary>
internal sealed partial class ProfileProcessor : IHostedService, IDisposable
{
    public const string Consumer = "profiles";

    private readonly IEventLog _log;
    private readonly IEventLogReader _reader;
    private readonly IEventLogMaintenance _maintenance;
    private readonly ConsumerPositions _positions;
    private readonly UnifySettings _settings;
    private readonly TimeProvider _time;
    private readonly ProcessorOptions _options;
    private readonly ILogger<ProfileProcessor> _logger;
    private readonly ISnapshotStore _snapshots;
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new() { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ManualResetEventSlim _wake = new(initialState: true, spinCount: 0);
    private readonly ITimer _snapshotTimer;
    private readonly Action _onCommitted;
    private TaskCompletionSource _progressed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ProfileEngine _engine = new();
    private Task? _loop;
    private long _position;
    private long _snapshotPosition;
    private long _definitionsVersion;
    private int _disposed;
    private DateTimeOffset _snapshotAt;
    private volatile bool _loaded;
    private volatile Exception? _fault;

    public ProfileProcessor(IEventLog log, IEventLogReader reader, IEventLogMaintenance maintenance, ConsumerPositions positions, ISnapshotStore snapshots,
        UnifySettings settings, TimeProvider time, TandemOptions options, ILogger<ProfileProcessor> logger)
    {
        _log = log;
        _reader = reader;
        _maintenance = maintenance;
        _positions = positions;
        _settings = settings;
        _time = time;
        _options = options.Processor;
        _logger = logger;
        _snapshots = snapshots;
        _snapshotTimer = time.CreateTimer(static state => ((ManualResetEventSlim)state!).Set(), _wake, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _onCommitted = _wake.Set;
        _log.Committed += _onCommitted;
        _stopping.Token.Register(_wake.Set);
    }

    /// <summary>The last log sequence number applied.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>
    /// Moves on each time the identity rules or the computed traits change (and when profiles load), after
    /// the change is applied: what depends on those definitions, such as derived PII classes, is rebuilt
    /// only when it moves.
    /// </summary>
    public long DefinitionsVersion => Interlocked.Read(ref _definitionsVersion);

    /// <summary>True once the snapshot is loaded; before that, reads would answer from an empty state.</summary>
    public bool Loaded => _loaded;

    public Exception? Fault => _fault;

    /// <summary>Counts as of the last applied chunk; read without the lock (for metrics).</summary>
    public ProcessorStats Stats { get; private set; } = new(0, 0, 0, 0, new Dictionary<string, long>());

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A thread of its own, at a lower scheduling priority: when the collector and the processor
        // compete for the CPU, acknowledging events wins, and the processor catches up afterwards.
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop = finished.Task;
        new Thread(() =>
        {
            LowerPriority.OfThisThread();
            Run();
            finished.TrySetResult();
        })
        { IsBackground = true, Name = "tandem-profile-processor" }.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            // The loop finishes its chunk and writes a last snapshot; a long backfill may outlast the
            // host's patience, in which case the next start replays from the previous snapshot.
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Reads the engine under the reader lock. Keep the work short: the processor waits for it.</summary>
    public T Read<T>(Func<ProfileEngine, T> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read(_engine);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Starts computing a trait, folds in the whole log so far (chunk by chunk), and saves the definitions.</summary>
    public Task<bool> DefineComputedTraitAsync(ComputedTraitDefinition definition, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            var existed = engine.ComputedTraits.Any(d => d.Name == definition.Name);
            Backfill(engine, definition);
            _settings.SaveComputedTraits(engine.ComputedTraits);
            Interlocked.Increment(ref _definitionsVersion);
            return existed;
        }, cancellationToken);

    /// <summary>Stops computing a trait and saves the definitions; false when there was no such trait.</summary>
    public Task<bool> RemoveComputedTraitAsync(string name, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            if (!WithWriteLock(() => engine.RemoveComputedTrait(name)))
            {
                return false;
            }

            _settings.SaveComputedTraits(engine.ComputedTraits);
            Interlocked.Increment(ref _definitionsVersion);
            return true;
        }, cancellationToken);

    /// <summary>Changes the identity rules from their current state, saves and applies them; null from <paramref name="change"/> changes nothing.</summary>
    public Task<T> ChangeRulesAsync<T>(Func<IdentityRules, (IdentityRules? Rules, T Result)> change, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            var (rules, result) = change(engine.Rules);
            if (rules is not null)
            {
                _settings.SaveRules(rules);
                WithWriteLock(() => engine.Rules = rules);
                Interlocked.Increment(ref _definitionsVersion);
            }

            return result;
        }, cancellationToken);

    /// <summary>
    /// Forgets the profile <paramref name="find"/> names (null: nothing held) once every committed event
    /// is applied: its events are deleted from the log, then a snapshot is written at once, since the
    /// previous snapshot still holds the profile. Nothing of it is left for a restart or a replay.
    /// </summary>
    public Task<ForgottenProfile?> ForgetAsync(Func<ProfileEngine, Profile?> find, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            // Appends queued before this point are committed once a no-op maintenance commit is: then
            // catching up sees every event acknowledged before the request.
            _log.BarrierAsync().GetAwaiter().GetResult();
            CatchUp();
            if (find(engine) is not { } profile)
            {
                return null;
            }

            // The log first: if deleting fails, the engine still holds the profile and a retry finds it.
            _maintenance.DeleteEventsAsync(profile.EventSeqs).GetAwaiter().GetResult();
            var forgotten = WithWriteLock(() => engine.Forget(profile));

            // The previous snapshot still holds the profile, and so may one set aside as unreadable.
            if (!Snapshot())
            {
                throw new IOException("The profile snapshot could not be rewritten without the deleted profile; retry the request once the disk is writable.");
            }

            _snapshots.DeleteSetAside();
            return forgotten;
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on the processor's thread once every committed event is applied,
    /// under the write lock: for reads that must see everything acknowledged before them (a privacy
    /// export) and for changes to many profiles at once (retention).
    /// </summary>
    public Task<T> AfterCatchUpAsync<T>(Func<ProfileEngine, T> work, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            CatchUp();
            return WithWriteLock(() => work(engine));
        }, cancellationToken);

    /// <summary>Takes deleted events out of the profiles' timelines and snapshots (retention); answers the entries removed.</summary>
    public Task<long> DropEventsAsync(IReadOnlySet<long> seqs, CancellationToken cancellationToken = default) =>
        Enqueue(engine =>
        {
            var removed = WithWriteLock(() => engine.DropEvents(seqs));
            if (removed > 0)
            {
                Snapshot();
            }

            return removed;
        }, cancellationToken);

    /// <summary>Completes once every event up to <paramref name="seq"/> is applied.</summary>
    public async Task WhenProcessedAsync(long seq, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var progressed = Volatile.Read(ref _progressed);
            if (Position >= seq)
            {
                return;
            }

            if (_fault is { } fault)
            {
                throw new InvalidOperationException("The processor stopped: " + fault.Message, fault);
            }

            await progressed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Writes the engine's canonical state; used to prove a replay equals the live state.</summary>
    public byte[] SnapshotBytes()
    {
        using var buffer = new MemoryStream();
        Read(engine =>
        {
            engine.WriteSnapshot(buffer);
            return 0;
        });
        return buffer.ToArray();
    }

    private Task<T> Enqueue<T>(Func<ProfileEngine, T> work, CancellationToken cancellationToken)
    {
        var command = new Command<T>(work, cancellationToken);
        if (_fault is { } fault || !_commands.Writer.TryWrite(command))
        {
            command.Fail(new InvalidOperationException("The profile processor has stopped; restart Tandem.", _fault));
        }
        else
        {
            _wake.Set();
        }

        return command.Task;
    }

    /// <summary>The loop, on the processor's own thread: every wait blocks that thread, so all its work keeps the lower priority.</summary>
    private void Run()
    {
        var stop = _stopping.Token;
        try
        {
            Load();
            while (!stop.IsCancellationRequested)
            {
                // Reset before looking for work: a command or commit that arrives after the look sets
                // it again, so no wake-up is lost between the look and the wait.
                _wake.Reset();
                while (_commands.Reader.TryRead(out var command))
                {
                    command.Run(_engine);
                }

                var entries = ReadNext();
                if (entries.Count == 0)
                {
                    var sinceSnapshot = _time.GetUtcNow() - _snapshotAt;
                    if (Position > _snapshotPosition && sinceSnapshot >= _options.SnapshotEvery)
                    {
                        Snapshot();
                    }

                    if (Position > _snapshotPosition)
                    {
                        var due = _options.SnapshotEvery - sinceSnapshot;
                        _snapshotTimer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                    }

                    // One event, set by a commit, a command, the snapshot timer or stopping: a cheap
                    // wait for a loop that wakes once per group commit under load.
                    _wake.Wait();
                    continue;
                }

                Apply(entries);
                if (Position - _snapshotPosition >= _options.SnapshotEveryEvents)
                {
                    Snapshot();
                }
            }

            if (Position > _snapshotPosition)
            {
                Snapshot();
            }
        }
        catch (Exception ex)
        {
            _fault = ex;
            Log.ProcessorFailed(_logger, ex);
            Interlocked.Exchange(ref _progressed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
        finally
        {
            _commands.Writer.TryComplete();
            while (_commands.Reader.TryRead(out var command))
            {
                command.Fail(new InvalidOperationException("The profile processor has stopped; restart Tandem.", _fault));
            }
        }
    }

    /// <summary>Applies every event committed so far (on the processor's thread, from a command).</summary>
    private void CatchUp()
    {
        while (ReadNext() is { Count: > 0 } entries)
        {
            Apply(entries);
        }
    }

    /// <summary>
    /// The next events to apply. When none are left below the log's head, the events up to it were
    /// deleted before they were applied (a privacy delete of the newest events, then a replay): the
    /// position moves to the head, or it would wait for them forever and every reader waiting to see
    /// the head processed with it.
    /// </summary>
    private IReadOnlyList<LogEntry> ReadNext()
    {
        var head = _log.Head; // read first: every event up to it is committed, so the read below sees it if it is there
        var entries = _reader.ReadAfter(Position, _options.ReadBatch);
        if (entries.Count == 0 && head > Position)
        {
            WithWriteLock(() => _engine.SkipTo(head));
            Interlocked.Exchange(ref _position, head);
            _positions.Report(Consumer, head);
            Interlocked.Exchange(ref _progressed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        return entries;
    }

    /// <summary>Builds the engine from the snapshot (or from nothing) and publishes it only once it is complete.</summary>
    private void Load()
    {
        var rules = _settings.LoadRules();
        var engine = new ProfileEngine(rules);
        try
        {
            using var file = _snapshots.OpenRead();
            if (file is not null)
            {
                engine = ProfileEngine.ReadSnapshot(new BufferedStream(file, 1 << 20), rules);
                Log.SnapshotLoaded(_logger, engine.Position, engine.ProfileCount);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or ArgumentException)
        {
            // A damaged snapshot is only a lost shortcut: set it aside and rebuild from the log.
            Log.SnapshotUnreadable(_logger, _snapshots.SetAside(), ex);
            engine = new ProfileEngine(rules);
        }

        // Computed traits are configuration: make the engine's set match what is saved.
        var wanted = _settings.LoadComputedTraits();
        foreach (var held in engine.ComputedTraits.ToList())
        {
            if (!wanted.Contains(held))
            {
                engine.RemoveComputedTrait(held.Name);
            }
        }

        foreach (var definition in wanted)
        {
            if (!engine.ComputedTraits.Contains(definition))
            {
                Backfill(engine, definition);
            }
        }

        WithWriteLock(() => _engine = engine);
        Interlocked.Increment(ref _definitionsVersion);
        Interlocked.Exchange(ref _position, engine.Position);
        _snapshotPosition = engine.Position;
        _positions.Report(Consumer, engine.Position);
        _snapshotAt = _time.GetUtcNow();
        UpdateStats();
        _loaded = true;
    }

    private void Apply(IReadOnlyList<LogEntry> entries)
    {
        for (var start = 0; start < entries.Count; start += _options.ApplyChunk)
        {
            var end = Math.Min(entries.Count, start + _options.ApplyChunk);
            _lock.EnterWriteLock();
            try
            {
                for (var i = start; i < end; i++)
                {
                    // The engine never throws for an event: one it cannot apply is counted with its
                    // reason and the position moves on, so one bad event never stops the ones after it.
                    var entry = entries[i];
                    if (_engine.Apply(entry.Seq, entry.SourceKey, entry.Payload).NotApplied is { } notApplied)
                    {
                        LogNotApplied(notApplied);
                    }
                }
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            Interlocked.Exchange(ref _position, entries[end - 1].Seq);
            UpdateStats();
            Interlocked.Exchange(ref _progressed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        _positions.Report(Consumer, Position);
    }

    private void UpdateStats()
    {
        var notApplied = Stats.NotApplied.Values.Sum() == _engine.NotApplied.Total
            ? Stats.NotApplied
            : new Dictionary<string, long>(_engine.NotApplied.Totals, StringComparer.Ordinal);
        Stats = new ProcessorStats(_engine.ProfileCount, _engine.IdentifierCount, _engine.MergeCount, _engine.EventsUnattributed, notApplied);
    }

    private void LogNotApplied(NotAppliedEvent e)
    {
        // Events that name no one are an outcome of the data and can be many; the rest are faults worth a warning.
        if (e.Reason is NotAppliedReason.NoIdentifier or NotAppliedReason.BlockedIdentifier)
        {
            Log.EventUnattributed(_logger, e.Seq, e.Reason);
        }
        else
        {
            Log.EventNotApplied(_logger, e.Seq, e.Reason, e.Detail);
        }
    }

    private void Backfill(ProfileEngine engine, ComputedTraitDefinition definition)
    {
        var backfill = WithWriteLock(() => engine.StartComputedTrait(definition));
        var after = 0L;
        while (after < engine.Position)
        {
            var entries = _reader.ReadAfter(after, _options.ReadBatch);
            if (entries.Count == 0)
            {
                break;
            }

            WithWriteLock(() =>
            {
                foreach (var entry in entries)
                {
                    try
                    {
                        backfill.Apply(entry.Seq, entry.Payload);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // Only events the engine applied are folded in; one it applied but cannot fold
                        // in now is a defect that leaves this trait without it, so it is logged loudly.
                        Log.BackfillFailed(_logger, entry.Seq, definition.Name, ex);
                    }
                }

                return 0;
            });
            after = entries[^1].Seq;
        }
    }

    /// <summary>Writes the snapshot; false when it could not be written (disk full or the like).</summary>
    private bool Snapshot()
    {
        var written = false;
        try
        {
            // The loop is the only writer, so reading the engine here needs no lock.
            _snapshots.Write(_engine.WriteSnapshot);
            _snapshotPosition = _engine.Position;

            // The snapshot is where a restart resumes, so it is also the durable checkpoint.
            _positions.Save(Consumer, _snapshotPosition);
            Log.SnapshotWritten(_logger, _snapshotPosition, _engine.ProfileCount);
            written = true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Disk full, a read-only folder or the like: profiles stay right in memory and the log still holds every
            // event; try again at the next occasion.
            Log.SnapshotFailed(_logger, ex);
        }

        _snapshotAt = _time.GetUtcNow();
        return written;
    }

    private T WithWriteLock<T>(Func<T> action)
    {
        _lock.EnterWriteLock();
        try
        {
            return action();
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void Dispose()
    {
        // The container disposes this twice (as itself and as a hosted service).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _log.Committed -= _onCommitted;
        _snapshotTimer.Dispose();
        _stopping.Cancel();
        if (_loop is { IsCompleted: false })
        {
            return; // still finishing: leave the lock to it rather than pull it away mid-chunk
        }

        // _wake is left to the collector: a commit on the log's writer thread may still be setting it,
        // and without a wait handle (never asked for) it holds nothing to release.
        _stopping.Dispose();
        _lock.Dispose();
    }

    private abstract class Command
    {
        public abstract void Run(ProfileEngine engine);

        public abstract void Fail(Exception error);
    }

    private sealed class Command<T>(Func<ProfileEngine, T> work, CancellationToken cancellationToken) : Command
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _done.Task;

        public override void Run(ProfileEngine engine)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _done.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                _done.TrySetResult(work(engine));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _done.TrySetException(ex);
            }
        }

        public override void Fail(Exception error) => _done.TrySetException(error);
    }
}
