using System.IO.Compression;
using System.Net.Http.Headers;

namespace Tandem.Tests.Support;

/// <summary>Bodies in the encodings docs/collect.md lists, and a <c>/v1/batch</c> post that labels them.</summary>
internal static class CompressedBody
{
    /// <summary><paramref name="data"/> as a complete stream in gzip (or x-gzip), deflate (zlib) or br.</summary>
    /// <param name="level"><see cref="CompressionLevel.NoCompression"/> makes the stream longer than its content.</param>
    public static byte[] Compress(byte[] data, string encoding, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var output = new MemoryStream();
        using (Stream compressor = encoding switch
        {
            "gzip" or "x-gzip" => new GZipStream(output, level, leaveOpen: true),
            "deflate" => new ZLibStream(output, level, leaveOpen: true),
            "br" => new BrotliStream(output, level, leaveOpen: true),
            _ => throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "not an encoding the collector documents"),
        })
        {
            compressor.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Posts these bytes to <c>/v1/batch</c> with the source's write key and <c>Content-Encoding</c> as given.</summary>
    public static Task<HttpResponseMessage> PostBatchAsync(TandemServer server, byte[] body, string encoding)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        request.Content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        return server.Http.SendAsync(request);
    }
}
