using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Collect.Fuzz;
using Tandem.Unify;

namespace Tandem.Bench;

/// <summary>
/// The collector fuzz suite of tests/ run for minutes instead of a fixed number of cases: the same
/// generators and checks against a real server, each distinct failure printed with its shrunk input.
/// </summary>
internal static class CollectorFuzz
{
    private const string AdminToken = "bench-admin";

    public static async Task<int> RunAsync(string[] args)
    {
        var minutes = double.Parse(CollectorLoad.Option(args, "--minutes", "1"), CultureInfo.InvariantCulture);
        var seed = ulong.Parse(CollectorLoad.Option(args, "--seed", "1"), CultureInfo.InvariantCulture);
        var replay = CollectorLoad.Option(args, "--case", "");

        // The server's own logs would bury the report under the stack traces of the 500s it finds.
        await using var tandem = await InProcessTandem.StartAsync(AdminToken, LogLevel.None);
        using var http = new HttpClient();
        var services = tandem.App.Services;
        var probe = new CollectorProbe(http, new Uri(tandem.Url), AdminToken, timeout => CaughtUpAsync(tandem, timeout),
            sourceId => services.GetRequiredService<Tandem.Sources.SourceRegistry>().FindById(sourceId) is { } source
                ? services.GetRequiredService<IngestLog>().ReadNewest(source.Key, 10_000).Select(e => e.Payload).ToList()
                : []);
        await probe.PrepareAsync();

        if (replay.Length > 0)
        {
            var c = FuzzCampaign.Replay(replay);
            var outcome = await probe.RunAsync(c);
            Console.WriteLine(c.Describe());
            Console.WriteLine($"answer: {outcome.Answer}");
            foreach (var v in outcome.Violations)
            {
                Console.WriteLine($"broken: {v.Invariant}: {v.Kind}: {v.Detail}");
            }

            return outcome.Violations.Count == 0 ? 0 : 1;
        }

        Console.WriteLine($"Fuzzing the collector for {minutes} min, seed {seed}…");
        var report = await FuzzCampaign.RunAsync(probe, seed, int.MaxValue, TimeSpan.FromMinutes(minutes), shrinkRuns: 60,
            progress: line => Console.WriteLine("  " + line));
        Console.WriteLine();
        Console.WriteLine(report.Describe(report.Findings));
        Console.WriteLine(report.Findings.Count == 0 ? "No promise broken." : $"{report.Findings.Count} distinct failures.");
        return report.Findings.Count == 0 ? 0 : 1;
    }

    private static async Task<bool> CaughtUpAsync(InProcessTandem tandem, TimeSpan timeout)
    {
        var head = tandem.App.Services.GetRequiredService<IngestLog>().Head;
        try
        {
            await tandem.App.Services.GetRequiredService<ProfileProcessor>().WhenProcessedAsync(head).WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
