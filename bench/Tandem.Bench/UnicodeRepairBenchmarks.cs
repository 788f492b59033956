using System.Text;
using BenchmarkDotNet.Attributes;
using Tandem.Text;

namespace Tandem.Bench;

/// <summary>What every reader of stored JSON pays to check it is valid Unicode, and what a repair costs.</summary>
[MemoryDiagnoser]
public class UnicodeRepairBenchmarks
{
    private byte[] _track = [];
    private byte[] _batch = [];
    private byte[] _brokenTrack = [];

    [GlobalSetup]
    public void Setup()
    {
        _track = Encoding.UTF8.GetBytes(Payloads.Track(0));
        _batch = Encoding.UTF8.GetBytes(Payloads.Batch(100));
        _brokenTrack = Encoding.UTF8.GetBytes(Payloads.Track(0).Replace("Trail runner", "Trail \\ud83d runner", StringComparison.Ordinal));
        _brokenTrack[_brokenTrack.Length / 2] = 0xE9;
    }

    /// <summary>Reference in the same run: what a reader does anyway with the event.</summary>
    [Benchmark(Baseline = true, Description = "reference: JsonDocument.Parse of one event")]
    public int ParseOnly()
    {
        using var document = System.Text.Json.JsonDocument.Parse(_track);
        return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object ? 1 : 0;
    }

    [Benchmark(Description = "NeedsRepair, one valid event (~300 B)")]
    public bool CheckTrack() => UnicodeRepair.NeedsRepair(_track);

    [Benchmark(Description = "NeedsRepair, valid batch of 100 events (~30 KB)")]
    public bool CheckBatch() => UnicodeRepair.NeedsRepair(_batch);

    [Benchmark(Description = "Repair, one event with a Latin-1 byte and a lone surrogate")]
    public int RepairTrack() => UnicodeRepair.Repair(_brokenTrack).Length;
}
