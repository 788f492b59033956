using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Tandem.Trust;

namespace Tandem.Bench;

/// <summary>
/// The masking a debugger feed pays for one wide event: 2,000 property names no other event used (the
/// attack of issue 15, item 10), and for contrast an ordinary track event. The wide events cycle
/// through 32 distinct ones, 64,000 names in all, so a cache of names cannot answer from memory.
/// </summary>
[MemoryDiagnoser]
public class WideEventMaskingBenchmarks
{
    private const int Distinct = 32;
    private const int Width = 2_000;
    private readonly PiiView _marketer = new(PiiClassifier.Default, AccessPolicy.Default, ["marketer"]);
    private JsonObject[] _wide = [];
    private JsonObject _ordinary = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(15);
        _wide = [.. Enumerable.Range(0, Distinct).Select(_ => Wide(random))];
        _ordinary = JsonNode.Parse("""
            {"type":"track","userId":"u-1","event":"Order Completed","messageId":"m-2","timestamp":"2026-11-23T10:05:00Z",
             "context":{"ip":"203.0.113.9","traits":{"email":"ada@example.com"}},"properties":{"total":42.5,"card_number":"4242 4242 4242 4242","sku":"A-1"}}
            """)!.AsObject();
    }

    [Benchmark(Baseline = true, Description = "mask an ordinary track event (marketer)")]
    public int Ordinary() => _marketer.Event(_ordinary).Json.Count;

    [Benchmark(Description = "mask one event of 2,000 never-seen property names (marketer)")]
    public int Wide() => _marketer.Event(_wide[_next++ % Distinct]).Json.Count;

    private static JsonObject Wide(Random random)
    {
        var properties = new JsonObject();
        for (var i = 0; i < Width; i++)
        {
            properties[Name(random)] = i;
        }

        return new JsonObject { ["type"] = "track", ["event"] = "Wide", ["userId"] = "u-1", ["properties"] = properties };
    }

    private static string Name(Random random)
    {
        Span<char> name = stackalloc char[12];
        for (var i = 0; i < name.Length; i++)
        {
            name[i] = (char)('a' + random.Next(26));
        }

        return new string(name);
    }
}
