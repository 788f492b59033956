using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// docs/collect.md, "Refused events are kept" and Limits: a body that cannot be used at all is answered 400
/// and kept, as its first 4 KB, under the source its write key names.
/// </summary>
public sealed class UnusableBodyTests
{
    private const int SampleBytes = 4 * 1024;

    [Fact]
    public async Task Track_InvalidJsonOf10KB_KeepsItsFirst4096BytesAsTheSample()
    {
        await using var server = await TandemServer.StartAsync();
        var body = "{\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"blob\":\"" + new string('x', 10_000);

        await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/track", body), HttpStatusCode.BadRequest, "invalid_json");

        var kept = Assert.Single(Rejections(server));
        Assert.Equal("invalid_json", kept.Reason);
        Assert.Equal(Encoding.UTF8.GetBytes(body[..SampleBytes]), kept.Payload);
    }

    [Fact]
    public async Task Batch_LargerThan500KB_SaysTheLimitAndKeepsTheFirst4KB()
    {
        await using var server = await TandemServer.StartAsync();
        // Sent without a length up front (chunked), so the collector counts the bytes as they come.
        var body = "{\"batch\":[" + string.Join(',', Enumerable.Repeat("{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\"}", 13_000)) + "]}";
        Assert.True(Encoding.UTF8.GetByteCount(body) > 512_000);
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body))) };
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        request.Headers.TransferEncodingChunked = true;

        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "batch_too_large");

        Assert.Contains("500 KB", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Contains("512,000 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var kept = Assert.Single(Rejections(server));
        Assert.Equal(("batch_too_large", "body"), (kept.Reason, kept.Field));
        Assert.Equal(Encoding.UTF8.GetBytes(body[..SampleBytes]), kept.Payload);
        Assert.Empty(await server.StoredEventsAsync());
    }

    private static IReadOnlyList<Tandem.Collect.StoredRejection> Rejections(TandemServer server)
    {
        var sourceKey = server.Services.GetRequiredService<Tandem.Sources.SourceRegistry>().FindByWriteKey(server.WriteKey)!.Key;
        return server.Services.GetRequiredService<Tandem.Storage.Sqlite.IngestLog>().ReadRejections(sourceKey, 10);
    }
}
