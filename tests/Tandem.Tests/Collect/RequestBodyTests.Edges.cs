using System.Buffers;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>The edges of reading a body that the mutation run of RequestBody.cs found untested (docs/testing.md).</summary>
public sealed partial class RequestBodyTests
{
    private const int Small = 4096;

    [Fact]
    public async Task ReadAsync_CompressedBodyLongerOnTheWireThanTheLimit_IsJudgedByWhatItDecompressesTo()
    {
        // Stored gzip blocks make the stream longer than its content: the limit is on the content.
        var content = Enumerable.Repeat((byte)'a', Small).ToArray();
        var wire = CompressedBody.Compress(content, "gzip", CompressionLevel.NoCompression);
        Assert.True(wire.Length > Small, $"the stream is {wire.Length} bytes, not longer than the limit: the test proves nothing");

        using var body = await RequestBody.ReadAsync(Request(new TricklingStream(wire, 1024), declared: wire.Length, "gzip"), Small, CancellationToken.None);

        Assert.Equal(BodyReadError.None, body.Error);
        Assert.Equal(content, body.Memory.ToArray());
    }

    [Fact]
    public async Task ReadAsync_EmptyBodyDeclaredAsZeroBytes_IsAnEmptyBody()
    {
        using var body = await RequestBody.ReadAsync(Request(new TricklingStream([], 1), declared: 0), Limit, CancellationToken.None);

        Assert.Equal(BodyReadError.None, body.Error);
        Assert.Equal(0, body.Length);
    }

    [Fact]
    public async Task ReadAsync_SmallDeclaredBody_SetsAsideRoomForItsSizeNotMore()
    {
        var trickle = new TricklingStream(new byte[300], pieceSize: 300);

        using var body = await RequestBody.ReadAsync(Request(trickle, declared: 300), Limit, CancellationToken.None);

        Assert.Equal(300, body.Length);
        Assert.True(trickle.LargestBufferOffered <= 1024, $"{trickle.LargestBufferOffered:N0} bytes set aside for a body that declared 300");
    }

    // A limit that is a power of two is exactly the size of a pooled buffer: the read must still look one byte further.
    [Theory]
    [InlineData(16 * 1024, true)]
    [InlineData((16 * 1024) + 1, false)]
    public async Task ReadAsync_LimitThatIsAPowerOfTwo_BodyAtItIsReadWholeAndOneByteMoreIsTooLarge(int bytes, bool read)
    {
        const int powerOfTwo = 16 * 1024;

        using var body = await RequestBody.ReadAsync(Request(new TricklingStream(new byte[bytes], pieceSize: 4096), declared: null), powerOfTwo, CancellationToken.None);

        Assert.Equal(read ? BodyReadError.None : BodyReadError.TooLarge, body.Error);
        if (read)
        {
            Assert.Equal(bytes, body.Length);
        }
    }

    [Fact]
    public async Task ReadAsync_ConnectionBreaksDuringABrotliBody_IsNotReportedAsTheClientsBadCompression()
    {
        var request = Request(new BrokenStream(new IOException("connection reset by peer")), declared: null, "br");

        await Assert.ThrowsAsync<IOException>(() => RequestBody.ReadAsync(request, Limit, CancellationToken.None));
    }

    [Fact]
    public async Task ReadAsync_ServerCapsTheBytesOnTheWire_TooLarge_AndOtherBadRequestsAreNotCaught()
    {
        // Kestrel's MaxRequestBodySize (ServerLimits) surfaces as a 413 BadHttpRequestException while reading.
        using (var capped = await RequestBody.ReadAsync(
            Request(new BrokenStream(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge)), declared: null),
            Limit, CancellationToken.None))
        {
            Assert.Equal(BodyReadError.TooLarge, capped.Error);
        }

        await Assert.ThrowsAsync<BadHttpRequestException>(() => RequestBody.ReadAsync(
            Request(new BrokenStream(new BadHttpRequestException("Unexpected end of request content.", StatusCodes.Status400BadRequest)), declared: null),
            Limit, CancellationToken.None));
    }

    [Fact]
    public async Task Dispose_GivesTheBufferBackToTheSharedPool()
    {
        var body = await RequestBody.ReadAsync(Request(new TricklingStream(new byte[1000], 1000), declared: 1000), Limit, CancellationToken.None);
        Assert.True(MemoryMarshal.TryGetArray(body.Memory, out var segment));

        body.Dispose();
        body.Dispose(); // twice is harmless

        // The shared pool hands the array this thread gave back last to this thread's next rent of its size.
        var next = ArrayPool<byte>.Shared.Rent(segment.Array!.Length);
        ArrayPool<byte>.Shared.Return(next);
        Assert.Same(segment.Array, next);
    }

    [Fact]
    public async Task CompressionBroken_BrotliStreamCutAtExactlyTheLimit_IsJudged()
    {
        var whole = CompressedBody.Compress(RandomBytes(Small + 1000), "br");
        var cut = whole[..Small];

        using var body = await RequestBody.ReadAsync(Request(new TricklingStream(cut, 1024), declared: cut.Length, "br"), Small, CancellationToken.None);

        Assert.Equal(BodyReadError.None, body.Error);
        Assert.True(body.CompressionBroken(), "a brotli stream of exactly the limit, missing its end, was taken as whole");
    }

    [Fact]
    public async Task CompressionBroken_BrotliStreamLongerOnTheWireThanTheLimit_IsNotKeptSoNotJudged()
    {
        // The copy a brotli stream is checked against is bounded by the limit (docs/collect.md): past it, the JSON error stands.
        var whole = CompressedBody.Compress(RandomBytes(Small), "br");
        var cut = whole[..^1];
        Assert.True(cut.Length > Small, $"the cut stream is {cut.Length} bytes, within the limit: the test proves nothing");

        using var body = await RequestBody.ReadAsync(Request(new TricklingStream(cut, 1024), declared: cut.Length, "br"), Small, CancellationToken.None);

        Assert.Equal(BodyReadError.None, body.Error);
        Assert.False(body.CompressionBroken());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public void CompressedCopy_ReadSynchronously_KeepsTheEndItIsJudgedBy(string encoding)
    {
        var content = RandomBytes(2000);
        var whole = CompressedBody.Compress(content, encoding);

        Assert.True(DecompressSynchronously(whole, encoding, out var decompressed).Intact(decompressed));
        Assert.Equal(content, decompressed);
        Assert.False(DecompressSynchronously(whole[..^1], encoding, out var cut).Intact(cut));
    }

    private static CompressedCopy DecompressSynchronously(byte[] wire, string encoding, out byte[] decompressed)
    {
        var copy = new CompressedCopy(new MemoryStream(wire), encoding, Limit);
        using Stream decompressor = encoding == "gzip"
            ? new GZipStream(copy, CompressionMode.Decompress, leaveOpen: true)
            : new ZLibStream(copy, CompressionMode.Decompress, leaveOpen: true);
        using var output = new MemoryStream();
        decompressor.CopyTo(output);
        decompressed = output.ToArray();
        return copy;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(17).NextBytes(bytes); // incompressible: brotli stores it, so the stream is a little longer than its content
        return bytes;
    }

    /// <summary>A body whose first read fails as a broken connection or the server's cap would.</summary>
    private sealed class BrokenStream(Exception failure) : ReadOnlyBody
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException<int>(failure);

        public override int Read(byte[] buffer, int offset, int count) => throw failure;
    }
}
