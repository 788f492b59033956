using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Tandem.Text;

/// <summary>
/// Makes stored JSON valid Unicode, so that every reader can read everything stored. Two things break
/// .NET's JSON readers while the document itself still parses: bytes that are not UTF-8 (a Latin-1
/// <c>é</c>, an overlong <c>C0 AF</c>) and a <c>\uXXXX</c> escape of half a surrogate pair (an emoji cut
/// in half by a client). The first become U+FFFD (EF BF BD, one per maximal invalid subsequence, as
/// <see cref="Encoding.UTF8"/> decodes them), the second <c>\ufffd</c>. Nothing else changes, byte for
/// byte: the JSON keeps its structure, and text that was valid is returned as it was.
/// </summary>
/// <remarks>
/// Readers call <see cref="NeedsRepair"/> on every stored payload, so it is the part that must be cheap:
/// <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> and a search for backslashes are both vectorised, and
/// only the escapes found are looked at one by one.
/// </remarks>
public static class UnicodeRepair
{
    private static ReadOnlySpan<byte> Replacement => [0xEF, 0xBF, 0xBD];

    /// <summary>True when <paramref name="utf8Json"/> holds invalid UTF-8 or an escape of a lone surrogate.</summary>
    public static bool NeedsRepair(ReadOnlySpan<byte> utf8Json) =>
        !Utf8.IsValid(utf8Json) || IndexOfLoneSurrogateEscape(utf8Json) >= 0;

    /// <summary>
    /// A copy of <paramref name="utf8Json"/> in which invalid UTF-8 is U+FFFD and every escape of a lone
    /// surrogate is <c>\ufffd</c>. An escaped backslash (<c>\\ud83d</c>) is text, not an escape, and stays.
    /// </summary>
    public static byte[] Repair(ReadOnlySpan<byte> utf8Json)
    {
        var repaired = Utf8.IsValid(utf8Json) ? utf8Json.ToArray() : ReplaceInvalidUtf8(utf8Json);

        // "\ud83d" and "\ufffd" are both six bytes: the escapes are mended in place.
        var span = repaired.AsSpan();
        var at = 0;
        while (IndexOfLoneSurrogateEscape(span[at..]) is var found and >= 0)
        {
            at += found;
            "fffd"u8.CopyTo(span[(at + 2)..]);
            at += 6;
        }

        return repaired;
    }

    /// <summary>The same array when it needs no repair (what almost every read sees), else a repaired copy.</summary>
    public static byte[] RepairIfNeeded(byte[] utf8Json) => NeedsRepair(utf8Json) ? Repair(utf8Json) : utf8Json;

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
            end--; // a continuation byte: its character started before the cut
        }

        return utf8[..end];
    }

    private static byte[] ReplaceInvalidUtf8(ReadOnlySpan<byte> input)
    {
        var output = new ArrayBufferWriter<byte>(input.Length + 16);
        var start = 0; // first byte not yet copied
        var i = 0;
        while (i < input.Length)
        {
            var nonAscii = input[i..].IndexOfAnyExceptInRange((byte)0, (byte)0x7F);
            if (nonAscii < 0)
            {
                break;
            }

            i += nonAscii;
            if (Rune.DecodeFromUtf8(input[i..], out _, out var consumed) == OperationStatus.Done)
            {
                i += consumed;
                continue;
            }

            // Invalid, or cut off at the end: the maximal invalid subsequence becomes one U+FFFD.
            output.Write(input[start..i]);
            output.Write(Replacement);
            i += consumed;
            start = i;
        }

        output.Write(input[start..]);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Where the first <c>\uXXXX</c> escape of a surrogate without its partner starts, or -1. Escapes are
    /// read in pairs of bytes from each backslash, so <c>\\</c> never starts one.
    /// </summary>
    private static int IndexOfLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        var i = 0;
        while (i < json.Length)
        {
            var backslash = json[i..].IndexOf((byte)'\\');
            if (backslash < 0)
            {
                return -1;
            }

            i += backslash;
            if (!TryReadUnicodeEscape(json, i, out var unit))
            {
                i += 2; // \\, \", \n…: the escaped byte is never the start of another escape
                continue;
            }

            if (!char.IsSurrogate(unit))
            {
                i += 6;
                continue;
            }

            if (char.IsHighSurrogate(unit) && TryReadUnicodeEscape(json, i + 6, out var next) && char.IsLowSurrogate(next))
            {
                i += 12;
                continue;
            }

            return i;
        }

        return -1;
    }

    /// <summary>Reads <c>\uXXXX</c> at <paramref name="at"/>; false for anything else, or too near the end.</summary>
    private static bool TryReadUnicodeEscape(ReadOnlySpan<byte> json, int at, out char unit)
    {
        unit = '\0';
        if (at + 6 > json.Length || json[at] != '\\' || json[at + 1] != 'u')
        {
            return false;
        }

        var value = 0;
        for (var k = at + 2; k < at + 6; k++)
        {
            var digit = HexDigit(json[k]);
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        unit = (char)value;
        return true;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
