using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>
/// One fuzz run shared by the tests below: a real server, generated requests through the real HTTP
/// collector, everything read back. The seed is fixed so CI sees the same cases every time;
/// TANDEM_FUZZ_SEED and TANDEM_FUZZ_CASES change them for a local run.
/// </summary>
public sealed class CollectorFuzzRun : IAsyncLifetime
{
    private const ulong FixedSeed = 20261204;
    private const int Cases = 500;
    private TandemServer? _server;

    public FuzzReport Report { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TandemServer.StartAsync();
        var server = _server;
        var probe = new CollectorProbe(server.Http, server.BaseAddress, TandemServer.AdminToken, timeout => CaughtUpAsync(server, timeout),
            sourceId => StoredPayloads(server.Services, sourceId));
        await probe.PrepareAsync();
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("TANDEM_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : FixedSeed;
        var cases = int.TryParse(Environment.GetEnvironmentVariable("TANDEM_FUZZ_CASES"), CultureInfo.InvariantCulture, out var n) ? n : Cases;
        Report = await FuzzCampaign.RunAsync(probe, seed, cases, TimeSpan.MaxValue);
    }

    internal static IReadOnlyList<byte[]> StoredPayloads(IServiceProvider services, string sourceId) =>
        services.GetRequiredService<Tandem.Sources.SourceRegistry>().FindById(sourceId) is { } source
            ? services.GetRequiredService<IngestLog>().ReadNewest(source.Key, 10_000).Select(e => e.Payload).ToList()
            : [];

    internal static async Task<bool> CaughtUpAsync(TandemServer server, TimeSpan timeout)
    {
        var head = server.Services.GetRequiredService<IngestLog>().Head;
        try
        {
            await server.Services.GetRequiredService<ProfileProcessor>().WhenProcessedAsync(head).WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Nothing lost, whatever the bytes: the collector's promises under generated hostile input (issue 14).</summary>
public sealed class CollectorFuzzTests(CollectorFuzzRun run) : IClassFixture<CollectorFuzzRun>
{
    [Fact]
    public void Collect_HostileRequests_AnswerKnownStatusAsJsonNever5xx() => Holds(Invariant.AnswerIsKnownAndJson);

    [Fact]
    public void Collect_BatchWithBadEvents_StoresEveryEventNotRefused() => Holds(Invariant.BatchKeepsTheValidEvents);

    [Fact]
    public void Collect_AcknowledgedEvents_ReachProfilesOrAreListedNotApplied() => Holds(Invariant.AcknowledgedReachesProfiles);

    [Fact]
    public void Collect_RefusedEvents_AreKeptInRejectionsWithTheirReason() => Holds(Invariant.RefusalsAreKept);

    [Fact]
    public void ReadPaths_AfterHostileEvents_NeverAnswer5xxAndStayReadable() => Holds(Invariant.ReadsNeverFail);

    [Fact]
    public void Collect_HostileText_IsStoredAsValidUnicode() => Holds(Invariant.StoredIsValidUtf8);

    [Fact]
    public void Collect_BomGzipOrContentType_ChangeNothing() => Holds(Invariant.TransportChangesNothing);

    [Fact]
    public void Collect_Refusals_NameTheRealProblem() => Holds(Invariant.ReasonsArePrecise);

    [Fact]
    public void Collect_ClientTimestamps_StoredWithinSaneRange() => Holds(Invariant.TimestampsAreSane);

    private void Holds(Invariant invariant)
    {
        var broken = run.Report.Of(invariant).ToList();
        Assert.True(broken.Count == 0, run.Report.Describe(broken));
    }
}
