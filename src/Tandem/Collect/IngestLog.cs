using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Tandem.Storage;

namespace Tandem.Collect;

/// <summary>Settings of the durable ingest log.</summary>
public sealed record IngestLogOptions
{
    /// <summary>Events with a messageId already stored for the same source within this window are dropped as retries.</summary>
    public TimeSpan DedupWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Events waiting for a group commit beyond which the collector answers 429.</summary>
    public int MaxBacklogEvents { get; init; } = 250_000;

    /// <summary>Most events written by one commit; bounds the latency one fsync adds to a request.</summary>
    public int MaxGroupEvents { get; init; } = 25_000;

    /// <summary>Size past which the journal starts over, once everything in it is in log.db.</summary>
    public long JournalRestartBytes { get; init; } = 64L << 20;
}

/// <summary>What one append did: events stored, events dropped as duplicates, the last sequence number used.</summary>
public readonly record struct AppendResult(int Stored, int Deduplicated, long LastSeq);

/// <summary>One stored event, as the log holds it.</summary>
public readonly record struct LogEntry(long Seq, int SourceKey, DateTimeOffset ReceivedAt, byte[] Payload);

/// <summary>One refused event, as the log holds it.</summary>
public sealed record StoredRejection(long Id, DateTimeOffset ReceivedAt, int? Index, string Reason, string Field, string Detail, byte[] Payload);

