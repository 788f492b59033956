using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Tandem.Sources;

/// <summary>
/// How a write key is kept: its SHA-256 digest, never the key. Keys are 32 random characters (about 190
/// bits), so an unsalted fast digest cannot be reversed by guessing; a salted slow one would cost the
/// collector a key derivation on every request.
/// </summary>
internal static class WriteKeyDigest
{
    /// <summary>Marks a stored digest (stores made before digests held the key itself).</summary>
    public const string Prefix = "sha256:";

    /// <summary>How many of a key's last characters are kept in clear, to tell keys apart in lists and the audit log.</summary>
    public const int EndLength = 4;

    public static string Of(string writeKey)
    {
        var max = Encoding.UTF8.GetMaxByteCount(writeKey.Length);
        var rented = max > 256 ? ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            Span<byte> text = rented ?? stackalloc byte[256];
            var length = Encoding.UTF8.GetBytes(writeKey, text);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(text[..length], digest);
            return Prefix + Convert.ToHexStringLower(digest);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static string End(string writeKey) => writeKey[^Math.Min(EndLength, writeKey.Length)..];
}
