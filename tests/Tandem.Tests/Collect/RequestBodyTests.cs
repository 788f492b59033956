using System.Text;
using Microsoft.AspNetCore.Http;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>What reading a collector body costs while its bytes are still on their way.</summary>
public sealed partial class RequestBodyTests
{
    private const int Limit = 500 * 1024;

    [Fact]
    public async Task ReadAsync_DeclaresTheLimitAndTrickles_BufferGrowsOnlyWithWhatArrived()
    {
        // A client that declares 500 KB (the most the collector takes) and sends a few hundred bytes holds whatever the server set aside for it.
        var trickle = new TricklingStream(Encoding.UTF8.GetBytes(new string('a', 300)), pieceSize: 10);
        var request = Request(trickle, declared: Limit);

        using var body = await RequestBody.ReadAsync(request, Limit, CancellationToken.None);

        Assert.Equal(300, body.Length);
        Assert.True(trickle.LargestBufferOffered <= 16 * 1024,
            $"{trickle.LargestBufferOffered:N0} bytes were set aside for a body that had sent {trickle.Sent:N0}");
    }

    [Fact]
    public async Task ReadAsync_DeclaredBodyArrivesWhole_EveryByteIsRead()
    {
        var json = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("\"0123456789\"", 30_000)) + "]");
        var request = Request(new TricklingStream(json, pieceSize: 64 * 1024), declared: json.Length);

        using var body = await RequestBody.ReadAsync(request, Limit, CancellationToken.None);

        Assert.Equal(BodyReadError.None, body.Error);
        Assert.Equal(json, body.Memory.ToArray());
    }

    [Fact]
    public async Task ReadAsync_MoreArrivesThanTheLimit_TooLarge()
    {
        var request = Request(new TricklingStream(new byte[Limit + 10], pieceSize: 32 * 1024), declared: null);

        using var body = await RequestBody.ReadAsync(request, Limit, CancellationToken.None);

        Assert.Equal(BodyReadError.TooLarge, body.Error);
    }

    // A slow link hands a compressed body over a few bytes at a time: the check at its end must see its real
    // last 8 bytes (gzip's CRC-32 and length, zlib's Adler-32) however the pieces fell.
    [Theory]
    [InlineData("gzip", 1)]
    [InlineData("gzip", 3)]
    [InlineData("gzip", 7)]
    [InlineData("deflate", 1)]
    [InlineData("deflate", 5)]
    [InlineData("br", 3)]
    public async Task ReadAsync_CompressedBodyInSmallPieces_IsJudgedByItsOwnEnd(string encoding, int pieceSize)
    {
        var json = Encoding.UTF8.GetBytes("{\"batch\":[" + string.Join(',', Enumerable.Repeat("{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\"}", 40)));
        var whole = CompressedBody.Compress(json, encoding);

        using (var body = await RequestBody.ReadAsync(Request(new TricklingStream(whole, pieceSize), declared: whole.Length, encoding), Limit, CancellationToken.None))
        {
            Assert.Equal(BodyReadError.None, body.Error);
            Assert.Equal(json, body.Memory.ToArray());
            Assert.False(body.CompressionBroken());
        }

        using (var cut = await RequestBody.ReadAsync(Request(new TricklingStream(whole[..^1], pieceSize), declared: whole.Length - 1, encoding), Limit, CancellationToken.None))
        {
            Assert.True(cut.Error == BodyReadError.BadCompression || cut.CompressionBroken(), "a stream missing its last byte was taken as whole");
        }
    }

    private static HttpRequest Request(Stream body, long? declared, string? encoding = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Body = body;
        context.Request.ContentLength = declared;
        if (encoding is not null)
        {
            context.Request.Headers.ContentEncoding = encoding;
        }

        return context.Request;
    }

    /// <summary>A body sent a few bytes per read, noting how much room the reader offered each time.</summary>
    private sealed class TricklingStream(byte[] content, int pieceSize) : ReadOnlyBody
    {
        public int LargestBufferOffered { get; private set; }

        public int Sent { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            LargestBufferOffered = Math.Max(LargestBufferOffered, buffer.Length + Sent);
            var count = Math.Min(Math.Min(pieceSize, buffer.Length), content.Length - Sent);
            content.AsSpan(Sent, count).CopyTo(buffer.Span);
            Sent += count;
            return ValueTask.FromResult(count);
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().Result;
    }

    /// <summary>What every request body stream here is besides its reads: forward only, read only.</summary>
    private abstract class ReadOnlyBody : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