/// <summary>
/// The append-only, sequence-numbered ingest log. Requests enqueue their events; one writer thread
/// drains whatever has queued, appends it to the journal (<see cref="IngestJournal"/>) with one write
/// and one fdatasync (group commit), then completes every request in the group. A request is
/// acknowledged only after that sync, so an acknowledged event survives <c>kill -9</c>.
/// </summary>
/// <remarks>
/// A second thread, the store, copies committed events into <c>log.db</c> (SQLite) in large
/// transactions, a few times a second or when thousands are waiting; that is where every reader but
/// the in-memory tail finds them. Until then they are held in the tail, which is never allowed to
/// drop an event log.db does not have yet. On start, journal records log.db lacks are copied in
/// before anything else is served.
/// </remarks>
/// <remarks>
/// Deduplication by (source, messageId) happens on the writer thread, against an in-memory index of
/// 128-bit hashes covering the dedup window. The index is rebuilt from the log on start, which is what
/// makes the window survive restarts without a second write per event.
/// </remarks>
internal sealed class IngestLog : IDisposable
{
    private readonly string _path;
    private readonly IngestLogOptions _options;
    private readonly TimeProvider _time;
    private readonly SqliteConnection _writer;
    private readonly IngestJournal _journal;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new() { SingleReader = true });
    private readonly Thread _thread;
    private readonly Thread _storeThread;
    private readonly ManualResetEventSlim _commitsAllowed = new(initialState: true);
    private readonly Dictionary<UInt128, long> _dedup = [];
    private readonly Queue<(UInt128 Key, long ReceivedAtMs)> _dedupOrder = new();
    private long _head;

    // The newest committed events, in a ring indexed by seq. It always holds every event the store
    // has not copied into log.db yet (the writer stores inline rather than overrun it), so a reader
    // finds any committed event either here or in the file. A consumer that keeps up (the profile
    // processor) reads from here instead of querying the file it was just written to.
    private const int TailCapacity = 1 << 16;
    private readonly LogEntry[] _tail = new LogEntry[TailCapacity];
    private readonly Lock _tailGate = new();
    private long _tailFirst = 1;

    // Committed to the journal, not yet in log.db: groups in commit order, taken by whoever stores.
    private const int StoreBatchEvents = 8192;
    private static readonly TimeSpan StoreDelay = TimeSpan.FromMilliseconds(20);
    private readonly Lock _storeGate = new();
    private readonly Lock _unstoredGate = new();
    private readonly List<PendingAppend> _unstored = [];
    private readonly SemaphoreSlim _storeWake = new(0); // released when the first unstored group arrives
    private readonly ManualResetEventSlim _storeFull = new(); // set when a full batch waits
    private long _unstoredEvents;
    private long _storedHead;
    private volatile bool _stopping;

    private long _pendingEvents;
    private long _commits;
    private long _walTruncationsMissed;
    private volatile Exception? _fault;

    public IngestLog(string dataDirectory, IngestLogOptions options, TimeProvider time)
    {
        _path = Path.Combine(dataDirectory, "log.db");
        _options = options;
        _time = time;
        _writer = SqliteDatabase.Open(_path);

        // Deleted rows (privacy requests, retention) are overwritten, not just unlinked. Inserts, the
        // hot path, free no pages and pay nothing for it.
        SqliteDatabase.Execute(_writer, "PRAGMA secure_delete=ON;");
        SqliteDatabase.Execute(_writer, """
            CREATE TABLE IF NOT EXISTS events(
                seq INTEGER PRIMARY KEY, source_key INTEGER NOT NULL, message_id TEXT NOT NULL,
                type INTEGER NOT NULL, received_at INTEGER NOT NULL, payload BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS events_by_source ON events(source_key, seq);
            CREATE TABLE IF NOT EXISTS rejections(
                id INTEGER PRIMARY KEY, source_key INTEGER NOT NULL, received_at INTEGER NOT NULL,
                batch_index INTEGER, reason TEXT NOT NULL, field TEXT NOT NULL, detail TEXT NOT NULL,
                payload BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS rejections_by_source ON rejections(source_key, id);
            CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """);
        _journal = new IngestJournal(dataDirectory, options.JournalRestartBytes);
        var nextRecord = Replay();
        _head = ReadHead();
        _storedHead = _head;
        _tailFirst = _head + 1;
        _journal.Restart(nextRecord);
        RebuildDedupIndex();
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "tandem-ingest-log" };
        _thread.Start();
        _storeThread = new Thread(StoreLoop) { IsBackground = true, Name = "tandem-log-store" };
        _storeThread.Start();
    }

    /// <summary>Sequence number of the newest durable event (0 when the log is empty).</summary>
    public long Head => Interlocked.Read(ref _head);

    /// <summary>Group commits done since start: events stored ÷ commits is the mean group size.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Events and rejections queued and not yet committed.</summary>
    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>Set when the writer has stopped; the collector then reports not ready.</summary>
    public Exception? Fault => _fault;

    /// <summary>
    /// Queues events (and rejections) for the next group commit. Returns null when the backlog is past
    /// its bound: the caller answers 429 and nothing is stored.
    /// </summary>
    public Task<AppendResult>? TryAppend(int sourceKey, IReadOnlyList<StampedMessage> messages, IReadOnlyList<Rejection> rejections, DateTimeOffset receivedAt)
    {
        var count = messages.Count + rejections.Count;
        if (Interlocked.Read(ref _pendingEvents) >= _options.MaxBacklogEvents || _fault is not null)
        {
            return null;
        }

        Interlocked.Add(ref _pendingEvents, count);
        var pending = new PendingAppend(sourceKey, messages, rejections, receivedAt.ToUnixTimeMilliseconds());
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Add(ref _pendingEvents, -count);
            return null;
        }

        Enqueued?.Invoke();
        return pending.Completion.Task;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on log.db once everything committed before it is stored there,
    /// inside a transaction that nothing else writes in: how events are deleted (privacy requests,
    /// retention). Deleted event content is overwritten on disk (<c>secure_delete</c>), the
    /// write-ahead log is truncated and the journal wiped after the commit, so the bytes do not
    /// linger; the in-memory tail is dropped so no reader is served a deleted event from memory.
    /// </summary>
    public Task<T> MaintainAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        T result = default!;
        var pending = new PendingAppend(0, [], [], _time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            Maintenance = (connection, transaction) => result = work(connection, transaction),
        };
        if (_fault is { } fault)
        {
            return Task.FromException<T>(new InvalidOperationException("The ingest log has stopped: " + fault.Message, fault));
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            return Task.FromException<T>(new ObjectDisposedException(nameof(IngestLog)));
        }

        return pending.Completion.Task.ContinueWith(t => t.IsCompletedSuccessfully ? result : throw t.Exception!.InnerException!,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Deletes the events with these sequence numbers; answers how many were there.</summary>
    public Task<int> DeleteEventsAsync(IReadOnlyCollection<long> seqs) =>
        seqs.Count == 0 ? Task.FromResult(0) : MaintainAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM events WHERE seq IN (SELECT value FROM json_each($seqs))";
            command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', seqs) + "]");
            return command.ExecuteNonQuery();
        });

    /// <summary>
    /// Copies everything committed so far into log.db now, for readers that query the file itself
    /// (refused events, retention) rather than through this class.
    /// </summary>
    public void Flush()
    {
        lock (_storeGate)
        {
            StoreUnstored();
        }
    }

    /// <summary>Raised after a request's events are queued; lets tests observe a backlog without polling.</summary>
    internal event Action? Enqueued;

    /// <summary>Raised on the writer thread after each group commit, once <see cref="Head"/> has moved: keep handlers short.</summary>
    public event Action? Committed;

    /// <summary>Events after <paramref name="afterSeq"/> in sequence order: how consumers read from their checkpoint.</summary>
    public IReadOnlyList<LogEntry> ReadAfter(long afterSeq, int max)
    {
        if (ReadTail(afterSeq, max) is { } recent)
        {
            return recent;
        }

        // Older than the tail holds, so in log.db: the tail never drops what the file lacks.
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, source_key, received_at, payload FROM events WHERE seq > $after ORDER BY seq LIMIT $max";
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$max", max);
        return ReadEntries(command);
    }

    /// <summary>The events after <paramref name="afterSeq"/> from the in-memory tail, or null when some of them are older than it holds.</summary>
    private List<LogEntry>? ReadTail(long afterSeq, int max)
    {
        lock (_tailGate)
        {
            var head = Head;
            if (afterSeq + 1 < _tailFirst || afterSeq >= head)
            {
                return afterSeq >= head ? [] : null;
            }

            var count = (int)Math.Min(max, head - afterSeq);
            var result = new List<LogEntry>(count);
            for (var seq = afterSeq + 1; seq <= afterSeq + count; seq++)
            {
                result.Add(_tail[seq % TailCapacity]);
            }

            return result;
        }
    }

    /// <summary>Puts a committed group into the tail and publishes the new head, under the tail's lock.</summary>
    private void PublishCommitted(List<PendingAppend> group, long head)
    {
        lock (_tailGate)
        {
            foreach (var pending in group)
            {
                var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(pending.ReceivedAtMs);
                foreach (var (seq, index) in pending.StoredEntries)
                {
                    _tail[seq % TailCapacity] = new LogEntry(seq, pending.SourceKey, receivedAt, pending.Messages[index].Json);
                }
            }

            _tailFirst = Math.Max(_tailFirst, head - TailCapacity + 1);
            Interlocked.Exchange(ref _head, head);
        }
    }

    /// <summary>Forgets the tail after events were deleted: readers go to log.db, which then holds everything.</summary>
    private void DropTail()
    {
        lock (_tailGate)
        {
            Array.Clear(_tail);
            _tailFirst = Head + 1;
        }
    }

    /// <summary>The events with these sequence numbers, in the order asked (missing ones are left out).</summary>
    public IReadOnlyList<LogEntry> ReadSeqs(IReadOnlyList<long> seqs)
    {
        if (seqs.Count == 0)
        {
            return [];
        }

        // From the tail first: what it no longer holds was in log.db before it left.
        var bySeq = new Dictionary<long, LogEntry>(seqs.Count);
        var inFile = new List<long>();
        lock (_tailGate)
        {
            var head = Head;
            foreach (var seq in seqs)
            {
                if (seq >= _tailFirst && seq <= head)
                {
                    bySeq[seq] = _tail[seq % TailCapacity];
                }
                else
                {
                    inFile.Add(seq);
                }
            }
        }

        if (inFile.Count > 0)
        {
            using var connection = SqliteDatabase.Open(_path, reader: true);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq, source_key, received_at, payload FROM events WHERE seq IN (SELECT value FROM json_each($seqs))";
            command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', inFile) + "]");
            foreach (var entry in ReadEntries(command))
            {
                bySeq[entry.Seq] = entry;
            }
        }

        return [.. seqs.Where(bySeq.ContainsKey).Select(s => bySeq[s])];
    }

    /// <summary>A source's newest events, newest first, optionally only those after a sequence number.</summary>
    public IReadOnlyList<LogEntry> ReadNewest(int sourceKey, int limit, long afterSeq = 0)
    {
        var result = new List<LogEntry>();
        long tailFirst;
        lock (_tailGate)
        {
            tailFirst = _tailFirst;
            for (var seq = Head; seq >= tailFirst && seq > afterSeq && result.Count < limit; seq--)
            {
                var entry = _tail[seq % TailCapacity];
                if (entry.SourceKey == sourceKey)
                {
                    result.Add(entry);
                }
            }
        }

        if (result.Count >= limit)
        {
            return result;
        }

        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, source_key, received_at, payload FROM events
            WHERE source_key = $source AND seq > $after AND seq < $tailFirst ORDER BY seq DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$source", sourceKey);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$tailFirst", tailFirst);
        command.Parameters.AddWithValue("$limit", limit - result.Count);
        result.AddRange(ReadEntries(command));
        return result;
    }

    public IReadOnlyList<StoredRejection> ReadRejections(int sourceKey, int limit)
    {
        Flush();
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, received_at, batch_index, reason, field, detail, payload FROM rejections
            WHERE source_key = $source ORDER BY id DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$source", sourceKey);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var result = new List<StoredRejection>();
        while (reader.Read())
        {
            result.Add(new StoredRejection(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.IsDBNull(2) ? null : reader.GetInt32(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                (byte[])reader.GetValue(6)));
        }

        return result;
    }

    /// <summary>Holds group commits until the returned handle is disposed: lets tests build a backlog deterministically.</summary>
    internal IDisposable HoldCommits()
    {
        _commitsAllowed.Reset();
        return new Release(_commitsAllowed);
    }

    private sealed class Release(ManualResetEventSlim gate) : IDisposable
    {
        public void Dispose() => gate.Set();
    }

    private static List<LogEntry> ReadEntries(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var result = new List<LogEntry>();
        while (reader.Read())
        {
            result.Add(new LogEntry(reader.GetInt64(0), reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), (byte[])reader.GetValue(3)));
        }

        return result;
    }

    private long ReadHead()
    {
        // Deletions may have removed the newest events: the head they left is kept in log_meta, so a
        // restart never hands out a sequence number again (a consumer past it would skip the new event).
        using var command = _writer.CreateCommand();
        command.CommandText = "SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0), COALESCE((SELECT value FROM log_meta WHERE key = 'head'), 0))";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Copies into log.db the journal records it lacks (those acknowledged before a stop, kill -9
    /// included, that the store had not copied yet); answers the number the next record takes.
    /// </summary>
    private long Replay()
    {
        using var read = _writer.CreateCommand();
        read.CommandText = "SELECT COALESCE((SELECT value FROM log_meta WHERE key = 'journal'), 0)";
        var stored = (long)read.ExecuteScalar()!;
        var records = _journal.Recover();
        var missing = records.Where(r => r.Number > stored).ToList();
        if (missing.Count > 0)
        {
            using var transaction = _writer.BeginTransaction();
            using var store = new StoreCommands(_writer, transaction);
            foreach (var record in missing)
            {
                if (record.Event is { } e)
                {
                    store.Event(e.Seq, e.SourceKey, e.MessageId, e.Type, e.ReceivedAtMs, e.Payload);
                }
                else if (record.Rejection is { } r)
                {
                    store.Rejection(r.SourceKey, r.ReceivedAtMs, r.Rejection);
                }
            }

            store.Position(missing[^1].Number);
            transaction.Commit();
        }

        return Math.Max(stored, records.Count > 0 ? records[^1].Number : 0) + 1;
    }

    private void RebuildDedupIndex()
    {
        var cutoff = (_time.GetUtcNow() - _options.DedupWindow).ToUnixTimeMilliseconds();
        using var command = _writer.CreateCommand();
        command.CommandText = "SELECT source_key, message_id, received_at FROM events ORDER BY seq DESC";
        using var reader = command.ExecuteReader();
        var newestFirst = new List<(UInt128, long)>();
        while (reader.Read())
        {
            var receivedAt = reader.GetInt64(2);
            if (receivedAt < cutoff)
            {
                break;
            }

            newestFirst.Add((DedupKey(reader.GetInt32(0), reader.GetString(1)), receivedAt));
        }

        for (var i = newestFirst.Count - 1; i >= 0; i--)
        {
            var (key, receivedAt) = newestFirst[i];
            if (_dedup.TryAdd(key, receivedAt))
            {
                _dedupOrder.Enqueue((key, receivedAt));
            }
        }
    }

    private static UInt128 DedupKey(int sourceKey, string messageId)
    {
        var max = 4 + Encoding.UTF8.GetMaxByteCount(messageId.Length);
        Span<byte> bytes = max <= 512 ? stackalloc byte[max] : new byte[max];
        BitConverter.TryWriteBytes(bytes, sourceKey);
        var length = 4 + Encoding.UTF8.GetBytes(messageId, bytes[4..]);
        return XxHash128.HashToUInt128(bytes[..length]);
    }

    private void WriteLoop()
    {
        var group = new List<PendingAppend>();
        var claimed = new List<UInt128>();
        var records = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            _commitsAllowed.Wait();
            var queued = 0;
            PendingAppend? maintenance = null;
            while (queued < Math.Min(_options.MaxGroupEvents, TailCapacity / 2) && _queue.Reader.TryPeek(out var next))
            {
                // Maintenance runs alone, after the group before it is committed.
                if (next.Maintenance is not null && group.Count > 0)
                {
                    break;
                }

                _queue.Reader.TryRead(out _);
                if (next.Maintenance is not null)
                {
                    maintenance = next;
                    break;
                }

                group.Add(next);
                queued += next.Messages.Count + next.Rejections.Count;
            }

            try
            {
                if (maintenance is not null)
                {
                    Maintain(maintenance);
                }
                else
                {
                    Commit(group, claimed, records);
                }
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
                if (maintenance is not null)
                {
                    // The deletion did not happen; the log itself is as it was and goes on.
                    maintenance.Completion.TrySetException(ex);
                    continue;
                }

                // Nothing of this group is durable: fail every request so clients retry, and stop
                // accepting (readiness goes red) rather than acknowledge what may not be stored.
                _fault = ex;
                foreach (var key in claimed)
                {
                    _dedup.Remove(key);
                }

                foreach (var pending in group)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
            finally
            {
                Interlocked.Add(ref _pendingEvents, -queued);
                group.Clear();
                claimed.Clear();
                records.Clear();
            }
        }
    }

    /// <summary>One group commit: dedup, number, encode, one journal append and sync, then publish and answer.</summary>
    private void Commit(List<PendingAppend> group, List<UInt128> claimed, System.Buffers.ArrayBufferWriter<byte> records)
    {
        var head = _head;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var firstRecord = _journal.NextNumber;
        var number = firstRecord;
        PruneDedupIndex();
        foreach (var pending in group)
        {
            int stored = 0, duplicates = 0;
            for (var m = 0; m < pending.Messages.Count; m++)
            {
                var message = pending.Messages[m];
                // One lookup both checks and claims the key (a second copy in the same group is then
                // a duplicate too). If the commit fails, the claims are taken back, so a retry of
                // these events is stored rather than dropped as a duplicate.
                var key = pending.Keys[m];
                ref var claimedAt = ref CollectionsMarshal.GetValueRefOrAddDefault(_dedup, key, out var known);
                if (known)
                {
                    duplicates++;
                    continue;
                }

                claimedAt = now;
                claimed.Add(key);
                IngestJournal.EncodeEvent(records, number++, ++head, pending.SourceKey, pending.ReceivedAtMs, message);
                pending.StoredEntries.Add((head, m));
                stored++;
            }

            foreach (var rejection in pending.Rejections)
            {
                IngestJournal.EncodeRejection(records, number++, pending.SourceKey, pending.ReceivedAtMs, rejection);
            }

            pending.LastRecord = number - 1;
            pending.Result = new AppendResult(stored, duplicates, head);
        }

        var count = (int)(number - firstRecord);
        if (count > 0)
        {
            // The tail must keep every event log.db lacks, and the journal starts over only once
            // log.db has all of it: either way the writer first stores what is waiting itself.
            if (Interlocked.Read(ref _unstoredEvents) + (head - _head) > TailCapacity || !_journal.Fits(records.WrittenCount))
            {
                lock (_storeGate)
                {
                    StoreUnstored();
                }

                if (!_journal.Fits(records.WrittenCount))
                {
                    _journal.Restart(firstRecord);
                }
            }

            _journal.Append(records.WrittenSpan, count);
            bool first;
            lock (_unstoredGate)
            {
                first = _unstored.Count == 0;
                _unstored.AddRange(group);
                _unstoredEvents += head - _head;
            }

            if (first)
            {
                _storeWake.Release();
            }
        }

        PublishCommitted(group, head);
        foreach (var key in claimed)
        {
            _dedupOrder.Enqueue((key, now));
        }

        Interlocked.Increment(ref _commits);
        Committed?.Invoke();
        // One pool work item answers the whole group, each request's continuation running inline
        // there: one thread wake-up per commit instead of one per request.
        ThreadPool.UnsafeQueueUserWorkItem(static answered =>
        {
            foreach (var pending in answered)
            {
                pending.Completion.TrySetResult(pending.Result);
            }
        }, group.ToArray(), preferLocal: false);

        if (count > 0 && Interlocked.Read(ref _unstoredEvents) >= StoreBatchEvents)
        {
            _storeFull.Set();
        }
    }

    /// <summary>Runs a maintenance item: everything committed is stored first, then the work in its own transaction.</summary>
    private void Maintain(PendingAppend maintenance)
    {
        lock (_storeGate)
        {
            StoreUnstored();
            using (var transaction = _writer.BeginTransaction())
            {
                KeepHead(transaction, _head);
                maintenance.Maintenance!(_writer, transaction);
                transaction.Commit();
            }

            DropTail();
            TruncateWriteAheadLog();
        }

        // Every record is in log.db now: the journal's copies of deleted events go too.
        _journal.Wipe(_journal.NextNumber);
        Interlocked.Increment(ref _commits);
        Committed?.Invoke();
        maintenance.Completion.TrySetResult(default);
    }

    /// <summary>
    /// Copies every group committed to the journal into log.db in one transaction, with the journal
    /// position it reached, then publishes how far log.db goes. Callers hold <see cref="_storeGate"/>.
    /// </summary>
    private void StoreUnstored()
    {
        List<PendingAppend> groups;
        lock (_unstoredGate)
        {
            if (_unstored.Count == 0)
            {
                return;
            }

            groups = [.. _unstored];
        }

        var lastRecord = 0L;
        var storedHead = _storedHead;
        var events = 0L;
        try
        {
            using var transaction = _writer.BeginTransaction();
            using var store = new StoreCommands(_writer, transaction);
            foreach (var pending in groups)
            {
                foreach (var (seq, index) in pending.StoredEntries)
                {
                    var message = pending.Messages[index];
                    store.Event(seq, pending.SourceKey, message.MessageId, message.Type, pending.ReceivedAtMs, message.Json);
                    storedHead = seq;
                    events++;
                }

                foreach (var rejection in pending.Rejections)
                {
                    store.Rejection(pending.SourceKey, pending.ReceivedAtMs, rejection);
                }

                lastRecord = Math.Max(lastRecord, pending.LastRecord);
            }

            store.Position(lastRecord);
            transaction.Commit();
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            // The events are durable in the journal and still served from the tail; a restart copies
            // them. Stop accepting more, since nothing more could be stored.
            _fault = ex;
            throw;
        }

        lock (_unstoredGate)
        {
            _unstored.RemoveRange(0, groups.Count);
            _unstoredEvents -= events;
        }

        Interlocked.Exchange(ref _storedHead, storedHead);
    }

    /// <summary>The store: copies committed events into log.db when thousands wait, or 20 ms after the first.</summary>
    private void StoreLoop()
    {
        while (!_stopping)
        {
            _storeWake.Wait();
            if (!_stopping && Interlocked.Read(ref _unstoredEvents) < StoreBatchEvents)
            {
                _storeFull.Wait(StoreDelay);
            }

            _storeFull.Reset();

            try
            {
                lock (_storeGate)
                {
                    StoreUnstored();
                }
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
                return;
            }
        }
    }

    private void KeepHead(SqliteTransaction transaction, long head)
    {
        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO log_meta(key, value) VALUES ('head', $head) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)";
        command.Parameters.AddWithValue("$head", head);
        command.ExecuteNonQuery();
    }

    /// <summary>The deleted rows' old pages sit in the write-ahead log until it is checkpointed.</summary>
    private void TruncateWriteAheadLog()
    {
        if (!SqliteDatabase.TruncateWriteAheadLog(_writer))
        {
            // A reader held the log; the next deletion, or SQLite's own checkpoint, moves the pages on.
            _walTruncationsMissed++;
        }
    }

    /// <summary>Times a deletion's write-ahead log could not be truncated at once (a reader held it).</summary>
    public long WalTruncationsMissed => Interlocked.Read(ref _walTruncationsMissed);

    private void PruneDedupIndex()
    {
        var cutoff = (_time.GetUtcNow() - _options.DedupWindow).ToUnixTimeMilliseconds();
        while (_dedupOrder.TryPeek(out var oldest) && oldest.ReceivedAtMs < cutoff)
        {
            _dedupOrder.Dequeue();
            _dedup.Remove(oldest.Key);
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _commitsAllowed.Set();
        _thread.Join(TimeSpan.FromSeconds(30));
        _stopping = true;
        _storeWake.Release();
        _storeFull.Set();
        _storeThread.Join(TimeSpan.FromSeconds(30));
        if (_fault is null)
        {
            lock (_storeGate)
            {
                StoreUnstored();
            }
        }

        _writer.Dispose();
        _journal.Dispose();
        _commitsAllowed.Dispose();
        _storeWake.Dispose();
        _storeFull.Dispose();
    }

    private sealed class PendingAppend(int sourceKey, IReadOnlyList<StampedMessage> messages, IReadOnlyList<Rejection> rejections, long receivedAtMs)
    {
        public int SourceKey { get; } = sourceKey;
        public IReadOnlyList<StampedMessage> Messages { get; } = messages;
        public IReadOnlyList<Rejection> Rejections { get; } = rejections;
        public long ReceivedAtMs { get; } = receivedAtMs;

        /// <summary>Dedup keys, hashed on the request's thread so the single writer does not have to.</summary>
        public UInt128[] Keys { get; } = [.. messages.Select(m => DedupKey(sourceKey, m.MessageId))];

        public AppendResult Result { get; set; }

        /// <summary>What the commit stored of this request: sequence number and index in <see cref="Messages"/>.</summary>
        public List<(long Seq, int Index)> StoredEntries { get; } = [];

        /// <summary>Number of this request's last journal record.</summary>
        public long LastRecord { get; set; }

        /// <summary>Work run in the commit's transaction instead of an append (see <see cref="MaintainAsync{T}"/>).</summary>
        public Action<SqliteConnection, SqliteTransaction>? Maintenance { get; init; }
        // Completed from a pool work item of its own (never on the writer thread), so continuations may run inline.
        public TaskCompletionSource<AppendResult> Completion { get; } = new();
    }
}
