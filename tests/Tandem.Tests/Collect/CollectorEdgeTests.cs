using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// What the mutation run of Collector.cs found untested (docs/testing.md): the write key's other forms, the
/// words of each refusal, the settings analytics.js loads, and a body refused while the log is full.
/// </summary>
public sealed class CollectorEdgeTests
{
    [Fact]
    public async Task WriteKey_OnlyInTheBodyAndUnknown_Is401UnknownWriteKey_SayingHowToGetANewOne()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track"))
        {
            Content = new StringContent("""{"writeKey":"no-such-key","userId":"u","event":"E"}""", Encoding.UTF8, "application/json"),
        };

        using var response = await server.Http.SendAsync(request);

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized, "unknown_write_key");
        Assert.Contains("rotate it (POST /api/v1/sources/{id}/rotate-key)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task WriteKey_OfADisabledSource_Is401SourceDisabled_NamingTheSource()
    {
        await using var server = await TandemServer.StartAsync();
        using (var disable = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{server.DefaultSourceId}", new { enabled = false })))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }

        using var response = await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized, "source_disabled");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains($"({server.DefaultSourceId}) is disabled", detail, StringComparison.Ordinal);
        Assert.Contains("An admin can enable it again", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteKey_BasicCredentialsWithoutAColon_AreTheWriteKey()
    {
        await using var server = await TandemServer.StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track"))
        {
            Content = new StringContent("""{"userId":"u","event":"E"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(server.WriteKey)));

        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task WriteKey_UnsupportedAuthorizationScheme_Is401NamingTheScheme_EvenWithAKeyInTheBody()
    {
        await using var server = await TandemServer.StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track"))
        {
            Content = new StringContent($$"""{"writeKey":"{{server.WriteKey}}","userId":"u","event":"E"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Digest username=\"x\"");

        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("The Authorization scheme 'Digest' is not supported", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Batch_OneOrSeveralEventsAllRefused_TitleSaysWhich()
    {
        await using var server = await TandemServer.StartAsync();

        using var one = await server.CollectAsync("/v1/batch", """{"batch":[{"type":"track","userId":"u"}]}""");
        using var two = await server.CollectAsync("/v1/batch", """{"batch":[{"type":"track","userId":"u"},{"type":"track","userId":"v"}]}""");

        Assert.Equal("The event was refused", (await HttpAssert.ProblemAsync(one, HttpStatusCode.BadRequest, "missing_event")).GetProperty("title").GetString());
        Assert.Equal("Every event in the batch was refused", (await HttpAssert.ProblemAsync(two, HttpStatusCode.BadRequest, "missing_event")).GetProperty("title").GetString());
    }

    [Fact]
    public async Task Batch_CutGzipStream_IsBadCompression_SayingTheEncodingAndWhatToDo()
    {
        await using var server = await TandemServer.StartAsync();
        var whole = CompressedBody.Compress(Encoding.UTF8.GetBytes("""{"batch":[{"type":"track","userId":"u","event":"E"}]}"""), "gzip");

        using var response = await CompressedBody.PostBatchAsync(server, whole[..(whole.Length / 2)], "gzip"); // the JSON is cut too

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "bad_compression");
        Assert.Equal(
            "The gzip stream ends early or fails its checksum, so the body is incomplete. Send the whole compressed body again.",
            problem.GetProperty("detail").GetString());
    }

    // analytics.js (analytics-next) reads this before it sends anything: each field below changes what it does.
    [Fact]
    public async Task Settings_AreWhatAnalyticsNextNeedsToSendEveryCallToThisTandem()
    {
        await using var server = await TandemServer.StartAsync();

        var settings = await HttpAssert.JsonAsync(await server.Http.GetAsync(server.Url($"/v1/projects/{server.WriteKey}/settings")), HttpStatusCode.OK);

        var segment = settings.GetProperty("integrations").GetProperty("Segment.io");
        Assert.Equal(server.WriteKey, segment.GetProperty("apiKey").GetString());
        Assert.Equal($"{server.BaseAddress.Authority}/v1", segment.GetProperty("apiHost").GetString());
        Assert.Equal("http", segment.GetProperty("protocol").GetString());
        Assert.True(segment.GetProperty("addBundledMetadata").GetBoolean());
        Assert.Empty(segment.GetProperty("unbundledIntegrations").EnumerateArray());
        Assert.Single(settings.GetProperty("integrations").EnumerateObject()); // any other makes it load device-mode code
        Assert.True(settings.GetProperty("plan").GetProperty("track").GetProperty("__default").GetProperty("enabled").GetBoolean()); // false drops every track call
        Assert.True(settings.GetProperty("analyticsNextEnabled").GetBoolean());
        Assert.Equal(0, settings.GetProperty("metrics").GetProperty("sampleRate").GetInt32()); // no beacon to Segment
        Assert.Empty(settings.GetProperty("remotePlugins").EnumerateArray());
    }

    [Fact]
    public async Task Body_RefusedWhileTheLogIsFull_Is429NotAKeptRefusal()
    {
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { MaxBacklogEvents = 1 });
        var log = server.Services.GetRequiredService<IngestLog>();
        Task<HttpResponseMessage> held;
        using (log.HoldCommits())
        {
            held = server.CollectAsync("/v1/track", """{"userId":"u","event":"Held"}""");
            await Hosting.OperationsDocumentedClaimsTests.WaitForBacklogAsync(log);

            using var refused = await server.CollectAsync("/v1/batch", "{not json");

            await HttpAssert.ProblemAsync(refused, HttpStatusCode.TooManyRequests, "overloaded");
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        }

        using (var released = await held)
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        }

        Assert.Empty(await server.RejectionsAsync()); // not kept: the client was told to send it again
    }
}
