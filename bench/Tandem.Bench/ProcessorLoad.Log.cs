using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Storage.Sqlite;

namespace Tandem.Bench;

/// <summary>The log the processor benchmark reads: written once per size by a child process, then reused.</summary>
internal static partial class ProcessorLoad
{
    private const int Seed = 20_261_123;
    private const int GeneratorVersion = 1;
    private const int AppendChunk = 2_000;
    private const string ManifestFile = "bench-log.json";

    private static async Task<int> GenerateInChildAsync(string data, LogManifest wanted)
    {
        Directory.CreateDirectory(data);
        foreach (var stale in new[] { ManifestFile, "log.db", "log.db-wal", "log.db-shm" })
        {
            File.Delete(Path.Combine(data, stale));
        }

        var host = Environment.ProcessPath!;
        var info = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ProcessorLoad).Assembly.Location);
        }

        foreach (var arg in new[] { "process", "--generate-only", "--data", data, "--profiles", Text(wanted.Profiles), "--events", Text(wanted.Events) })
        {
            info.ArgumentList.Add(arg);
        }

        using var child = Process.Start(info)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    /// <summary>Writes the synthetic stream into a fresh log through <c>TryAppend</c>, in arrival order.</summary>
    private static async Task<int> GenerateAsync(string data, LogManifest wanted)
    {
        Directory.CreateDirectory(data);
        var clock = Stopwatch.StartNew();
        var customers = new SyntheticCustomers(wanted.Profiles, wanted.Events, wanted.Seed);
        Console.Error.WriteLine($"generate: {customers.People:N0} people planned in {clock.Elapsed.TotalSeconds:F1} s");
        var nextReport = 1_000_000L;
        using (var log = new IngestLog(data, new IngestLogOptions(), TimeProvider.System))
        {
            if (log.Head != 0)
            {
                Console.Error.WriteLine($"{data} already holds a log; the generator only writes into an empty folder.");
                return 1;
            }

            var appender = new ChunkedAppender(log);
            foreach (var session in customers.Sessions())
            {
                await appender.AddAsync(session);
                if (appender.Queued >= nextReport)
                {
                    Console.Error.WriteLine($"generate: {appender.Queued:N0} events queued, {appender.Queued / clock.Elapsed.TotalSeconds:N0}/s");
                    nextReport += 1_000_000;
                }
            }

            await appender.CompleteAsync();
            if (appender.Stored != wanted.Events || appender.Deduplicated != 0 || log.Head != wanted.Events)
            {
                Console.Error.WriteLine($"The log holds {log.Head:N0} events ({appender.Stored:N0} stored, {appender.Deduplicated:N0} dropped as duplicates), not {wanted.Events:N0}.");
                return 1;
            }

            var manifest = wanted with
            {
                Merges = customers.ExpectedMerges,
                Identifiers = customers.ExpectedIdentifiers,
                Accounts = customers.ExpectedAccounts,
                GenerationSeconds = clock.Elapsed.TotalSeconds,
                PayloadBytes = appender.PayloadBytes,
            };
            File.WriteAllText(Path.Combine(data, ManifestFile), JsonSerializer.Serialize(manifest));
            Console.Error.WriteLine($"generate: {appender.Stored:N0} events ({Gib(appender.PayloadBytes)} of payload) in {clock.Elapsed.TotalSeconds:F1} s");
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return 0;
    }

    /// <summary>
    /// Appends sessions in chunks of ~2,000 events. A chunk is one append per run of the same source,
    /// offered in order, so sequence order is arrival order; when the backlog is full (null), it waits
    /// for the oldest append to commit and offers the same run again.
    /// </summary>
    private sealed class ChunkedAppender(IngestLog log)
    {
        private readonly Queue<Task<AppendResult>> _pending = new();
        private readonly List<(int SourceKey, DateTimeOffset ReceivedAt, List<StampedMessage> Messages)> _runs = [];
        private int _inChunk;

        public long Queued { get; private set; }

        public long Stored { get; private set; }

        public long Deduplicated { get; private set; }

        public long PayloadBytes { get; private set; }

        public async Task AddAsync(SessionBatch session)
        {
            if (_runs.Count == 0 || _runs[^1].SourceKey != session.SourceKey)
            {
                _runs.Add((session.SourceKey, session.ReceivedAt, new List<StampedMessage>(AppendChunk)));
            }

            _runs[^1] = _runs[^1] with { ReceivedAt = session.ReceivedAt };
            _runs[^1].Messages.AddRange(session.Messages);
            _inChunk += session.Messages.Count;
            foreach (var message in session.Messages)
            {
                PayloadBytes += message.Json.Length;
            }

            if (_inChunk >= AppendChunk)
            {
                await FlushAsync();
            }
        }

        public async Task CompleteAsync()
        {
            await FlushAsync();
            while (_pending.TryDequeue(out var task))
            {
                Count(await task);
            }
        }

        private async Task FlushAsync()
        {
            foreach (var (sourceKey, receivedAt, messages) in _runs)
            {
                Task<AppendResult>? task;
                while ((task = log.TryAppend(sourceKey, messages, [], receivedAt)) is null)
                {
                    if (_pending.TryDequeue(out var oldest))
                    {
                        Count(await oldest);
                    }
                    else
                    {
                        await Task.Delay(1);
                    }
                }

                _pending.Enqueue(task);
            }

            while (_pending.TryPeek(out var head) && head.IsCompleted)
            {
                Count(await _pending.Dequeue());
            }

            Queued += _inChunk;
            _inChunk = 0;
            _runs.Clear();
        }

        private void Count(AppendResult result)
        {
            Stored += result.Stored;
            Deduplicated += result.Deduplicated;
        }
    }

    /// <summary>Size and arrival of the stream, and what the engine should make of it.</summary>
    private sealed record LogManifest(int Version, int Seed, int Profiles, long Events)
    {
        public long Merges { get; init; }

        public long Identifiers { get; init; }

        public int Accounts { get; init; }

        public double GenerationSeconds { get; init; }

        public long PayloadBytes { get; init; }

        public bool SameLog(LogManifest other) =>
            Version == other.Version && Seed == other.Seed && Profiles == other.Profiles && Events == other.Events;
    }

    private static LogManifest? ReadManifest(string data)
    {
        var path = Path.Combine(data, ManifestFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<LogManifest>(File.ReadAllText(path)) : null;
    }

    private static long Head(string data)
    {
        using var log = new IngestLog(data, new IngestLogOptions(), TimeProvider.System);
        return log.Head;
    }
}
