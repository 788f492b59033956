using System.Net;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// docs/collect.md, Operations: <c>tandem_collect_refused_total{reason}</c> counts every refusal under its
/// reason, the requests refused for their write key included. Meters are process-wide, so this runs alone.
/// </summary>
[Collection(nameof(MetricsTests))]
public sealed class CollectorRefusalMetricsTests
{
    [Fact]
    public async Task Metrics_EachRefusedRequest_IsCountedOnceUnderItsReason()
    {
        await using var server = await TandemServer.StartAsync();
        const string Event = """{"userId":"u","event":"E"}""";

        // Refused for the write key: unreadable, absent, unknown, of a disabled source.
        using (var badBasic = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent(Event) })
        {
            badBasic.Headers.TryAddWithoutValidation("Authorization", "Basic %%%not-base64");
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.SendAsync(badBasic)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.PostAsync(server.Url("/v1/track"), new StringContent(Event))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.CollectAsync("/v1/track", Event, writeKey: "no-such-key")).StatusCode);
        var disabled = await server.CreateSourceAsync("Disabled");
        using (var disable = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{disabled.GetProperty("id").GetString()}", new { enabled = false })))
        {
            await HttpAssert.JsonAsync(disable, HttpStatusCode.OK);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.CollectAsync("/v1/track", Event, writeKey: disabled.GetProperty("writeKey").GetString())).StatusCode);

        // Refused for the body: not JSON, and an encoding the collector does not read.
        Assert.Equal(HttpStatusCode.BadRequest, (await server.CollectAsync("/v1/track", "{not json")).StatusCode);
        using (var zstd = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Event)) })
        {
            zstd.Content.Headers.ContentEncoding.Add("zstd");
            zstd.Headers.Authorization = TandemServer.Basic(server.WriteKey);
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.SendAsync(zstd)).StatusCode);
        }

        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        foreach (var reason in new[] { "bad_credentials", "missing_write_key", "unknown_write_key", "source_disabled", "invalid_json", "unsupported_encoding" })
        {
            Assert.Matches(@"(?m)^tandem_collect_refused_total\{[^}]*reason=""" + reason + @"""[^}]*\} 1\b", metrics);
        }

        Assert.DoesNotMatch(@"(?m)^tandem_collect_received_total\{[^}]*\} [1-9]", metrics);
    }
}
