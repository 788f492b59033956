using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;

namespace Tandem.Bench;

/// <summary>
/// End-to-end collector load with wrk over loopback: durable <c>/v1/batch</c> throughput, and single
/// <c>/v1/track</c> requests per second beside a bare endpoint that reads and discards the body, all
/// in the same run on the same machine.
/// </summary>
internal static partial class CollectorLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 10);
        var connections = Option(args, "--connections", 32);
        var threads = Option(args, "--threads", 2);
        if (!File.Exists("/usr/bin/wrk"))
        {
            Console.Error.WriteLine("wrk is missing: apt-get install -y wrk");
            return 1;
        }

        await using var server = await InProcessTandem.StartAsync("bench-admin");
        var tandem = server.App;
        var tandemUrl = server.Url;
        var writeKey = server.WriteKey;
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":"));

        await using var bare = BareEndpoint();
        await bare.StartAsync();
        var bareUrl = bare.Urls.First();

        // With people suppressed (none of them the load's users), every stored event is also checked against the list.
        var suppressed = Option(args, "--suppressed", 0);
        if (suppressed > 0)
        {
            tandem.Services.GetRequiredService<Tandem.Privacy.SuppressionList>().Suppress("prq_bench", Enumerable.Range(0, suppressed).SelectMany(i => new[]
            {
                new Tandem.Unify.Identifier(Tandem.Unify.IdentifierType.UserId, $"gone-{i}"),
                new Tandem.Unify.Identifier(Tandem.Unify.IdentifierType.Email, $"gone-{i}@example.com"),
            }));
        }

        var track = Payloads.Track(1);
        var batch = Payloads.Batch(100);
        var scenarios = new (string Name, string Url, string Body, int EventsPerRequest, bool Auth)[]
        {
            ("bare endpoint (reads, discards)", bareUrl + "/bare", track, 1, false),
            ("/v1/track, single event, durable", tandemUrl + "/v1/track", track, 1, true),
            ("/v1/batch, 100 events, durable", tandemUrl + "/v1/batch", batch, 100, true),
        };

        Console.WriteLine($"# Collector load: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        Console.WriteLine($"# wrk -t{threads} -c{connections} -d{seconds}s, each scenario warmed up for 3 s first; event ~{Encoding.UTF8.GetByteCount(track)} B, batch {Encoding.UTF8.GetByteCount(batch) / 1024} KB; {suppressed:N0} people suppressed");
        Console.WriteLine();
        Console.WriteLine("| scenario | requests/s | events/s | p50 | p99 | non-2xx | fsyncs/s | server CPU µs/request | of it, processor | processor lag after | GCs (gen2) | GC pause % | log writer busy % |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var results = new Dictionary<string, WrkResult>();
        var log = tandem.Services.GetRequiredService<IngestLog>();
        var processor = tandem.Services.GetRequiredService<Tandem.Unify.ProfileProcessor>();
        var only = Option(args, "--only", "");
        foreach (var (name, url, body, perRequest, auth) in scenarios.Where(s => only.Length == 0 || s.Name.Contains(only, StringComparison.Ordinal) || !s.Auth))
        {
            var script = WriteScript(body, auth ? basic : null);
            await Wrk(url, script, threads, connections, 3);
            var headBefore = log.Head;
            var commitsBefore = log.Commits;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var processorBefore = ThreadCpu("tandem-profile");
            var writerBefore = ThreadCpu("tandem-ingest");
            var (gcBefore, gen2Before, pauseBefore) = (GC.CollectionCount(0), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            var result = await Wrk(url, script, threads, connections, seconds);
            var cpuPerRequest = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / Math.Max(1, result.Requests);
            var processorPerRequest = (ThreadCpu("tandem-profile") - processorBefore).TotalMicroseconds / Math.Max(1, result.Requests);
            var lag = log.Head - processor.Position;
            var writerBusy = (ThreadCpu("tandem-ingest") - writerBefore).TotalSeconds / seconds * 100;
            var gcs = $"{GC.CollectionCount(0) - gcBefore:N0} ({GC.CollectionCount(2) - gen2Before:N0})";
            var pausePercent = (GC.GetTotalPauseDuration() - pauseBefore).TotalSeconds / seconds * 100;
            results[name] = result;
            var stored = log.Head - headBefore;
            var fsyncs = auth ? ((log.Commits - commitsBefore) / (double)seconds).ToString("N0", CultureInfo.InvariantCulture) : "–";
            Console.WriteLine($"| {name} | {result.RequestsPerSecond:N0} | {result.RequestsPerSecond * perRequest:N0} | {result.P50} | {result.P99} | {result.Non2xx} | {fsyncs} | {cpuPerRequest:N0} | {processorPerRequest:N0} | {lag:N0} | {gcs} | {pausePercent:F1} | {writerBusy:F0} |");
            if (auth && stored < (long)(result.Requests - result.Non2xx) * perRequest)
            {
                Console.Error.WriteLine($"! {name}: {stored} events stored for {result.Requests - result.Non2xx} acknowledged requests");
            }
        }

        if (only.Length > 0)
        {
            return 0;
        }

        var ratio = results[scenarios[1].Name].RequestsPerSecond / results[scenarios[0].Name].RequestsPerSecond;
        var eventsPerSecond = results[scenarios[2].Name].RequestsPerSecond * 100;
        Console.WriteLine();
        Console.WriteLine($"single /v1/track ÷ bare endpoint: {ratio:F2} (target ≥ 0.60)");
        Console.WriteLine($"/v1/batch durable events/s: {eventsPerSecond:N0} (target ≥ 100,000)");
        return 0;
    }

    private static WebApplication BareEndpoint()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/bare", async (HttpContext context) =>
        {
            var buffer = new byte[16 * 1024];
            while (await context.Request.Body.ReadAsync(buffer) > 0)
            {
            }

            return Results.Ok();
        });
        return app;
    }

    private static string WriteScript(string body, string? authorization)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tandem-wrk-{Guid.NewGuid():N}.lua");
        var lua = new StringBuilder();
        lua.AppendLine("wrk.method = \"POST\"");
        lua.AppendLine("wrk.headers[\"Content-Type\"] = \"application/json\"");
        if (authorization is not null)
        {
            lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"Authorization\"] = \"{authorization}\"");
        }

        lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.body = [==[{body}]==]");
        File.WriteAllText(path, lua.ToString());
        return path;
    }

    internal sealed record WrkResult(double RequestsPerSecond, long Requests, long Non2xx, string P50, string P99);

    internal static async Task<WrkResult> Wrk(string url, string script, int threads, int connections, int seconds)
    {
        var info = new ProcessStartInfo("/usr/bin/wrk") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { $"-t{threads}", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", script, url })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var requests = long.Parse(TotalRequests().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(rps, requests, non2xx, Percentile(output, "50%"), Percentile(output, "99%"));
    }

    private static string Percentile(string output, string label) =>
        Regex.Match(output, @"^\s*" + Regex.Escape(label) + @"\s+(\S+)", RegexOptions.Multiline).Groups[1].Value;

    internal static int Option(string[] args, string name, int fallback) =>
        int.Parse(Option(args, name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    internal static string Option(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex TotalRequests();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    /// <summary>CPU time of this process's threads whose name starts with <paramref name="prefix"/> (Linux, from /proc; 10 ms ticks).</summary>
    private static TimeSpan ThreadCpu(string prefix)
    {
        var ticks = 0L;
        if (!OperatingSystem.IsLinux())
        {
            return TimeSpan.Zero;
        }

        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix[..Math.Min(prefix.Length, 15)], StringComparison.Ordinal))
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // the thread ended while we looked
            }
        }

        return TimeSpan.FromMilliseconds(ticks * 10);
    }
}
