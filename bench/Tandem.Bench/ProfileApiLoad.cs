using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;
using Tandem.Unify;

namespace Tandem.Bench;

/// <summary>
/// Profile API latency with wrk over loopback: <c>GET /v1/profiles/user_id:…/traits</c> for random
/// customers, beside a bare GET endpoint that answers a body of the same size, in the same run, at
/// several concurrencies.
/// </summary>
internal static class ProfileApiLoad
{
    private const string Token = "bench-admin";

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = CollectorLoad.Option(args, "--seconds", 10);
        var profiles = CollectorLoad.Option(args, "--profiles", 100_000);
        var connections = CollectorLoad.Option(args, "--connections", "4,8,16,32").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        if (!File.Exists("/usr/bin/wrk"))
        {
            Console.Error.WriteLine("wrk is missing: apt-get install -y wrk");
            return 1;
        }

        await using var server = await InProcessTandem.StartAsync(Token);
        var tandem = server.App;
        var tandemUrl = server.Url;
        var writeKey = server.WriteKey;

        var loading = Stopwatch.StartNew();
        await LoadProfilesAsync(tandemUrl, writeKey, profiles);
        var log = tandem.Services.GetRequiredService<IngestLog>();
        var processor = tandem.Services.GetRequiredService<ProfileProcessor>();
        await processor.WhenProcessedAsync(log.Head);
        var sample = processor.Read(e => e.Find(new Identifier(IdentifierType.UserId, "u0")) is { } p ? p.Traits.Count : 0);
        Console.WriteLine($"# Profile API load: {Environment.ProcessorCount} cores, .NET {Environment.Version}; {profiles:N0} profiles of {sample} traits loaded through the collector in {loading.Elapsed.TotalSeconds:N1} s");

        var body = await TraitsBodyAsync(tandemUrl);
        await using var bare = BareEndpoint(body);
        await bare.StartAsync();
        var bareUrl = bare.Urls.First();

        // Closed loop: each connection sends its next request when the answer arrives, so throughput and
        // latency are read together at each concurrency; the target is p99 ≤ 5 ms at ≥ 10,000 req/s.
        Console.WriteLine($"# wrk -t2 -cN -d{seconds}s after a 3 s warm-up, random customers; answer ~{body.Length} B");
        Console.WriteLine();
        Console.WriteLine("| connections | scenario | requests/s | p50 | p99 | non-2xx | server CPU µs/request |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var c in connections)
        {
            foreach (var (name, url, script) in new[]
            {
                ("bare endpoint (same body)", bareUrl, Script("/bare", null, 0)),
                ("Profile API traits", tandemUrl, Script("/v1/profiles/user_id:u{0}/traits", Token, profiles)),
            })
            {
                await CollectorLoad.Wrk(url, script, 2, c, 3);
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var result = await CollectorLoad.Wrk(url, script, 2, c, seconds);
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / Math.Max(1, result.Requests);
                Console.WriteLine($"| {c} | {name} | {result.RequestsPerSecond:N0} | {result.P50} | {result.P99} | {result.Non2xx} | {cpu:N0} |");
            }
        }

        return 0;
    }

    /// <summary>Sends one identify of 10 traits per customer through the collector, 500 per batch, 4 batches in flight.</summary>
    private static async Task LoadProfilesAsync(string url, string writeKey, int profiles)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        var plans = new[] { "free", "plus", "pro", "enterprise" };
        var cities = new[] { "Lisbon", "Porto", "Berlin", "Lyon", "Austin", "Osaka" };
        var batches = Enumerable.Range(0, (profiles + 499) / 500);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (b, ct) =>
        {
            var json = new StringBuilder("{\"batch\":[");
            for (var i = b * 500; i < Math.Min(profiles, (b + 1) * 500); i++)
            {
                json.Append(CultureInfo.InvariantCulture, $$$"""{"type":"identify","userId":"u{{{i}}}","anonymousId":"a{{{i}}}","messageId":"m{{{i}}}","traits":{"email":"person{{{i}}}@example.com","firstName":"First{{{i}}}","lastName":"Last{{{i}}}","plan":"{{{plans[i % 4]}}}","city":"{{{cities[i % 6]}}}","country":"PT","company":"Company {{{i % 997}}}","title":"Buyer","phone":"+351 21 {{{i:0000000}}}","createdAt":"2026-01-01T00:00:00Z"}},""");
            }

            json[^1] = ']';
            json.Append('}');
            using var response = await http.PostAsync("/v1/batch", new StringContent(json.ToString(), Encoding.UTF8, "application/json"), ct);
            response.EnsureSuccessStatusCode();
        });
    }

    private static async Task<string> TraitsBodyAsync(string url)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return await http.GetStringAsync(new Uri(new Uri(url), "/v1/profiles/user_id:u0/traits"));
    }

    private static WebApplication BareEndpoint(string body)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var bytes = Encoding.UTF8.GetBytes(body);
        app.MapGet("/bare", () => Results.Bytes(bytes, "application/json"));
        return app;
    }

    /// <summary>A wrk script: GET a path, with {0} replaced by a random customer number.</summary>
    private static string Script(string pathFormat, string? token, int customers)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tandem-wrk-{Guid.NewGuid():N}.lua");
        var lua = new StringBuilder();
        if (token is not null)
        {
            lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.headers[\"Authorization\"] = \"Bearer {token}\"");
        }

        var (before, after) = pathFormat.Contains("{0}", StringComparison.Ordinal)
            ? (pathFormat[..pathFormat.IndexOf("{0}", StringComparison.Ordinal)], pathFormat[(pathFormat.IndexOf("{0}", StringComparison.Ordinal) + 3)..])
            : (pathFormat, "");
        lua.AppendLine("math.randomseed(2026)");
        lua.AppendLine("request = function()");
        lua.AppendLine(customers > 0
            ? $"  return wrk.format(\"GET\", \"{before}\" .. math.random(0, {customers - 1}) .. \"{after}\")"
            : $"  return wrk.format(\"GET\", \"{before}\")");
        lua.AppendLine("end");

        File.WriteAllText(path, lua.ToString());
        return path;
    }
}
