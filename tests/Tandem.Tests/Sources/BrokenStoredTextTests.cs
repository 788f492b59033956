using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Sources;

/// <summary>
/// Logs written before the collector repaired text hold invalid UTF-8 and lone surrogate escapes.
/// Every feed must still answer, with valid JSON, showing U+FFFD where the broken text was.
/// </summary>
public sealed class BrokenStoredTextTests
{
    /// <summary>GETs a path, asserts 200 and a body that is valid UTF-8 and valid JSON.</summary>
    internal static async Task<JsonElement> ReadValidAsync(TandemServer server, string path)
    {
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, path));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes)}");
        Assert.True(Utf8.IsValid(bytes), $"GET {path} answered bytes that are not UTF-8");
        using var document = JsonDocument.Parse(bytes);
        return document.RootElement.Clone();
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Events_StoredEventWithBrokenText_IsShownWithReplacementCharacters(string what, byte[] broken, string shown)
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/track", """{"userId":"u-0","event":"Before"}""");
        var seq = await StoredBytes.AppendEventAsync(server, """{"userId":"u-1","event":"Viewed","properties":{"note":"@@broken@@","@@broken@@":1}}""",
            broken, MessageType.Track);
        await server.CollectAsync("/v1/track", """{"userId":"u-2","event":"After"}""");

        foreach (var query in new[] { "limit=50", "limit=1&before=" + (seq + 1), "limit=1&after=" + (seq - 1) + "&before=" + (seq + 1) })
        {
            var feed = await ReadValidAsync(server, $"/api/v1/sources/{server.DefaultSourceId}/events?{query}");
            var viewed = feed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event"))
                .Single(e => e.GetProperty("event").GetString() == "Viewed");
            Assert.True(viewed.GetProperty("properties").GetProperty("note").GetString() == shown, $"{what}, {query}");
            Assert.Equal([shown], viewed.GetProperty("properties").EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).Select(p => p.Name));
        }
    }

    [Theory]
    [MemberData(nameof(StoredBytes.BrokenText), MemberType = typeof(StoredBytes))]
    public async Task Rejections_RefusalWithBrokenText_IsShownWithReplacementCharacters_AndOlderOnesStayReadable(string what, byte[] broken, string shown)
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/track", """{"userId":"u-0"}"""); // refused: no event name
        await StoredBytes.AppendRejectionAsync(server, StoredBytes.Replace(Encoding.UTF8.GetBytes("""{"userId":"@@broken@@"}"""), broken));
        await StoredBytes.AppendRejectionAsync(server, StoredBytes.Replace(Encoding.UTF8.GetBytes($"not json {StoredBytes.Placeholder}"), broken));

        var page = await ReadValidAsync(server, $"/api/v1/sources/{server.DefaultSourceId}/rejections?limit=10");
        var refused = page.GetProperty("rejections").EnumerateArray().ToList();
        Assert.True(refused.Count == 3, what);
        Assert.Equal(shown, refused[1].GetProperty("payload").GetProperty("userId").GetString());
        Assert.Equal("u-0", refused[2].GetProperty("payload").GetProperty("userId").GetString());

        // A body that is not JSON is shown as text (masked for a token: it cannot be classified).
        Assert.Equal(JsonValueKind.String, refused[0].GetProperty("rawPayload").ValueKind);
        Assert.Equal(JsonValueKind.Null, refused[0].GetProperty("payload").ValueKind);
    }
}
