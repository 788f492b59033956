using System.Buffers;
using System.IO.Compression;

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

    private RequestBody(byte[] buffer, int length, BodyReadError error)
    {
        _buffer = buffer;
        Length = length;
        Error = error;
    }

    public int Length { get; }

    public BodyReadError Error { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>The first bytes of what was read, kept with a rejection as evidence.</summary>
    public byte[] Sample(int max) => _buffer.AsSpan(0, Math.Min(Length, max)).ToArray();

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

        Stream stream = encoding switch
        {
            "gzip" or "x-gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "br" => new BrotliStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => request.Body,
        };

        var initial = (int)Math.Clamp(request.ContentLength is { } declared && !compressed ? declared + 1 : 16 * 1024, 1024, limit + 1L);
        var buffer = ArrayPool<byte>.Shared.Rent(initial);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        return new RequestBody(buffer, length, BodyReadError.TooLarge);
                    }

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

            return new RequestBody(buffer, length, BodyReadError.None);
        }
        catch (InvalidDataException)
        {
            return new RequestBody(buffer, length, BodyReadError.BadCompression);
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
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
