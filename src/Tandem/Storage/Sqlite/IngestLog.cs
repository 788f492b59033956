using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Tandem.Collect;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The append-only, sequence-numbered ingest log (<c>log.db</c>). Requests enqueue their events; one
/// writer thread drains whatever has queued, writes it in one transaction and fsyncs once (group
/// commit), then completes every request in the group. A request is acknowledged only after that
/// commit, so an acknowledged event survives <c>kill -9</c>.
/// </summary>
/// <remarks>
/// Deduplication by (source, messageId) happens on the writer thread, against an in-memory index of
/// 128-bit hashes covering the dedup window. The index is rebuilt from the log on start, which is what
/// makes the window survive restarts without a second write per event.
/// </remarks>
internal sealed class IngestLog : IEventLog, IEventLogReader, IEventLogMaintenance, IDisposable
{
    private readonly string _path;
    private readonly IngestLogOptions _options;
    private readonly TimeProvider _time;
    private readonly SqliteConnection _writer;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new() { SingleReader = true });
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _commitsAllowed = new(initialState: true);
    private readonly Dictionary<UInt128, long> _dedup = [];
    private readonly Queue<(UInt128 Key, long ReceivedAtMs)> _dedupOrder = new();
    private long _head;

    // The newest committed events, in a ring indexed by seq: a consumer that keeps up (the profile
    // processor) reads them from memory instead of querying the file it was just written to.
    private const int TailCapacity = 4096;
    private readonly LogEntry[] _tail = new LogEntry[TailCapacity];
    private readonly Lock _tailGate = new();
    private long _tailFirst = 1;
    private long _pendingEvents;
    private long _commits;
    private volatile Exception? _fault;

    public IngestLog(string dataDirectory, IngestLogOptions options, TimeProvider time)
    {
        _path = Path.Combine(dataDirectory, "log.db");
        _options = options;
        _time = time;
        // 16 KiB pages: a group commit writes a quarter as many WAL frames (each a header and a page,
        // two syscalls), and the B-trees are shallower; measured in docs/benchmarks.md.
        _writer = SqliteDatabase.Open(_path, pageSize: 16384);

        // Deleted rows (privacy requests, retention) are overwritten, not just unlinked. Inserts, the
        // hot path, free no pages and pay nothing for it.
        SqliteDatabase.Execute(_writer, "PRAGMA secure_delete=ON;");

        // The writer's page cache holds the right edge of the table and of its index between commits
        // (32 MiB at most; the default 2 MiB made it read pages back from the file under batch load).
        SqliteDatabase.Execute(_writer, "PRAGMA cache_size=-32768;");
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
            CREATE INDEX IF NOT EXISTS rejections_by_time ON rejections(received_at);
            CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """);
        _head = ReadHead();
        _tailFirst = _head + 1;
        RebuildDedupIndex();
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "tandem-ingest-log" };
        _thread.Start();
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
    /// Runs <paramref name="work"/> on the writer thread, inside the next group commit's transaction:
    /// how events are deleted (privacy requests, retention) without a second writer on the file.
    /// Deleted event content is overwritten on disk (<c>secure_delete</c>) and the write-ahead log is
    /// truncated after the commit, so the bytes do not linger; the in-memory tail is dropped so no
    /// reader is served a deleted event from memory.
    /// </summary>
    /// <remarks>Internal to the log: capabilities delete through <see cref="IEventLogMaintenance"/>, never with their own SQL; tests use it to plant failures.</remarks>
    internal Task<T> MaintainAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work)
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

    /// <inheritdoc/>
    public Task BarrierAsync() => MaintainAsync((_, _) => 0);

    /// <inheritdoc/>
    public async Task<int> DeleteEventsAsync(IReadOnlyCollection<long> seqs) => (await RemoveEventsAsync(seqs)).Count;

    /// <inheritdoc/>
    public Task<IReadOnlyList<long>> RemoveEventsAsync(IReadOnlyCollection<long> seqs) =>
        seqs.Count == 0 ? Task.FromResult<IReadOnlyList<long>>([]) : MaintainAsync<IReadOnlyList<long>>((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM events WHERE seq IN (SELECT value FROM json_each($seqs)) RETURNING seq";
            command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', seqs) + "]");
            using var reader = command.ExecuteReader();
            var gone = new List<long>(seqs.Count);
            while (reader.Read())
            {
                gone.Add(reader.GetInt64(0));
            }

            return gone;
        });

    /// <inheritdoc/>
    public Task<int> DeleteRejectionsReceivedBeforeAsync(DateTimeOffset cutoff, int max) => MaintainAsync((connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM rejections WHERE id IN (
                SELECT id FROM rejections WHERE received_at < $cutoff ORDER BY id LIMIT $limit)
            """;
        command.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", max);
        return command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public IReadOnlyList<RetentionRow> ScanForRetention(long afterSeq, long throughSeq, int max)
    {
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, type, received_at, CASE WHEN type = $track THEN json_extract(CAST(payload AS TEXT), '$.event') END
            FROM events WHERE seq > $after AND seq <= $through ORDER BY seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$track", (int)MessageType.Track);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$through", throughSeq);
        command.Parameters.AddWithValue("$limit", max);
        using var rows = command.ExecuteReader();
        var found = new List<RetentionRow>();
        while (rows.Read())
        {
            found.Add(new RetentionRow(rows.GetInt64(0), (MessageType)rows.GetInt32(1), rows.GetInt64(2), rows.IsDBNull(3) ? null : rows.GetValue(3) as string));
        }

        return found;
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
    private void PublishCommitted(List<PendingAppend> group, long head, bool maintained)
    {
        lock (_tailGate)
        {
            if (maintained)
            {
                // Events may have been deleted: forget the tail, readers go to the file from here on.
                _tailFirst = head + 1;
            }

            foreach (var pending in group)
            {
                var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(pending.ReceivedAtMs);
                foreach (var (seq, payload) in pending.StoredEntries)
                {
                    _tail[seq % TailCapacity] = new LogEntry(seq, pending.SourceKey, receivedAt, payload);
                }
            }

            _tailFirst = Math.Max(_tailFirst, head - TailCapacity + 1);
            Interlocked.Exchange(ref _head, head);
        }
    }

    /// <summary>The events with these sequence numbers, in the order asked (missing ones are left out).</summary>
    public IReadOnlyList<LogEntry> ReadSeqs(IReadOnlyList<long> seqs)
    {
        if (seqs.Count == 0)
        {
            return [];
        }

        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, source_key, received_at, payload FROM events WHERE seq IN (SELECT value FROM json_each($seqs))";
        command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', seqs) + "]");
        var bySeq = ReadEntries(command).ToDictionary(e => e.Seq);
        return [.. seqs.Where(bySeq.ContainsKey).Select(s => bySeq[s])];
    }

    /// <summary>
    /// A source's newest events, newest first, optionally only those after <paramref name="afterSeq"/>
    /// (polling) and before <paramref name="beforeSeq"/> (paging back).
    /// </summary>
    public IReadOnlyList<LogEntry> ReadNewest(int sourceKey, int limit, long afterSeq = 0, long beforeSeq = long.MaxValue)
    {
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, source_key, received_at, payload FROM events
            WHERE source_key = $source AND seq > $after AND seq < $before ORDER BY seq DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$source", sourceKey);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$before", beforeSeq);
        command.Parameters.AddWithValue("$limit", limit);
        return ReadEntries(command);
    }

    /// <summary>
    /// Deletes the stored refusals whose payload <paramref name="match"/> accepts (a privacy request's
    /// person), and answers how many went. They are read twice: all of them on a connection of their own,
    /// which holds nothing up; then, inside a group commit, those stored since (a higher id, or received in
    /// the last minute: a request received before the first read may be committed after it, and a new
    /// refusal can take the id of a newest one removed meanwhile, as SQLite reuses the highest rowid). The
    /// deletion is in that commit, so none stored meanwhile is missed.
    /// </summary>
    public async Task<int> DeleteRejectionsAsync(Func<byte[], bool> match)
    {
        var doomed = new List<long>();
        var since = (_time.GetUtcNow() - TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds();
        var lastRead = await Task.Run(() =>
        {
            using var connection = SqliteDatabase.Open(_path, reader: true);
            return FindRejections(connection, null, match, doomed, afterId: 0, receivedSinceMs: long.MaxValue);
        });
        return await MaintainAsync((connection, transaction) =>
        {
            FindRejections(connection, transaction, match, doomed, lastRead, since);
            if (doomed.Count == 0)
            {
                return 0;
            }

            using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM rejections WHERE id IN (SELECT value FROM json_each($ids))";
            delete.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(doomed.Distinct()));
            return delete.ExecuteNonQuery();
        });
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the ids of the refusals with an id above <paramref name="afterId"/>
    /// or received since <paramref name="receivedSinceMs"/> whose payload <paramref name="match"/> accepts;
    /// answers the highest id read.
    /// </summary>
    private static long FindRejections(SqliteConnection connection, SqliteTransaction? transaction, Func<byte[], bool> match, List<long> into,
        long afterId, long receivedSinceMs)
    {
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT id, payload FROM rejections WHERE id > $after OR received_at >= $since ORDER BY id";
        select.Parameters.AddWithValue("$after", afterId);
        select.Parameters.AddWithValue("$since", receivedSinceMs);
        using var reader = select.ExecuteReader();
        long last = 0;
        while (reader.Read())
        {
            last = reader.GetInt64(0);
            if (match(reader.GetFieldValue<byte[]>(1)))
            {
                into.Add(last);
            }
        }

        return last;
    }

    /// <summary>
    /// A source's refusals, newest first, those with an id below <paramref name="beforeId"/>. Ids only
    /// grow (a new refusal can reuse only the id of a newest one deleted), so paging by id sees every
    /// refusal that stays stored exactly once.
    /// </summary>
    public IReadOnlyList<StoredRejection> ReadRejections(int sourceKey, int limit, long beforeId = long.MaxValue)
    {
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, received_at, batch_index, reason, field, detail, payload FROM rejections
            WHERE source_key = $source AND id < $before ORDER BY id DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$source", sourceKey);
        command.Parameters.AddWithValue("$before", beforeId);
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
        using var insertEvent = new EventInsert(_writer);
        using var insertRejection = _writer.CreateCommand();
        insertRejection.CommandText = """
            INSERT INTO rejections(source_key, received_at, batch_index, reason, field, detail, payload)
            VALUES ($source, $at, $index, $reason, $field, $detail, $payload)
            """;
        var rSource = insertRejection.Parameters.Add("$source", SqliteType.Integer);
        var rAt = insertRejection.Parameters.Add("$at", SqliteType.Integer);
        var rIndex = insertRejection.Parameters.Add("$index", SqliteType.Integer);
        var rReason = insertRejection.Parameters.Add("$reason", SqliteType.Text);
        var rField = insertRejection.Parameters.Add("$field", SqliteType.Text);
        var rDetail = insertRejection.Parameters.Add("$detail", SqliteType.Text);
        var rPayload = insertRejection.Parameters.Add("$payload", SqliteType.Blob);

        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            _commitsAllowed.Wait();
            var queued = 0;
            while (queued < _options.MaxGroupEvents && _queue.Reader.TryRead(out var pending))
            {
                group.Add(pending);
                queued += pending.Messages.Count + pending.Rejections.Count;
            }

            var head = _head;
            var maintained = false;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            try
            {
                PruneDedupIndex();
                using (var transaction = _writer.BeginTransaction())
                {
                    insertRejection.Transaction = transaction;
                    foreach (var pending in group)
                    {
                        if (pending.Maintenance is { } maintain)
                        {
                            KeepHead(transaction, head);
                            maintain(_writer, transaction);
                            maintained = true;
                            continue;
                        }

                        int stored = 0, duplicates = 0;
                        for (var m = 0; m < pending.Messages.Count; m++)
                        {
                            var message = pending.Messages[m];
                            // One lookup both checks and claims the key (a second copy in the same group
                            // is then a duplicate too). If the commit fails, the claims are taken back, so
                            // a copy already queued behind it is stored rather than dropped as a duplicate.
                            var key = pending.Keys[m];
                            ref var claimedAt = ref CollectionsMarshal.GetValueRefOrAddDefault(_dedup, key, out var known);
                            if (known)
                            {
                                duplicates++;
                                continue;
                            }

                            claimedAt = now;
                            claimed.Add(key);

                            insertEvent.Execute(++head, pending.SourceKey, message.MessageId, (int)message.Type, pending.ReceivedAtMs, message.Json);
                            pending.StoredEntries.Add((head, message.Json));
                            stored++;
                        }

                        rSource.Value = pending.SourceKey;
                        rAt.Value = pending.ReceivedAtMs;
                        foreach (var rejection in pending.Rejections)
                        {
                            rIndex.Value = rejection.Index is { } i ? i : DBNull.Value;
                            rReason.Value = rejection.Reason;
                            rField.Value = rejection.Field;
                            rDetail.Value = rejection.Detail;
                            rPayload.Value = rejection.Payload;
                            insertRejection.ExecuteNonQuery();
                        }

                        pending.Result = new AppendResult(stored, duplicates, head);
                    }

                    transaction.Commit();
                }

                PublishCommitted(group, head, maintained);
                if (maintained)
                {
                    // The deleted rows' old pages sit in the write-ahead log until it is checkpointed. Best
                    // effort: when a reader holds it, the next deletion or SQLite's own checkpoint moves them on.
                    SqliteDatabase.TruncateWriteAheadLog(_writer);
                }

                foreach (var key in claimed)
                {
                    _dedupOrder.Enqueue((key, now));
                }

                Interlocked.Increment(ref _commits);
                Committed?.Invoke();
                foreach (var pending in group)
                {
                    pending.Completion.TrySetResult(pending.Result);
                }
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
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
        _writer.Dispose();
        _commitsAllowed.Dispose();
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

        /// <summary>What the commit stored of this request, for the in-memory tail.</summary>
        public List<(long Seq, byte[] Payload)> StoredEntries { get; } = [];

        /// <summary>Work run in the commit's transaction instead of an append (see <see cref="MaintainAsync{T}"/>).</summary>
        public Action<SqliteConnection, SqliteTransaction>? Maintenance { get; init; }
        public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
