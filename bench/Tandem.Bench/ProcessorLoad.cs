using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Unify;

namespace Tandem.Bench;

/// <summary>
/// The processor end to end: a log of N stored events from P synthetic people, read with
/// <c>IngestLog.ReadAfter</c> in batches of 10,000 and applied to a <see cref="ProfileEngine"/>,
/// beside the raw read rate of the same log, same batches, in the same process. Then the engine's
/// counts and the process's memory with every profile held.
/// </summary>
/// <remarks>
/// The log is written by a child process, so that the peak RSS reported here is the processor's, not
/// the generator's. A <c>--data</c> folder that already holds the log for the same sizes is reused.
/// </remarks>
internal static partial class ProcessorLoad
{
    private const int ReadBatch = 10_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var wanted = new LogManifest(GeneratorVersion, Seed, Option(args, "--profiles", 1_000_000), Option(args, "--events", 10_000_000L));
        var given = Option(args, "--data", "");
        var data = given.Length > 0 ? Path.GetFullPath(given) : Path.Combine(Path.GetTempPath(), "tandem-process-" + Guid.NewGuid().ToString("N"));
        if (args.Contains("--generate-only"))
        {
            return await GenerateAsync(data, wanted);
        }

        var manifest = ReadManifest(data);
        var reuse = manifest is not null && manifest.SameLog(wanted) && Head(data) == wanted.Events;
        if (manifest is null || !reuse)
        {
            if (manifest is null && File.Exists(Path.Combine(data, "log.db")))
            {
                Console.Error.WriteLine($"{data} holds a log.db this benchmark did not write; give another --data folder.");
                return 1;
            }

            var exit = await GenerateInChildAsync(data, wanted);
            manifest = ReadManifest(data);
            if (exit != 0 || manifest is null)
            {
                return exit != 0 ? exit : 1;
            }
        }

        var cache = WarmPageCache(data);
        var log = new IngestLog(data, new IngestLogOptions(), TimeProvider.System);
        try
        {
            Measure(log, manifest, reuse, cache);
        }
        finally
        {
            log.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (given.Length == 0 && !args.Contains("--keep"))
            {
                Directory.Delete(data, recursive: true);
            }
            else
            {
                Console.WriteLine($"log kept in {data}");
            }
        }

