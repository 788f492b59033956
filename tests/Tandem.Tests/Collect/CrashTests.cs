using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
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
        var atKill = data + "-at-kill";
        try
        {
            var acknowledged = new ConcurrentDictionary<string, bool>();
            var unacknowledged = new ConcurrentQueue<string[]>();
            string writeKey;
            using (var tandem = await TandemProcess.StartAsync(data))
            {
                writeKey = tandem.WriteKey;
                using var http = Client(tandem.BaseAddress, writeKey);
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

                // Whether the kill lands between a commit and its answers is luck (in 2 of 6 runs it did
                // not). So one answer is lost on the way, as when an SDK gives up just before it arrives:
                // that batch is stored, its client does not know, and it retries it after the restart.
                var lost = Enumerable.Range(0, EventsPerBatch).Select(i => $"crash-lost-{i}").ToArray();
                using (var response = await http.PostAsync("/v1/batch", Batch(lost)))
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }

                unacknowledged.Enqueue(lost);
                await tandem.KillAsync(); // SIGKILL under load: no shutdown hooks, no flush
                await Task.WhenAll(senders);
            }

            // What the kill left on disk, read from a copy: the restart below must recover the original itself.
            var storedAtKill = StoredMessageIds(CopyLog(data, atKill)).ToHashSet();
            Assert.Empty(acknowledged.Keys.Except(storedAtKill));
            var retried = unacknowledged.SelectMany(ids => ids).ToList();
            var storedBeforeRetry = retried.Count(storedAtKill.Contains);
            Assert.True(storedBeforeRetry >= EventsPerBatch,
                $"only {storedBeforeRetry} of the {retried.Count} retried events were stored before the kill: the lost answer's batch should be");

            // Restart on the same data (on a port of its own) and retry what was never acknowledged, as SDKs do.
            var deduplicated = 0;
            using (var tandem = await TandemProcess.StartAsync(data))
            {
                using var http = Client(tandem.BaseAddress, writeKey);
                foreach (var ids in unacknowledged)
                {
                    using var response = await http.PostAsync("/v1/batch", Batch(ids));
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    deduplicated += answer.RootElement.GetProperty("deduplicated").GetInt32();
                    foreach (var id in ids)
                    {
                        acknowledged[id] = true;
                    }
                }

                await tandem.KillAsync();
            }

            // Each retried event already stored was answered as a duplicate, and the log holds every event once.
            Assert.Equal(storedBeforeRetry, deduplicated);
            var stored = StoredMessageIds(data);
            Assert.Equal(stored.Count, stored.Distinct().Count());
            Assert.Equal(acknowledged.Count, stored.Count);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var dir in new[] { data, atKill }.Where(Directory.Exists))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static HttpClient Client(Uri baseAddress, string writeKey)
    {
        var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = TandemServer.Basic(writeKey);
        return http;
    }

    /// <summary>Copies the log's files, as a kill left them (the database and its write-ahead log), into <paramref name="into"/>.</summary>
    private static string CopyLog(string data, string into)
    {
        Directory.CreateDirectory(into);
        foreach (var name in new[] { "log.db", "log.db-wal" }.Where(n => File.Exists(Path.Combine(data, n))))
        {
            File.Copy(Path.Combine(data, name), Path.Combine(into, name));
        }

        return into;
    }

    /// <summary>The messageId of every event the log in <paramref name="data"/> holds, in log order.</summary>
    private static List<string> StoredMessageIds(string data)
    {
        using var log = new IngestLog(data, new IngestLogOptions(), TimeProvider.System);
        return [.. log.ReadAfter(0, int.MaxValue).Select(e => JsonDocument.Parse(e.Payload).RootElement.GetProperty("messageId").GetString()!)];
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
}
