using System.Text;
using BenchmarkDotNet.Attributes;
using Tandem.Collect;
using Tandem.Privacy;
using Tandem.Storage.Sqlite;
using Tandem.Unify;

namespace Tandem.Bench;

/// <summary>
/// The collector's suppression check per event, against the Spec parsing every event costs anyway
/// (the reference, in the same run): nothing in force, 10,000 suppressed people and a miss, and a hit.
/// Also what a delete pays per stored refusal to learn whether it names the person (most do not): a
/// readable event, and a 4 KB sample cut from an oversize batch, which is not JSON.
/// </summary>
[MemoryDiagnoser]
public class SuppressionBenchmarks : IDisposable
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tandem-bench-suppression-" + Guid.NewGuid().ToString("N"));
    private SuppressionList _empty = null!;
    private SuppressionList _full = null!;
    private ReadOnlyMemory<byte> _track;
    private byte[] _stamped = [];
    private byte[] _suppressedEvent = [];
    private byte[] _cutSample = [];
    private Func<byte[], bool> _naming = null!;

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "empty"));
        Directory.CreateDirectory(Path.Combine(_directory, "full"));
        _empty = new SuppressionList(new SqliteSuppressionStore(Path.Combine(_directory, "empty")), TimeProvider.System, ownsStore: true);
        _full = new SuppressionList(new SqliteSuppressionStore(Path.Combine(_directory, "full")), TimeProvider.System, ownsStore: true);
        // One request per person in real life; one call here, since each call reloads the whole list.
        _full.Suppress("prq_bench", Enumerable.Range(0, 10_000).SelectMany(i =>
            new[] { new Identifier(IdentifierType.UserId, $"gone-{i}"), new Identifier(IdentifierType.Email, $"gone-{i}@example.com") }));

        _track = Encoding.UTF8.GetBytes(Payloads.Track(0));
        _stamped = _parser.Parse(_track, MessageType.Track, ReceivedAt, null).Accepted[0].Json;
        _suppressedEvent = _parser.Parse(Encoding.UTF8.GetBytes(Payloads.Track(0).Replace("user-0", "gone-42", StringComparison.Ordinal)),
            MessageType.Track, ReceivedAt, null).Accepted[0].Json;
        _cutSample = Encoding.UTF8.GetBytes(Payloads.Batch(100))[..4096];
        _naming = _full.Naming([
            new Identifier(IdentifierType.UserId, "gone-42"), new Identifier(IdentifierType.AnonymousId, "anon-gone-42"),
            new Identifier(IdentifierType.Email, "gone-42@example.com"), new Identifier(IdentifierType.Phone, "+1 415 555 0142")]);
    }

    [Benchmark(Baseline = true, Description = "reference: Spec parse of one track event")]
    public int Parse() => _parser.Parse(_track, MessageType.Track, ReceivedAt, null).Accepted.Count;

    [Benchmark(Description = "check, no suppression in force")]
    public bool NoneInForce() => _empty.Active && _empty.Match(_stamped) is not null;

    [Benchmark(Description = "check, 10,000 people suppressed, event not theirs")]
    public bool Miss() => _full.Active && _full.Match(_stamped) is not null;

    [Benchmark(Description = "check, 10,000 people suppressed, event theirs")]
    public bool Hit() => _full.Active && _full.Match(_suppressedEvent) is not null;

    [Benchmark(Description = "delete: does a refused event name the person (not theirs)")]
    public bool NamingEvent() => _naming(_stamped);

    [Benchmark(Description = "delete: does a 4 KB cut batch sample name the person (not theirs)")]
    public bool NamingCutSample() => _naming(_cutSample);

    [GlobalCleanup]
    public void Dispose()
    {
        _empty?.Dispose();
        _full?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }
}
