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

    /// <summary>How often windowed computed traits drop what the clock moved past.</summary>
    public TimeSpan ExpireEvery { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Counts of the profile state, for metrics.</summary>
internal sealed record ProcessorStats(int Profiles, int Identifiers, long Merges, long Unattributed);

/// <summary>
/// The processor: reads the ingest log in sequence order from where it stopped, and applies each
/// event to the <see cref="ProfileEngine"/>. One loop owns all writes; readers (the Profile API)
/// share a reader lock. Restarts load <c>profiles.snapshot</c> and read the log after it, so an
/// acknowledged event is never missed, and since the engine is deterministic the result is the
/// same as if the process had never stopped.
/// </summary>
internal sealed partial class ProfileProcessor : IHostedService, IDisposable
{
    public const string Consumer = "profiles";

    private readonly IngestLog _log;
    private readonly ControlStore _control;
    private readonly UnifySettings _settings;
    private readonly TimeProvider _time;
    private readonly ProcessorOptions _options;
    private readonly ILogger<ProfileProcessor> _logger;
    private readonly string _snapshotPath;
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly Channel<Func<ProfileEngine, Task>> _commands = Channel.CreateUnbounded<Func<ProfileEngine, Task>>(new() { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _progressed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ProfileEngine _engine = new();
    private Task? _loop;
    private long _position;
    private long _snapshotPosition;
    private DateTimeOffset _snapshotAt;
    private volatile bool _loaded;
    private volatile Exception? _fault;

    public ProfileProcessor(IngestLog log, ControlStore control, UnifySettings settings, TimeProvider time, TandemOptions options, ILogger<ProfileProcessor> logger)
    {
        _log = log;
        _control = control;
        _settings = settings;
        _time = time;
        _options = options.Processor;
        _logger = logger;
        _snapshotPath = Path.Combine(options.DataDirectory, "profiles.snapshot");
    }

    /// <summary>The last log sequence number applied.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>True once the snapshot is loaded; before that, reads would answer from an empty state.</summary>
    public bool Loaded => _loaded;

    public Exception? Fault => _fault;

    /// <summary>Counts as of the last applied chunk; read without the lock (for metrics).</summary>
    public ProcessorStats Stats { get; private set; } = new(0, 0, 0, 0);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
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

    /// <summary>Runs a change on the processor's loop, between events, under the write lock.</summary>
    public Task<T> ChangeAsync<T>(Func<ProfileEngine, T> change)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Writer.TryWrite(engine =>
        {
            try
            {
                done.TrySetResult(WithWriteLock(() => change(engine)));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }

            return Task.CompletedTask;
        });
        return done.Task;
    }

    /// <summary>Starts computing a trait and folds in the whole log so far, chunk by chunk, on the processor's loop.</summary>
    public Task DefineComputedTraitAsync(ComputedTraitDefinition definition)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Writer.TryWrite(engine =>
        {
            try
            {
                Backfill(engine, definition);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }

            return Task.CompletedTask;
        });
        return done.Task;
    }

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

    private async Task RunAsync()
    {
        var stop = _stopping.Token;
        try
        {
            Load();
            var expireAt = _time.GetUtcNow() + _options.ExpireEvery;
            while (!stop.IsCancellationRequested)
            {
                while (_commands.Reader.TryRead(out var command))
                {
                    await command(_engine);
                }

                var now = _time.GetUtcNow();
                if (now >= expireAt)
                {
                    WithWriteLock(() => _engine.ExpireWindows(now));
                    expireAt = now + _options.ExpireEvery;
                }

                var entries = _log.ReadAfter(Position, _options.ReadBatch);
                if (entries.Count == 0)
                {
                    if (Position > _snapshotPosition && _time.GetUtcNow() - _snapshotAt >= _options.SnapshotEvery)
                    {
                        Snapshot();
                    }

                    using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    var delay = expireAt - _time.GetUtcNow();
                    await Task.WhenAny(
                        _log.WhenHeadPastAsync(Position, wake.Token),
                        _commands.Reader.WaitToReadAsync(wake.Token).AsTask(),
                        Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, _time, wake.Token));
                    await wake.CancelAsync();
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
    }

    private void Load()
    {
        var rules = _settings.LoadRules();
        var engine = new ProfileEngine(rules);
        if (File.Exists(_snapshotPath))
        {
            using var file = File.OpenRead(_snapshotPath);
            engine = ProfileEngine.ReadSnapshot(new BufferedStream(file, 1 << 20), rules);
            Log.SnapshotLoaded(_logger, engine.Position, engine.ProfileCount);
        }

        _engine = engine;
        Interlocked.Exchange(ref _position, engine.Position);
        _snapshotPosition = engine.Position;
        _snapshotAt = _time.GetUtcNow();

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
                    var entry = entries[i];
                    _engine.Apply(entry.Seq, entry.SourceKey, entry.Payload);
                }
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            Interlocked.Exchange(ref _position, entries[end - 1].Seq);
            Stats = new ProcessorStats(_engine.ProfileCount, _engine.IdentifierCount, _engine.MergeCount, _engine.EventsUnattributed);
            Interlocked.Exchange(ref _progressed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        _control.SaveCheckpoint(Consumer, Position);
    }

    private void Backfill(ProfileEngine engine, ComputedTraitDefinition definition)
    {
        var backfill = WithWriteLock(() => engine.StartComputedTrait(definition));
        var after = 0L;
        while (after < engine.Position)
        {
            var entries = _log.ReadAfter(after, _options.ReadBatch);
            if (entries.Count == 0)
            {
                break;
            }

            WithWriteLock(() =>
            {
                foreach (var entry in entries)
                {
                    backfill.Apply(entry.Seq, entry.Payload);
                }

                return 0;
            });
            after = entries[^1].Seq;
        }
    }

    private void Snapshot()
    {
        var temporary = _snapshotPath + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            // The loop is the only writer, so reading the engine here needs no lock.
            _engine.WriteSnapshot(file);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, _snapshotPath, overwrite: true);
        _snapshotPosition = _engine.Position;
        _snapshotAt = _time.GetUtcNow();
        Log.SnapshotWritten(_logger, _snapshotPosition, _engine.ProfileCount);
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
        _stopping.Dispose();
        _lock.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Profiles loaded from snapshot at log position {Position}: {Profiles} profiles")]
        public static partial void SnapshotLoaded(ILogger logger, long position, int profiles);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Profile snapshot written at log position {Position}: {Profiles} profiles")]
        public static partial void SnapshotWritten(ILogger logger, long position, int profiles);

        [LoggerMessage(Level = LogLevel.Critical, Message = "The profile processor stopped")]
        public static partial void ProcessorFailed(ILogger logger, Exception exception);
    }
}
