using System.Text;
using System.Text.Unicode;

namespace Tandem.Text;

/// <summary>
/// Makes JSON text valid Unicode: invalid UTF-8 sequences become U+FFFD, and <c>\uXXXX</c> escapes of
/// a lone surrogate become <c>\ufffd</c>. System.Text.Json parses both without complaint and then
/// throws when the string is read, so one such byte would otherwise fail every later reader.
/// </summary>
/// <remarks>
/// The check is what runs for almost every body: a vectorised UTF-8 validation and a vectorised search
/// for a backslash. Only text that fails it is copied.
/// </remarks>
public static class UnicodeRepair
{
    /// <summary>True when <paramref name="utf8Json"/> holds invalid UTF-8 or an escaped lone surrogate.</summary>
    public static bool NeedsRepair(ReadOnlySpan<byte> utf8Json) =>
        !Utf8.IsValid(utf8Json) || FirstLoneSurrogateEscape(utf8Json) >= 0;

    /// <summary>A valid copy: each invalid UTF-8 sequence replaced with U+FFFD, each lone surrogate escape with <c>\ufffd</c>.</summary>
    public static byte[] Repair(ReadOnlySpan<byte> utf8Json)
    {
        // Encoding.UTF8 replaces each maximal invalid subsequence with one U+FFFD, as WHATWG decoders do.
        var bytes = Utf8.IsValid(utf8Json) ? utf8Json.ToArray() : Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(utf8Json));
        int at;
        while ((at = FirstLoneSurrogateEscape(bytes)) >= 0)
        {
            "fffd"u8.CopyTo(bytes.AsSpan(at + 2)); // same length as the escape it replaces
        }

        return bytes;
    }

    /// <summary>Cuts <paramref name="utf8"/> to at most <paramref name="max"/> bytes without splitting a UTF-8 sequence.</summary>
    public static ReadOnlySpan<byte> CutAtCharBoundary(ReadOnlySpan<byte> utf8, int max)
    {
        if (utf8.Length <= max)
        {
            return utf8;
        }

        var end = max;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80)
        {
            end--; // a continuation byte: the character started before the cut
        }

        return utf8[..end];
    }

    /// <summary>Where the first <c>\uXXXX</c> escape of an unpaired surrogate starts, or -1.</summary>
    private static int FirstLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        var i = 0;
        while (true)
        {
            var slash = json[i..].IndexOf((byte)'\\');
            if (slash < 0)
            {
                return -1;
            }

            i += slash;
            if (i + 1 >= json.Length)
            {
                return -1;
            }

            if (json[i + 1] != 'u')
            {
                i += 2; // \\, \", \n...: the escaped byte cannot start another escape
                continue;
            }

            var unit = Hex4(json, i + 2);
            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                if (json.Length > i + 7 && json[i + 6] == '\\' && json[i + 7] == 'u' && Hex4(json, i + 8) is >= 0xDC00 and <= 0xDFFF)
                {
                    i += 12; // a pair: one character
                    continue;
                }

                return i;
            }

            if (unit is >= 0xDC00 and <= 0xDFFF)
            {
                return i;
            }

            i += 2;
        }
    }

    /// <summary>The four hex digits at <paramref name="at"/>, or -1 when they are not there.</summary>
    private static int Hex4(ReadOnlySpan<byte> json, int at)
    {
        if (at + 4 > json.Length)
        {
            return -1;
        }

        var value = 0;
        for (var k = 0; k < 4; k++)
        {
            var digit = HexDigit(json[at + k]);
            if (digit < 0)
            {
                return -1;
            }

            value = (value << 4) | digit;
        }

        return value;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
