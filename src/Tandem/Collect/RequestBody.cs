using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Tandem.Collect;

/// <summary>Why a request body could not be read.</summary>
internal enum BodyReadError
{
    None,
    TooLarge,
    BadCompression,
    UnsupportedEncoding,
}

/// <summary>
/// A request body read into a pooled buffer, decompressed whatever the content type claims
/// (the RudderStack Node SDK sends gzip labelled <c>application/x-www-form-urlencoded</c>).
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;
    private readonly CompressedCopy? _compressed;

    private RequestBody(byte[] buffer, int length, BodyReadError error, CompressedCopy? compressed = null)
    {
        _buffer = buffer;
        Length = length;
        Error = error;
        _compressed = compressed;
    }

    /// <summary>What a read starts with, whatever the body declares; a larger body doubles it as it arrives.</summary>
    private const int InitialBuffer = 16 * 1024;

    public int Length { get; }

    public BodyReadError Error { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>
    /// The first bytes of what was read, kept with a rejection as evidence: cut at a character boundary
    /// and made valid UTF-8, like everything else the log stores.
    /// </summary>
    public byte[] Sample(int max) => Text.UnicodeRepair.Repair(Text.UnicodeRepair.CutAtCharBoundary(_buffer.AsSpan(0, Length), max));

    /// <summary>
    /// True when the body was compressed and its stream ended early or fails its checksum.
    /// The .NET decompressors stop quietly at the end of a truncated stream, so a cut-off upload would
    /// otherwise be reported as invalid JSON. Checked only once the JSON did not parse: a body whose
    /// JSON reads is complete whatever its trailer says (several concatenated gzip members, say).
    /// </summary>
    public bool CompressionBroken() => _compressed is { } copy && !copy.Intact(_buffer.AsSpan(0, Length));

    /// <summary>Reads at most <paramref name="limit"/> decompressed bytes; one more means the body is too large.</summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        var compressed = encoding is "gzip" or "x-gzip" or "deflate" or "br";
        if (!compressed && encoding is not ("" or "identity"))
        {
            return new RequestBody([], 0, BodyReadError.UnsupportedEncoding);
        }

        if (!compressed && request.ContentLength > limit)
        {
            return new RequestBody([], 0, BodyReadError.TooLarge);
        }

        var copy = compressed ? new CompressedCopy(request.Body, encoding, limit) : null;
        Stream stream = encoding switch
        {
            "gzip" or "x-gzip" => new GZipStream(copy!, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(copy!, CompressionMode.Decompress, leaveOpen: true),
            "br" => new BrotliStream(copy!, CompressionMode.Decompress, leaveOpen: true),
            _ => request.Body,
        };

        // The declared length is a claim, not bytes: a client that declares 500 KB and trickles would hold
        // 500 KB per connection if it were set aside up front. The buffer doubles as bytes actually arrive.
        var initial = (int)Math.Min(Math.Min(request.ContentLength is { } declared && !compressed ? declared + 1 : InitialBuffer, InitialBuffer), limit + 1L);
        var buffer = ArrayPool<byte>.Shared.Rent(initial);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    // length <= limit here: every read below stops at limit + 1 and returns once past the limit.
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, limit + 1L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit + 1) - length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    return new RequestBody(buffer, length, BodyReadError.TooLarge);
                }
            }

            return new RequestBody(buffer, length, BodyReadError.None, copy);
        }
        catch (Exception e) when (e is InvalidDataException || (e is InvalidOperationException && encoding == "br"))
        {
            // BrotliStream reports bytes that are not brotli as InvalidOperationException, not InvalidDataException.
            return new RequestBody(buffer, length, BodyReadError.BadCompression);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new RequestBody(buffer, length, BodyReadError.TooLarge); // the server's cap on the bytes on the wire (ServerLimits)
        }
        finally
        {
            if (compressed)
            {
                await stream.DisposeAsync();
            }
        }
    }

    public void Dispose()
    {
        _compressed?.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}

/// <summary>
/// Reads a compressed request body through to its decompressor, keeping what its end is checked
/// against: the last 8 bytes for gzip and zlib (their trailers), the whole stream for brotli (bounded).
/// </summary>
internal sealed class CompressedCopy(Stream inner, string encoding, int limit) : Stream
{
    private readonly byte[] _tail = new byte[8];
    private readonly MemoryStream? _whole = encoding == "br" ? new MemoryStream() : null;
    private long _length;
    private bool _overflow;

    /// <summary>Whether the compressed stream is whole: gzip's CRC-32 and length, zlib's Adler-32, brotli's final block.</summary>
    public bool Intact(ReadOnlySpan<byte> decompressed)
    {
        if (_length == 0)
        {
            return true; // nothing was sent: an empty body, whatever its label, as without the header
        }

        switch (encoding)
        {
            case "gzip" or "x-gzip":
                return _length >= 18
                    && BinaryPrimitives.ReadUInt32LittleEndian(_tail) == Crc32.HashToUInt32(decompressed)
                    && BinaryPrimitives.ReadUInt32LittleEndian(_tail.AsSpan(4)) == (uint)decompressed.Length;
            case "deflate":
                return _length >= 6 && BinaryPrimitives.ReadUInt32BigEndian(_tail.AsSpan(4)) == Adler32(decompressed);
            default:
                if (_overflow || _whole is null)
                {
                    return true; // not kept, so not judged: the JSON error stands
                }

                using (var decoder = new BrotliDecoder())
                {
                    var scratch = new byte[decompressed.Length + 1];
                    return decoder.Decompress(_whole.GetBuffer().AsSpan(0, (int)_whole.Length), scratch, out _, out _) == OperationStatus.Done;
                }
        }
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        uint a = 1, b = 0;
        foreach (var d in data)
        {
            a = (a + d) % 65521;
            b = (b + a) % 65521;
        }

        return (b << 16) | a;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Keep(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _whole?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Keep(buffer.AsSpan(offset, read));
        return read;
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        _length += bytes.Length;
        if (bytes.Length >= _tail.Length)
        {
            bytes[^_tail.Length..].CopyTo(_tail);
        }
        else if (bytes.Length > 0)
        {
            _tail.AsSpan(bytes.Length).CopyTo(_tail); // shift left, then append
            bytes.CopyTo(_tail.AsSpan(_tail.Length - bytes.Length));
        }

        if (_whole is not null && !_overflow)
        {
            _overflow = _whole.Length + bytes.Length > limit;
            if (!_overflow)
            {
                _whole.Write(bytes);
            }
        }
    }

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
