using Tandem.Tests.Support;
using static Tandem.Tests.Collect.Fuzz.HostileJson;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>A real server with a suppression in force and a probe on it, shared by the examples below.</summary>
public sealed class ProbedServer : IAsyncLifetime
{
    private TandemServer? _server;

    public CollectorProbe Probe { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TandemServer.StartAsync();
        var server = _server;
        Probe = new CollectorProbe(server.Http, server.BaseAddress, TandemServer.AdminToken, timeout => CollectorFuzzRun.CaughtUpAsync(server, timeout),
            sourceId => CollectorFuzzRun.StoredPayloads(server.Services, sourceId));
        await Probe.PrepareAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// The findings of issue 14, each as the request that showed it, through the same checks as the fuzz
/// suite: every promise must hold for each. The generators can produce all of them; these keep them
/// in CI by name, whatever the seed draws.
/// </summary>
public sealed class CollectorFindingsTests(ProbedServer server) : IClassFixture<ProbedServer>
{
    private static readonly Dictionary<string, CollectCase> Findings = new(StringComparer.Ordinal)
    {
        ["emoji cut in half in traits.email beside three valid tracks"] = Batch(
            Track(0), Track(1), Track(2), Event("identify", ("userId", "\"u-<ID>-3\""), ("traits", "{\"email\":\"Zo\\u00eb\\ud83d@example.com\"}"))),
        ["lone surrogate in userId"] = Batch(Track(0), Event("track", ("userId", "\"u-<ID>-\\ud83d\""), ("event", "\"E\""))),
        ["invalid UTF-8 in anonymousId"] = Batch(Track(0), Raw("track", "{\"type\":\"track\",\"anonymousId\":\"a-<ID>-\xe9\",\"event\":\"E\",\"messageId\":\"m-<ID>-1\"}")),
        ["lone surrogate in context.traits.email"] = Batch(Track(0), Event("track", ("userId", "\"u-<ID>-1\""), ("event", "\"E\""), ("context", "{\"traits\":{\"email\":\"\\udc00@example.com\"}}"))),
        ["lone surrogate in the event name"] = Batch(Event("track", ("userId", "\"u-<ID>-0\""), ("event", "\"Order \\ud83d\""), ("messageId", "\"m-<ID>-0\""))),
        ["whitespace-only userId"] = Batch(Event("track", ("userId", "\"   \""), ("event", "\"E\""), ("messageId", "\"m-<ID>-0\""))),
        ["Latin-1 byte in a property"] = Batch(Raw("track", "{\"type\":\"track\",\"userId\":\"u-<ID>-0\",\"event\":\"E\",\"messageId\":\"m-<ID>-0\",\"properties\":{\"name\":\"caf\xe9\"}}")),
        ["overlong sequence in a trait"] = Batch(Raw("identify", "{\"type\":\"identify\",\"userId\":\"u-<ID>-0\",\"messageId\":\"m-<ID>-0\",\"traits\":{\"slash\":\"\xc0\xaf\"}}")),
        ["lone surrogate in a trait"] = Batch(Event("identify", ("userId", "\"u-<ID>-0\""), ("messageId", "\"m-<ID>-0\""), ("traits", "{\"plan\":\"\\ud83d\"}"))),
        ["timestamp 9999 with sentAt 1970 beside a valid event"] = Batch(
            Track(0), Event("track", ("userId", "\"u-<ID>-1\""), ("event", "\"E\""), ("timestamp", "\"9999-12-31T23:59:59.999Z\""), ("sentAt", "\"1970-01-01T00:00:00Z\""))),
        ["timestamp in year 9999 alone"] = Batch(Event("track", ("userId", "\"u-<ID>-0\""), ("event", "\"E\""), ("timestamp", "\"9999-12-31T23:59:59.999Z\""))),
        ["body with a byte-order mark"] = Batch(Track(0)) with { Bom = true },
        ["invalid UTF-8 in messageId"] = Batch(Track(0), Raw("track", "{\"type\":\"track\",\"userId\":\"u-<ID>-1\",\"event\":\"E\",\"messageId\":\"m-<ID>-\xff\"}")),
        ["invalid UTF-8 in timestamp"] = Batch(Track(0), Raw("track", "{\"type\":\"track\",\"userId\":\"u-<ID>-1\",\"event\":\"E\",\"timestamp\":\"2026-11-23\xff\"}")),
        ["lone surrogate in a key of context"] = Batch(Track(0), Event("track", ("userId", "\"u-<ID>-1\""), ("event", "\"E\""), ("context", "{\"\\ud83d\":1}"))),
        ["refused event holding a lone low surrogate"] = Batch(Event("track", ("userId", "\"u-<ID>-0\""), ("event", "\"\\udc00\""), ("timestamp", "\"yesterday\""))),
        ["event name that is a number"] = Batch(Event("track", ("userId", "\"u-<ID>-0\""), ("event", "5"))),
        ["nesting past the limit"] = Batch(Event("track", ("userId", "\"u-<ID>-0\""), ("event", "\"E\""), ("properties", Latin1(Nested(70, asObject: true))))) with { Depth = 73 },
        ["truncated gzip body"] = Batch(Track(0)) with { Encoding = BodyEncoding.TruncatedGzip },
    };

    public static TheoryData<string> Names => [.. Findings.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Collect_Issue14Finding_KeepsEveryPromise(string finding)
    {
        var c = Findings[finding];
        var outcome = await server.Probe.RunAsync(c);
        Assert.True(outcome.Violations.Count == 0,
            $"{c.Describe()}\n   answer: {outcome.Answer}\n" + string.Join("\n", outcome.Violations.Select(v => $"   broken: {v.Invariant}: {v.Kind}: {v.Detail}")));
    }

    private static FuzzEvent Track(int index) =>
        Event("track", ("userId", $"\"u-<ID>-{index}\""), ("event", "\"Order Completed\""), ("messageId", $"\"m-<ID>-{index}\""));

    /// <summary>An event from fields written as JSON text; each char stands for one byte (Latin-1), so raw invalid UTF-8 can be written as \xNN.</summary>
    private static FuzzEvent Event(string type, params (string Name, string Json)[] fields) =>
        new(type, [new Field(Quoted(Utf8("type")), Quoted(Utf8(type))), .. fields.Select(f => new Field(Quoted(Utf8(f.Name)), System.Text.Encoding.Latin1.GetBytes(f.Json)))]);

    private static FuzzEvent Raw(string type, string latin1Json) => new(type, [], System.Text.Encoding.Latin1.GetBytes(latin1Json));

    private static string Latin1(byte[] bytes) => System.Text.Encoding.Latin1.GetString(bytes);

    private static CollectCase Batch(params FuzzEvent[] events) =>
        new("/v1/batch", true, events, [], KeyPlace.Basic, BodyEncoding.Plain, "application/json", false);
}
