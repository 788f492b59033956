using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// The durability promise: a real Tandem process killed with SIGKILL under load loses no
/// acknowledged event, and clients that retry what was not acknowledged create no duplicates.
/// </summary>
public sealed class CrashTests
{
    private const int Senders = 4;
    private const int EventsPerBatch = 20;
    private const int AcknowledgedBeforeKill = 4_000;

    [Fact]
    public async Task Kill9UnderLoad_EveryAcknowledgedEventIsStored_RetriesCreateNoDuplicates()
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-crash-" + Guid.NewGuid().ToString("N"));
        try
        {
            var port = FreePort();
            var (process, writeKey) = await StartTandemAsync(data, port);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            http.DefaultRequestHeaders.Authorization = TandemServer.Basic(writeKey);

            var acknowledged = new ConcurrentDictionary<string, bool>();
            var unacknowledged = new ConcurrentQueue<string[]>();
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var batchNumber = 0;
            var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
            {
                while (true)
                {
                    var n = Interlocked.Increment(ref batchNumber);
                    var ids = Enumerable.Range(0, EventsPerBatch).Select(i => $"crash-{n}-{i}").ToArray();
                    try
                    {
                        using var response = await http.PostAsync("/v1/batch", Batch(ids));
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            unacknowledged.Enqueue(ids);
                            continue;
                        }

                        foreach (var id in ids)
                        {
                            acknowledged[id] = true;
                        }

                        if (acknowledged.Count >= AcknowledgedBeforeKill)
                        {
                            enough.TrySetResult();
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The process is gone: this batch was never acknowledged, so an SDK would retry it.
                        unacknowledged.Enqueue(ids);
                        return;
                    }
                }
            })).ToArray();

            await enough.Task.WaitAsync(TimeSpan.FromMinutes(2));
            process.Kill(entireProcessTree: true); // SIGKILL: no shutdown hooks, no flush
            await process.WaitForExitAsync();
            await Task.WhenAll(senders);
            process.Dispose();
            var acknowledgedBeforeKill = acknowledged.Keys.ToHashSet();

            // Restart on the same data and retry what was never acknowledged, as SDKs do.
            (process, _) = await StartTandemAsync(data, port);
            foreach (var ids in unacknowledged)
            {
                using var response = await http.PostAsync("/v1/batch", Batch(ids));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                foreach (var id in ids)
                {
                    acknowledged[id] = true;
                }
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();

            using var log = new IngestLog(data, new IngestLogOptions(), TimeProvider.System);
            var stored = log.ReadAfter(0, int.MaxValue)
                .Select(e => JsonDocument.Parse(e.Payload).RootElement.GetProperty("messageId").GetString()!)
                .ToList();
            Assert.Empty(acknowledgedBeforeKill.Except(stored));
            Assert.Equal(stored.Count, stored.Distinct().Count());
            Assert.Equal(acknowledged.Count, stored.Count);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private static StringContent Batch(string[] ids)
    {
        var json = new StringBuilder("{\"batch\":[");
        foreach (var id in ids)
        {
            json.Append(System.Globalization.CultureInfo.InvariantCulture,
                $$$"""{"type":"track","userId":"user-{{{id}}}","event":"Load Tested","messageId":"{{{id}}}","properties":{"value":42,"note":"durability under kill -9"}},""");
        }

        json.Length--;
        json.Append("]}");
        return new StringContent(json.ToString(), Encoding.UTF8, "application/json");
    }

    /// <summary>Starts the real Tandem binary and waits for the line that says it listens (no polling, no sleeping).</summary>
    private static async Task<(Process Process, string WriteKey)> StartTandemAsync(string data, int port)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "Tandem");
        var process = ChildProcess.Start(binary, ["serve", "--data", data, "--urls", $"http://127.0.0.1:{port}"], AppContext.BaseDirectory,
            new Dictionary<string, string> { ["TANDEM_ADMIN_TOKEN"] = TandemServer.AdminToken });
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var writeKey = "";
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Contains("write key: ", StringComparison.Ordinal))
            {
                writeKey = line[(line.IndexOf("write key: ", StringComparison.Ordinal) + 11)..].Trim();
            }

            if (line.Contains("Tandem is listening", StringComparison.Ordinal))
            {
                // Keep draining stdout so the child never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return (process, writeKey); // empty on a restart: the key is shown on the first start only
            }
        }

        throw new InvalidOperationException($"Tandem exited with {process.ExitCode} before listening");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
