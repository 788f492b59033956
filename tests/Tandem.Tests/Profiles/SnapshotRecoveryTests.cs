using System.Diagnostics;
using System.Net;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Profiles;

/// <summary>
/// docs/unify.md, The processor: "A snapshot that cannot be read is set aside as
/// profiles.snapshot.unreadable and the profiles are rebuilt from the log. While the processor loads,
/// the Profile API and the unify management API answer 503 profiles_loading."
/// </summary>
public sealed class SnapshotRecoveryTests
{
    private const string SignUp = """{"type":"identify","userId":"u-1","traits":{"email":"ada@example.com","plan":"pro"},"messageId":"1"}""";
    private const string Order = """{"type":"track","userId":"u-1","event":"Order Completed","messageId":"2"}""";

    public static TheoryData<string> Damage => new() { "garbage", "truncated", "empty" };

    [Theory]
    [MemberData(nameof(Damage))]
    public async Task Start_SnapshotUnreadable_SetAsideAndProfilesRebuiltFromTheLog(string damage)
    {
        await using var server = await TandemServer.StartAsync();
        await ProfileApiTests.SendAsync(server, SignUp, Order);
        var before = ProfileApiTests.Processor(server).SnapshotBytes();
        var snapshot = Path.Combine(server.DataDirectory, "profiles.snapshot");
        byte[] damaged = [];

        await server.RestartAsync(() =>
        {
            var good = File.ReadAllBytes(snapshot);
            damaged = damage switch
            {
                "garbage" => Encoding.UTF8.GetBytes("this was never a Tandem snapshot"),
                "truncated" => good[..(good.Length / 2)],
                _ => [],
            };
            File.WriteAllBytes(snapshot, damaged);
        });
        await server.CaughtUpAsync();

        Assert.Equal(damaged, await File.ReadAllBytesAsync(snapshot + ".unreadable"));
        Assert.Equal(before, ProfileApiTests.Processor(server).SnapshotBytes());
        var traits = await ProfileApiTests.GetAsync(server, "/v1/profiles/email:ada@example.com/traits");
        Assert.Equal("pro", traits.GetProperty("traits").GetProperty("plan").GetString());
        var processor = await server.AdminGetAsync("/api/v1/processor");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, processor.GetProperty("fault").ValueKind);
    }

    [Fact]
    public async Task Start_WhileTheSnapshotLoads_ProfileReads503ProfilesLoadingWithRetryAfter_ThenAnswer()
    {
        await using var server = await TandemServer.StartAsync();
        await ProfileApiTests.SendAsync(server, SignUp, Order);
        var snapshot = Path.Combine(server.DataDirectory, "profiles.snapshot");
        byte[] saved = [];

        // The snapshot becomes a named pipe: the processor's load waits on it until the test writes the
        // real snapshot into it, so "while it loads" lasts exactly as long as the test needs.
        await server.RestartAsync(() =>
        {
            saved = File.ReadAllBytes(snapshot);
            File.Delete(snapshot);
            MakeFifo(snapshot);
        });
        var released = false;
        try
        {
            foreach (var path in new[] { "/v1/profiles/user_id:u-1/traits", "/api/v1/profiles?search=ada", "/api/v1/identity/types" })
            {
                using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, path));
                var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.ServiceUnavailable, "profiles_loading");
                Assert.Equal(5, problem.GetProperty("retryAfterSeconds").GetInt32());
                Assert.Equal("5", Assert.Single(response.Headers.GetValues("Retry-After")));
            }

            // The collector does not wait for profiles: events are stored while they load.
            using (var collected = await server.CollectAsync("/v1/track", """{"userId":"u-1","event":"While loading","messageId":"3"}"""))
            {
                Assert.Equal(HttpStatusCode.OK, collected.StatusCode);
            }

            await File.WriteAllBytesAsync(snapshot, saved).WaitAsync(TimeSpan.FromSeconds(30));
            released = true;
            await server.CaughtUpAsync();

            var traits = await ProfileApiTests.GetAsync(server, "/v1/profiles/user_id:u-1/traits");
            Assert.Equal("pro", traits.GetProperty("traits").GetProperty("plan").GetString());
            var metadata = await ProfileApiTests.GetAsync(server, "/v1/profiles/user_id:u-1/metadata");
            Assert.Equal(3, metadata.GetProperty("eventCount").GetInt32());
        }
        finally
        {
            if (!released)
            {
                // Let the processor's load finish, so the server can stop.
                await File.WriteAllBytesAsync(snapshot, saved).WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}
