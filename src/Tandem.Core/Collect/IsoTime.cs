using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Tandem.Collect;

/// <summary>
/// Reads the ISO-8601 timestamps SDKs send (<c>2026-11-23T10:15:00.123Z</c>, with or without
/// fraction, with <c>Z</c> or an offset) straight from UTF-8. Anything else goes through
/// <see cref="DateTimeOffset.TryParse(string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/>.
/// </summary>
/// <remarks>The general parser cost ~1 µs per call, a third of the per-event budget; this path costs ~50 ns.</remarks>
internal static class IsoTime
{
    public static bool TryParse(JsonElement text, out DateTimeOffset value)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text);
        if (raw.Length >= 2 && raw.IndexOf((byte)'\\') < 0 && TryParseFast(raw[1..^1], out value))
        {
            return true;
        }

        return DateTimeOffset.TryParse(text.GetString(), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    internal static bool TryParseFast(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':'
            || !Digits(s[..4], out var year) || !Digits(s.Slice(5, 2), out var month) || !Digits(s.Slice(8, 2), out var day)
            || !Digits(s.Slice(11, 2), out var hour) || !Digits(s.Slice(14, 2), out var minute) || !Digits(s.Slice(17, 2), out var second)
            || year is < 2 or > 9998 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var i = 19;
        long ticks = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            var digits = 0;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (digits < 7)
                {
                    ticks = (ticks * 10) + (s[i] - '0');
                    digits++;
                }

                i++;
            }

            if (digits == 0)
            {
                return false;
            }

            for (; digits < 7; digits++)
            {
                ticks *= 10;
            }
        }

        var offset = TimeSpan.Zero;
        if (i < s.Length)
        {
            if (s[i] == 'Z' && i == s.Length - 1)
            {
                // UTC
            }
            else if ((s[i] == '+' || s[i] == '-') && TryOffset(s[(i + 1)..], out var minutes))
            {
                offset = TimeSpan.FromMinutes(s[i] == '-' ? -minutes : minutes);
            }
            else
            {
                return false;
            }
        }

        var utc = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(ticks) - offset;
        value = new DateTimeOffset(utc, TimeSpan.Zero);
        return true;
    }

    private static bool TryOffset(ReadOnlySpan<byte> s, out int minutes)
    {
        minutes = 0;
        if (s.Length == 5 && s[2] == ':' && Digits(s[..2], out var h) && Digits(s[3..], out var m)
            || s.Length == 4 && Digits(s[..2], out h) && Digits(s[2..], out m))
        {
            minutes = (h * 60) + m;
            return h <= 14 && m <= 59;
        }

        return false;
    }

    private static bool Digits(ReadOnlySpan<byte> s, out int value) =>
        Utf8Parser.TryParse(s, out value, out var consumed) && consumed == s.Length && (uint)(s[0] - '0') <= 9;
}
