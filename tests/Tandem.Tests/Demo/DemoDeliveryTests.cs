using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Demo;

namespace Tandem.Tests.Demo;

/// <summary>What the demo reports after sending: new events versus duplicates of an earlier send.</summary>
public sealed class DemoDeliveryTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly Dictionary<string, string> Keys = DemoSources.All.ToDictionary(s => s, s => "wk_" + s.Replace(' ', '_'), StringComparer.Ordinal);

    [Fact]
    public async Task SendAsync_CollectorDeduplicatesEverything_CountsNoNewEvents()
    {
        using var handler = new CountingCollector(batchSize => $$"""{"success":true,"accepted":0,"deduplicated":{{batchSize}}}""");
        using var http = new HttpClient(handler);

        var delivery = await new DemoTraffic(7, Now).SendAsync(http, new Uri("http://collector.test/"), Keys, 10, TestContext.Current.CancellationToken);

        Assert.Equal(handler.Events, delivery.Sent);
        Assert.Equal(0, delivery.New);
        Assert.Equal(handler.Events, delivery.Duplicates);
        Assert.Equal(0, delivery.Refused);
    }

    [Fact]
    public async Task SendAsync_CollectorStoresSomeAndRefusesOne_CountsEachOutcome()
    {
        using var handler = new CountingCollector(batchSize =>
            $$"""{"success":true,"accepted":{{batchSize - 2}},"deduplicated":1,"rejected":[{"index":0,"reason":"invalid_event","field":"type","detail":"x"}]}""");
        using var http = new HttpClient(handler);

        var delivery = await new DemoTraffic(7, Now).SendAsync(http, new Uri("http://collector.test/"), Keys, 10, TestContext.Current.CancellationToken);

        Assert.Equal(handler.Events - (2 * handler.Batches), delivery.New);
        Assert.Equal(handler.Batches, delivery.Duplicates);
        Assert.Equal(handler.Batches, delivery.Refused);
    }

    [Fact]
    public void Outcome_AllDuplicates_SaysTheyWereAlreadySent()
    {
        var outcome = new DemoDelivery(5264, 0, 5264, 0).Outcome();

        Assert.Equal("0 new, 5,264 duplicates (already sent within the dedup window)", outcome);
    }

    [Fact]
    public void Outcome_AllNew_SaysSoWithoutTheDedupNote()
    {
        Assert.Equal("5,264 new, 0 duplicates", new DemoDelivery(5264, 5264, 0, 0).Outcome());
    }

    [Fact]
    public void Outcome_SomeRefused_PointsToTheRejections()
    {
        var outcome = new DemoDelivery(10, 7, 1, 2).Outcome();

        Assert.Contains("2 refused", outcome, StringComparison.Ordinal);
        Assert.Contains("rejections", outcome, StringComparison.Ordinal);
    }

    /// <summary>Answers each batch with a body built from the number of events in it, and counts what it saw.</summary>
    private sealed class CountingCollector(Func<int, string> answer) : HttpMessageHandler
    {
        public int Events { get; private set; }

        public int Batches { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            var size = body.RootElement.GetProperty("batch").GetArrayLength();
            Events += size;
            Batches++;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer(size), Encoding.UTF8, "application/json") };
        }
    }
}