        return 0;
    }

    private static void Measure(IngestLog log, LogManifest manifest, bool reused, (long Bytes, TimeSpan Elapsed) cache)
    {
        Console.WriteLine($"# Processor load: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC ({GCSettings.LatencyMode})");
        Console.WriteLine($"# log: {manifest.Events:N0} events of {manifest.Profiles:N0} people, mean {manifest.PayloadBytes / (double)manifest.Events:N0} B per payload; "
            + (reused ? $"reused (generated earlier in {manifest.GenerationSeconds:N0} s)" : $"generated in {manifest.GenerationSeconds:N0} s ({manifest.Events / manifest.GenerationSeconds:N0} events/s)"));
        Console.WriteLine($"# both passes: ReadAfter(after, {ReadBatch:N0}) from 0 to the head; log.db ({Gib(cache.Bytes)}) read once first to warm the page cache ({cache.Elapsed.TotalSeconds:F1} s); load average before: {LoadAverage()}");
        Console.WriteLine();

        var reference = Pass(log, null);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var rssBefore = Environment.WorkingSet;
        var engine = new ProfileEngine();
        var processed = Pass(log, engine);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        var workingSet = Environment.WorkingSet;
        var (rss, peak) = ProcStatus();
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        var traits = engine.Profiles.Average(p => p.Traits.Count);

        Console.WriteLine("| pass | events | seconds | events/s | × reference | CPU µs/event | GCs gen0/1/2 | GC pause | load avg at end |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, pass) in new[] { ("reference: ReadAfter, payload bytes hashed", reference), ("processor: ReadAfter + ProfileEngine.Apply", processed) })
        {
            Console.WriteLine($"| {name} | {pass.Events:N0} | {pass.Elapsed.TotalSeconds:F1} | {pass.EventsPerSecond:N0} | {pass.EventsPerSecond / reference.EventsPerSecond:F3} "
                + $"| {pass.Cpu.TotalMicroseconds / pass.Events:F1} | {pass.Gen0:N0}/{pass.Gen1:N0}/{pass.Gen2:N0} | {pass.GcPause.TotalSeconds:F1} s | {pass.LoadAverage} |");
        }

        Console.WriteLine();
        Console.WriteLine("| after the processor pass | value | expected or target |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| profiles | {engine.ProfileCount:N0} | {manifest.Profiles:N0} |");
        Console.WriteLine($"| identifiers | {engine.IdentifierCount:N0} | {manifest.Identifiers:N0} |");
        Console.WriteLine($"| merges | {engine.MergeCount:N0} | {manifest.Merges:N0} |");
        Console.WriteLine($"| accounts | {engine.AccountCount:N0} | {manifest.Accounts:N0} |");
        Console.WriteLine($"| events applied / unattributed | {engine.EventsApplied:N0} / {engine.EventsUnattributed:N0} | {manifest.Events:N0} / 0 |");
        Console.WriteLine($"| traits per profile (mean) | {traits:F2} | 10 |");
        Console.WriteLine($"| RSS after a full GC (Environment.WorkingSet) | {Gib(workingSet)} | ≤ 2 GiB |");
        Console.WriteLine($"| RSS (VmRSS) / peak RSS of the process (VmHWM) | {Gib(rss)} / {Gib(peak)} | ≤ 2 GiB |");
        Console.WriteLine($"| RSS before the processor pass | {Gib(rssBefore)} | |");
        Console.WriteLine($"| managed heap (GC.GetTotalMemory(true)) | {Gib(heap)} | |");
        Console.WriteLine($"| committed by the GC / fragmented (GC.GetGCMemoryInfo) | {Gib(gc.TotalCommittedBytes)} / {Gib(gc.FragmentedBytes)} | |");
        Console.WriteLine($"| heap held by the engine (after − before the pass) | {Gib(heap - heapBefore)} ({(heap - heapBefore) / (double)engine.ProfileCount:N0} B per profile) | |");
        GC.KeepAlive(engine);

        Console.WriteLine();
        Console.WriteLine($"processor events/s: {processed.EventsPerSecond:N0} (target ≥ 50,000 with 1M profiles and 10M events), {processed.EventsPerSecond / reference.EventsPerSecond:F3} × the raw read rate");
        Console.WriteLine($"peak RSS with {engine.ProfileCount:N0} profiles: {Gib(peak)} (target ≤ 2 GiB with 1M profiles of 10 traits)");
        if (reference.Checksum != processed.Checksum || reference.Bytes != processed.Bytes || processed.Events != manifest.Events)
        {
            Console.Error.WriteLine($"! the passes read different logs: {reference.Events:N0}/{reference.Bytes:N0} B against {processed.Events:N0}/{processed.Bytes:N0} B");
        }
    }

    /// <param name="Checksum">Sum of sequence × payload length: equal when both passes read the same log.</param>
    /// <param name="Hash">The reference pass's fold of payload hashes; kept so the hashing is not optimised away.</param>
    private sealed record PassResult(long Events, long Bytes, ulong Checksum, ulong Hash, TimeSpan Elapsed, TimeSpan Cpu, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, string LoadAverage)
    {
        public double EventsPerSecond => Events / Elapsed.TotalSeconds;
    }

    /// <summary>Reads the whole log; with an engine, applies each event, else hashes its payload (every byte touched, as parsing does).</summary>
    private static PassResult Pass(IngestLog log, ProfileEngine? engine)
    {
        var name = engine is null ? "reference" : "processor";
        Console.Error.WriteLine($"{name}: pid {Environment.ProcessId}, started {TimeProvider.System.GetLocalNow():HH:mm:ss}");
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var (gen0, gen1, gen2, pause) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
        long after = 0, events = 0, bytes = 0;
        ulong checksum = 0, hash = 0;
        var nextReport = 1_000_000L;
        var clock = Stopwatch.StartNew();
        while (log.ReadAfter(after, ReadBatch) is { Count: > 0 } batch)
        {
            foreach (var entry in batch)
            {
                bytes += entry.Payload.Length;
                checksum += (ulong)entry.Seq * (ulong)entry.Payload.Length;
                if (engine is null)
                {
                    hash ^= XxHash3.HashToUInt64(entry.Payload);
                }
                else
                {
                    engine.Apply(entry.Seq, entry.SourceKey, entry.Payload);
                }
            }

            after = batch[^1].Seq;
            events += batch.Count;
            if (events >= nextReport)
            {
                Console.Error.WriteLine($"{name}: {events:N0} events, {events / clock.Elapsed.TotalSeconds:N0}/s");
                nextReport += 1_000_000;
            }
        }

        clock.Stop();
        process.Refresh();
        return new PassResult(events, bytes, checksum, hash, clock.Elapsed, process.TotalProcessorTime - cpu,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2, GC.GetTotalPauseDuration() - pause, LoadAverage());
    }

    /// <summary>Reads the log file once so that neither pass pays for the disk; returns bytes read and time taken.</summary>
    private static (long Bytes, TimeSpan Elapsed) WarmPageCache(string data)
    {
        var clock = Stopwatch.StartNew();
        var buffer = new byte[1 << 20];
        long total = 0;
        using (var file = new FileStream(Path.Combine(data, "log.db"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        {
            int read;
            while ((read = file.Read(buffer)) > 0)
            {
                total += read;
            }
        }

        return (total, clock.Elapsed);
    }

    /// <summary>VmRSS and VmHWM from /proc/self/status, in bytes (0 off Linux).</summary>
    private static (long Rss, long Peak) ProcStatus()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return (0, 0);
        }

        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }

        return (rss, peak);

        static long Kilobytes(string line) =>
            1024 * long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The 1-minute load average, to see whether something else shared the machine: this process alone
    /// accounts for 1 to 2 of it on two cores (the reading thread, and GC threads while they run).
    /// </summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "–";

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static int Option(string[] args, string name, int fallback) => (int)Option(args, name, (long)fallback);

    private static long Option(string[] args, string name, long fallback) =>
        long.Parse(Option(args, name, Text(fallback)), NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    private static string Option(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
