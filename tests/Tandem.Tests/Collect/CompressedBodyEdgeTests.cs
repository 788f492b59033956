using System.Net;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// docs/collect.md, Bodies and Validation: a compressed body whose JSON does not parse is judged by its
/// stream's own check (gzip CRC-32 and length, zlib Adler-32, brotli's last block). A whole stream keeps
/// the JSON error; a stream too short to hold its check is a compression error.
/// </summary>
public sealed class CompressedBodyEdgeTests
{
    public static TheoryData<string> Encodings => new() { "gzip", "x-gzip", "deflate", "br" };

    // Long enough (about 3 KB) that Adler-32's sums wrap past 65,521 and the CRC covers many blocks of input.
    private static readonly byte[] LongInvalidJson = Encoding.UTF8.GetBytes(
        "{\"batch\":[" + string.Join(',', Enumerable.Range(0, 60).Select(i => $$"""{"type":"track","userId":"u{{i}}","event":"E{{i}}"}""")) + ",]}");

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Batch_WholeStreamOfInvalidJson_IsInvalidJsonNotACompressionError(string encoding)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, CompressedBody.Compress(LongInvalidJson, encoding), encoding);

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal("invalid_json", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Batch_WholeStreamCutBeforeItsLastByte_IsBadCompression(string encoding)
    {
        await using var server = await TandemServer.StartAsync();
        var whole = CompressedBody.Compress(LongInvalidJson, encoding);

        using var response = await CompressedBody.PostBatchAsync(server, whole[..^1], encoding);

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "bad_compression");
    }

    // One byte cannot be a whole gzip (18 bytes at least: header and trailer) or zlib stream (6 bytes); the
    // decompressors stop quietly on it, with nothing read. 0x00 and 0x01 are the bytes whose trailer
    // arithmetic would pass for an empty body (CRC-32 0 and length 0; Adler-32 1).
    [Theory]
    [InlineData("gzip", new byte[] { 0x00 })]
    [InlineData("x-gzip", new byte[] { 0x00 })]
    [InlineData("deflate", new byte[] { 0x01 })]
    public async Task Batch_StreamTooShortForItsTrailer_IsBadCompression(string encoding, byte[] body)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, body, encoding);

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "bad_compression");
        Assert.Contains(encoding, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("bad_compression", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    // "identity" is HTTP's name for no encoding at all: the body is read as it came.
    [Theory]
    [InlineData("identity")]
    [InlineData("IDENTITY")]
    public async Task Batch_IdentityEncoding_IsReadAsPlainJson(string encoding)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await CompressedBody.PostBatchAsync(server, Encoding.UTF8.GetBytes("""{"batch":[{"type":"track","userId":"u-1","event":"Plain"}]}"""), encoding);

        Assert.Equal(1, (await HttpAssert.JsonAsync(response, HttpStatusCode.OK)).GetProperty("accepted").GetInt32());
        Assert.Equal("Plain", Assert.Single(await server.StoredEventsAsync()).GetProperty("event").GetString());
    }


}
