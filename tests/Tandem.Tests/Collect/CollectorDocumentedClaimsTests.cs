using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// Promises docs/collect.md makes about CORS, compressed bodies and where the write key is read from.
/// Expected values are copied from the page, not from the code.
/// </summary>
public sealed class CollectorDocumentedClaimsTests
{
    private const string OneEventBatch = """{"batch":[{"type":"track","userId":"u-1","event":"Compressed","messageId":"m-1"}]}""";

    // docs/collect.md, Routes: "CORS preflight: any origin (echoed), any requested header, credentials allowed, cached one day".
    [Fact]
    public async Task Preflight_AnyOriginAndHeader_EchoedWithCredentialsAndCachedOneDay()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Options, server.Url("/v1/batch"));
        request.Headers.Add("Origin", "https://never-configured.example:8443");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,authorization,x-made-up-by-a-plugin");

        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("86400", Assert.Single(response.Headers.GetValues("Access-Control-Max-Age")));
        Assert.Equal("https://never-configured.example:8443", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Credentials")));
        var allowed = Assert.Single(response.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.Contains("x-made-up-by-a-plugin", allowed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("POST", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
    }

    public static TheoryData<string> Encodings => new() { "gzip", "x-gzip", "deflate", "br", "X-GZIP" };

    // docs/collect.md, Bodies: "Content-Encoding: gzip (also x-gzip, deflate, br) is decompressed whatever the content type".
    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Batch_EachDocumentedEncoding_IsDecompressedAndStored(string encoding)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, CompressedBody.Compress(Encoding.UTF8.GetBytes(OneEventBatch), encoding.ToLowerInvariant()), encoding);

        var answer = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(1, answer.GetProperty("accepted").GetInt32());
        Assert.Equal("Compressed", Assert.Single(await server.StoredEventsAsync()).GetProperty("event").GetString());
    }

    // docs/collect.md, Validation: a body that is not valid in its encoding is 400 bad_compression, nothing stored.
    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Batch_PlainJsonLabelledCompressed_IsBadCompressionAndNothingStored(string encoding)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, Encoding.UTF8.GetBytes(OneEventBatch), encoding);

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "bad_compression");
        Assert.Empty(await server.StoredEventsAsync());
    }

    // docs/collect.md, Validation: an encoding other than those four is 400 unsupported_encoding, nothing stored.
    [Theory]
    [InlineData("compress")]
    [InlineData("zstd")]
    [InlineData("gzip, br")]
    public async Task Batch_UnknownEncoding_IsUnsupportedEncodingAndNothingStored(string encoding)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, CompressedBody.Compress(Encoding.UTF8.GetBytes(OneEventBatch), "gzip"), encoding);

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "unsupported_encoding");
        Assert.Contains("gzip", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await server.StoredEventsAsync());
    }

    public static TheoryData<string> HeaderSchemes => new() { "basic", "bearer" };

    // docs/collect.md, Write keys: "checked in this order: Basic, Bearer, body"; the header wins over the body.
    [Theory]
    [MemberData(nameof(HeaderSchemes))]
    public async Task WriteKey_InTheHeaderAndAnotherInTheBody_TheHeadersSourceGetsTheEvent(string scheme)
    {
        await using var server = await TandemServer.StartAsync();
        var body = await server.CreateSourceAsync("Body source");
        var json = $$"""{"userId":"u-1","event":"Which source","writeKey":"{{body.GetProperty("writeKey").GetString()}}"}""";

        using var response = await PostTrackAsync(server, json, Header(scheme, server.WriteKey));

        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Single(await server.StoredEventsAsync(server.DefaultSourceId));
        Assert.Empty(await server.StoredEventsAsync(body.GetProperty("id").GetString()));
    }

    [Theory]
    [MemberData(nameof(HeaderSchemes))]
    public async Task WriteKey_WrongInTheHeaderRightInTheBody_Is401UnknownWriteKey(string scheme)
    {
        await using var server = await TandemServer.StartAsync();
        var json = $$"""{"userId":"u-1","event":"Which source","writeKey":"{{server.WriteKey}}"}""";

        using var response = await PostTrackAsync(server, json, Header(scheme, "not-a-write-key"));

        await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized, "unknown_write_key");
        Assert.Empty(await server.StoredEventsAsync());
    }

    // analytics.js may send Basic with an empty user name (base64 of ":"): that header carries no key, so the body's is used.
    [Fact]
    public async Task WriteKey_EmptyBasicUserAndKeyInTheBody_TheBodysSourceGetsTheEvent()
    {
        await using var server = await TandemServer.StartAsync();
        var body = await server.CreateSourceAsync("Body source");
        var json = $$"""{"userId":"u-1","event":"Which source","writeKey":"{{body.GetProperty("writeKey").GetString()}}"}""";

        using var response = await PostTrackAsync(server, json, TandemServer.Basic(""));

        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Single(await server.StoredEventsAsync(body.GetProperty("id").GetString()));
        Assert.Empty(await server.StoredEventsAsync(server.DefaultSourceId));
    }

    private static AuthenticationHeaderValue Header(string scheme, string key) =>
        scheme == "basic" ? TandemServer.Basic(key) : new AuthenticationHeaderValue("Bearer", key);

    private static Task<HttpResponseMessage> PostTrackAsync(TandemServer server, string json, AuthenticationHeaderValue authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent(json, Encoding.UTF8, "text/plain") };
        request.Headers.Authorization = authorization;
        return server.Http.SendAsync(request);
    }


}
