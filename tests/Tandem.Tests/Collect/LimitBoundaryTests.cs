using System.IO.Compression;
using System.Net;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// The collector's limits (docs/collect.md "Limits") one byte or one event below, exactly at and one past
/// each. The numbers are written out as the doc states them, in the units it counts: 32 KB is 32,768 bytes
/// of UTF-8 JSON (the whole body on a single-event route, the event's own text in a batch), 500 KB is
/// 512,000 bytes of body after decompression, and a batch holds at most 2,500 events.
/// </summary>
public sealed class LimitBoundaryTests
{
    private const int EventLimit = 32 * 1024;
    private const int BodyLimit = 500 * 1024;

    [Theory]
    [InlineData(EventLimit - 1, true)]
    [InlineData(EventLimit, true)]
    [InlineData(EventLimit + 1, false)]
    public async Task SingleRoute_BodyOfTheseManyBytes_IsStoredUpTo32KB(int bytes, bool stored)
    {
        await using var server = await TandemServer.StartAsync();
        var json = Track(bytes);
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(json));

        using var response = await server.CollectAsync("/v1/track", json);
        if (stored)
        {
            Assert.Equal(1, (await HttpAssert.JsonAsync(response, HttpStatusCode.OK)).GetProperty("accepted").GetInt32());
        }
        else
        {
            await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "event_too_large");
            Assert.Empty(await server.StoredEventsAsync());
        }
    }

    [Theory]
    [InlineData(EventLimit - 1, true)]
    [InlineData(EventLimit, true)]
    [InlineData(EventLimit + 1, false)]
    public async Task Batch_EventOfTheseManyBytes_IsStoredUpTo32KB_TheOthersAnyway(int bytes, bool stored)
    {
        await using var server = await TandemServer.StartAsync();
        var sized = Track(bytes, type: "track");
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(sized));

        using var response = await server.CollectAsync("/v1/batch", "{\"batch\":[ " + sized + " ,{\"type\":\"track\",\"userId\":\"u\",\"event\":\"Small\"}]}");
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(stored ? 2 : 1, body.GetProperty("accepted").GetInt32());
        Assert.Equal(stored, !body.TryGetProperty("rejected", out var rejected) || rejected.GetArrayLength() == 0);
        if (!stored)
        {
            Assert.Equal("event_too_large", rejected[0].GetProperty("reason").GetString());
        }
    }

    [Theory]
    [InlineData(BodyLimit - 1, true, false)]
    [InlineData(BodyLimit, true, false)]
    [InlineData(BodyLimit + 1, false, false)]
    [InlineData(BodyLimit, true, true)]
    [InlineData(BodyLimit + 1, false, true)]
    public async Task Batch_BodyOfTheseManyBytes_IsStoredUpTo500KB_CountedAfterDecompression(int bytes, bool stored, bool gzip)
    {
        await using var server = await TandemServer.StartAsync();
        var json = Batch(bytes);
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(json));

        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch"));
        request.Content = new ByteArrayContent(gzip ? Gzip(json) : Encoding.UTF8.GetBytes(json));
        if (gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        using var response = await server.Http.SendAsync(request);
        if (stored)
        {
            var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
            Assert.False(body.TryGetProperty("rejected", out _));
        }
        else
        {
            await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "batch_too_large");
            Assert.Empty(await server.StoredEventsAsync());
        }
    }

    [Theory]
    [InlineData(2_499, true)]
    [InlineData(2_500, true)]
    [InlineData(2_501, false)]
    public async Task Batch_OfTheseManyEvents_IsStoredUpTo2500(int events, bool stored)
    {
        await using var server = await TandemServer.StartAsync();
        var json = "{\"batch\":[" + string.Join(',', Enumerable.Range(0, events).Select(i => $$"""{"type":"track","userId":"u","event":"E{{i}}"}""")) + "]}";

        using var response = await server.CollectAsync("/v1/batch", json);
        if (stored)
        {
            Assert.Equal(events, (await HttpAssert.JsonAsync(response, HttpStatusCode.OK)).GetProperty("accepted").GetInt32());
        }
        else
        {
            await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "too_many_events");
            Assert.Empty(await server.StoredEventsAsync());
        }
    }

    /// <summary>A track event of exactly <paramref name="bytes"/> bytes of UTF-8, padded with two-byte characters and one ASCII one.</summary>
    private static string Track(int bytes, string? type = null)
    {
        var head = "{" + (type is null ? "" : $"\"type\":\"{type}\",") + "\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"blob\":\"";
        const string Tail = "\"}}";
        var room = bytes - Encoding.UTF8.GetByteCount(head) - Tail.Length;
        // Counted in bytes, not characters: é is two bytes of UTF-8.
        return head + new string('é', room / 2) + new string('x', room % 2) + Tail;
    }

    /// <summary>A batch body of exactly <paramref name="bytes"/> bytes: 18 events of about 28 KB each, all under 32 KB.</summary>
    private static string Batch(int bytes)
    {
        const string Head = "{\"batch\":[";
        const string Tail = "]}";
        const int Events = 18;
        var room = bytes - Head.Length - Tail.Length - (Events - 1);
        var sizes = Enumerable.Repeat(room / Events, Events).ToArray();
        sizes[^1] += room % Events;
        return Head + string.Join(',', sizes.Select(size => Track(size, type: "track"))) + Tail;
    }

    private static byte[] Gzip(string json)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(json));
        }

        return compressed.ToArray();
    }
}
