using System.Text;
using BenchmarkDotNet.Attributes;
using Tandem.Collect;

namespace Tandem.Bench;

/// <summary>The collector's per-request CPU work: Spec validation and stamping of one body.</summary>
[MemoryDiagnoser]
public class SpecParserBenchmarks
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);
    private ReadOnlyMemory<byte> _batch;
    private ReadOnlyMemory<byte> _track;
    private ReadOnlyMemory<byte> _batchOneBroken;

    [GlobalSetup]
    public void Setup()
    {
        _batch = Encoding.UTF8.GetBytes(Payloads.Batch(100));
        _track = Encoding.UTF8.GetBytes(Payloads.Track(0));
        // One event in the hundred carries an emoji cut in half: the slow path (find, repair, re-parse).
        var text = Payloads.Batch(100);
        var at = text.IndexOf("Trail runner", StringComparison.Ordinal);
        _batchOneBroken = Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, at), "Trail \\ud83d", text.AsSpan(at + "Trail runner".Length)));
    }

    [Benchmark(Description = "Unicode check of the batch (the cost every body now pays)")]
    public bool CheckOnly() => Tandem.Text.UnicodeRepair.NeedsRepair(_batch.Span);

    [Benchmark(Description = "batch of 100 with one lone surrogate (repaired)")]
    public int Batch100OneBroken() => _parser.Parse(_batchOneBroken, null, ReceivedAt, null).Accepted.Count;

    /// <summary>Reference in the same run: parsing the same body into a JsonDocument and nothing else.</summary>
    [Benchmark(Baseline = true, Description = "reference: JsonDocument.Parse of the batch only")]
    public int ParseOnly()
    {
        using var document = System.Text.Json.JsonDocument.Parse(_batch);
        return document.RootElement.GetProperty("batch"u8).GetArrayLength();
    }

    [Benchmark(Description = "batch of 100 events (~300 B each)")]
    public int Batch100() => _parser.Parse(_batch, null, ReceivedAt, null).Accepted.Count;

    [Benchmark(Description = "single track event")]
    public int Track() => _parser.Parse(_track, MessageType.Track, ReceivedAt, "203.0.113.7").Accepted.Count;
}

/// <summary>The event used by every benchmark: a realistic ~300-byte track call.</summary>
internal static class Payloads
{
    public static string Track(int i) =>
        $$$"""{"type":"track","userId":"user-{{{i % 5000}}}","event":"Product Viewed","properties":{"productId":"sku-{{{i % 977}}}","name":"Trail runner","price":19.99,"currency":"EUR","category":"shoes"},"context":{"library":{"name":"analytics-node","version":"3.1.0"},"locale":"fr-FR","page":{"path":"/p/trail"}},"timestamp":"2026-11-23T11:59:58.120Z"}""";

    public static string Batch(int events) =>
        "{\"batch\":[" + string.Join(',', Enumerable.Range(0, events).Select(Track)) + "],\"sentAt\":\"2026-11-23T11:59:59.000Z\"}";
}
