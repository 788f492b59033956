using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// docs/collect.md, "Answers": a 200 is sent "only after the events are durable (committed and fsynced)".
/// The real binary runs under strace, which records every write to the log's write-ahead log, every
/// sync of it and every answer sent on a socket. For each 200, the trace must show that the batch's
/// events were written to <c>log.db-wal</c> and that a sync of that file returned after that write and
/// before the answer began. A kill -9 test can only catch a missing flush if the machine loses power;
/// this one catches it on every run (docs/testing.md, "Durability").
/// </summary>
public sealed partial class DurabilityTests
{
    private const int Senders = 4;
    private const int BatchesPerSender = 12;
    private const int EventsPerBatch = 5;

    /// <summary>
    /// Every sync is held 20 ms before it runs, as on a slow disk: an answer that does not wait for the
    /// sync is then sent while it is still running, which the trace shows, instead of winning or losing a
    /// race by microseconds.
    /// </summary>
    private const int SyncDelayMicroseconds = 20_000;

    [Fact]
    public async Task EveryAcknowledgement_IsSentAfterTheLogIsSyncedWithItsEvents()
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-durability-" + Guid.NewGuid().ToString("N"));
        var trace = data + ".strace";
        try
        {
            string[] strace = [FindStrace(), "-f", "--seccomp-bpf", "-yy", "-s", "65536", "-o", trace,
                "-e", "trace=write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,sendto,sendmsg",
                "-e", $"inject=fsync,fdatasync:delay_enter={SyncDelayMicroseconds}"];
            var answered = new Dictionary<int, List<string[]>>(); // client port → batches answered 200 on it, in order
            using (var tandem = await TandemProcess.StartAsync(data, strace))
            {
                var senders = Enumerable.Range(1, Senders).Select(s => SendAsync(tandem, s)).ToArray();
                foreach (var (port, batches) in await Task.WhenAll(senders))
                {
                    answered.Add(port, batches);
                }

                await tandem.KillAsync();
            }

            var calls = SyscallTrace.Parse(await File.ReadAllLinesAsync(trace, TestContext.Current.CancellationToken));
            var wal = Path.Combine(data, "log.db-wal");
            var syncs = calls.Where(c => c.Name is "fsync" or "fdatasync" && c.Fd == wal && c.Result == 0 && c.Returned >= 0)
                .Select(c => c.Returned).Order().ToList();
            var firstWritten = FirstWrites(calls.Where(c => c.Name.Contains("write", StringComparison.Ordinal) && c.Fd == wal));
            var answers = calls.Where(c => c.Name is "sendto" or "sendmsg" or "write" or "writev"
                    && SyscallTrace.PeerPort(c) is not null && c.Text.Contains("HTTP/1.1 200 ", StringComparison.Ordinal))
                .GroupBy(c => SyscallTrace.PeerPort(c)!.Value)
                .ToDictionary(g => g.Key, g => g.ToList());

            var violations = new List<string>();
            var checkedAnswers = 0;
            foreach (var (port, batches) in answered)
            {
                var sent = answers.GetValueOrDefault(port) ?? [];
                Assert.True(sent.Count == batches.Count, $"the trace holds {sent.Count} answers 200 to port {port}, the client got {batches.Count}");
                for (var k = 0; k < batches.Count; k++)
                {
                    // One connection per sender, one request at a time: its k-th answer answers its k-th batch.
                    var answer = sent[k];
                    foreach (var id in batches[k])
                    {
                        if (!firstWritten.TryGetValue(id, out var written) || written > answer.Began)
                        {
                            violations.Add($"{id}: answered at trace line {answer.Began + 1} before it was written to log.db-wal");
                            continue;
                        }

                        var synced = syncs.FirstOrDefault(s => s > written, -1);
                        if (synced < 0 || synced > answer.Began)
                        {
                            violations.Add($"{id}: written to log.db-wal at line {written + 1}, answered at line {answer.Began + 1}, " +
                                (synced < 0 ? "and log.db-wal was never synced after" : $"and the next sync of log.db-wal returned at line {synced + 1}"));
                        }
                    }

                    checkedAnswers++;
                }
            }

            Assert.Equal(Senders * BatchesPerSender, checkedAnswers);
            Assert.True(violations.Count == 0, $"{violations.Count} acknowledged events were not durable when acknowledged, e.g.:\n" +
                string.Join('\n', violations.Take(5)));
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }

            File.Delete(trace);
        }
    }

    /// <summary>
    /// Sends one sender's batches over one connection, one at a time; answers the client port of that
    /// connection (how the trace names it) and the batches, in order.
    /// </summary>
    private static async Task<(int Port, List<string[]> Batches)> SendAsync(TandemProcess tandem, int sender)
    {
        var port = 0;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancel);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = tandem.BaseAddress };
        http.DefaultRequestHeaders.Authorization = TandemServer.Basic(tandem.WriteKey);
        var batches = new List<string[]>();
        for (var b = 1; b <= BatchesPerSender; b++)
        {
            var ids = Enumerable.Range(1, EventsPerBatch).Select(e => $"durable-s{sender}-b{b:00}-e{e}").ToArray();
            using var response = await http.PostAsync("/v1/batch", Batch(ids), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            batches.Add(ids);
        }

        return (port, batches);
    }

    /// <summary>For each event id, the line where a write to the log first carried it.</summary>
    private static Dictionary<string, int> FirstWrites(IEnumerable<Syscall> writes)
    {
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var write in writes)
        {
            foreach (Match id in EventId().Matches(write.Text))
            {
                first.TryAdd(id.Value, write.Began);
            }
        }

        return first;
    }

    private static StringContent Batch(string[] ids)
    {
        var events = ids.Select(id => $$"""{"type":"track","userId":"user-{{id}}","event":"Durable","messageId":"{{id}}"}""");
        return new StringContent("{\"batch\":[" + string.Join(',', events) + "]}", Encoding.UTF8, "application/json");
    }

    private static string FindStrace()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "strace")))
            {
                return Path.Combine(dir, "strace");
            }
        }

        Assert.Fail("This test runs Tandem under strace, which is not installed: ./test installs it (Debian package strace).");
        return "";
    }

    [GeneratedRegex(@"durable-s\d+-b\d\d-e\d+")]
    private static partial Regex EventId();
}
