using System.Text;
using CsCheck;

namespace Tandem.Tests.Support;

/// <summary>
/// Generators of JSON as hostile clients and old logs hold it: invalid and overlong UTF-8, lone and
/// paired surrogate escapes, escaped backslashes that look like escapes, NUL, huge numbers, nesting.
/// The documents are well formed as JSON; only their text is broken.
/// </summary>
public static class BrokenTextJson
{
    private static readonly Gen<byte[]> Letters = Gen.Char['a', 'z'].Array[1, 6].Select(cs => Encoding.UTF8.GetBytes(cs));

    private static readonly Gen<byte[]> ValidText = Gen.OneOf("é", "😀", "Zoë", "\u00a0", "\u2028", "日本", " ").Select(Encoding.UTF8.GetBytes);

    /// <summary>Byte sequences that are not UTF-8: Latin-1, overlong, encoded surrogates, past U+10FFFF, cut off.</summary>
    private static readonly Gen<byte[]> InvalidUtf8 = Gen.OneOf(
        Gen.Byte[0x80, 0xFF].Array[1, 3],
        Gen.OneOf<byte[]>([0xE9], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0xBD], [0xED, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xFE], [0xFF]));

    private static readonly Gen<byte[]> Escapes = Gen.OneOf(
        Gen.UShort.Select(u => Encoding.ASCII.GetBytes($"\\u{u:x4}")),
        Gen.UShort[0xD800, 0xDFFF].Select(u => Encoding.ASCII.GetBytes($"\\u{u:X4}")),
        Gen.OneOf(@"\\", "\\\"", @"\n", @"\/", @"\\ud83d", @"\\\ud83d", @"\ud83d\ude00", @"\ud83d\ud83d\ude00", @"\u0000", @"\uDBFF\uDFFF")
            .Select(Encoding.ASCII.GetBytes));

    /// <summary>What goes between the quotes of a string.</summary>
    public static readonly Gen<byte[]> StringContent =
        Gen.OneOf(Letters, ValidText, InvalidUtf8, Escapes).Array[0, 8].Select(pieces => pieces.SelectMany(p => p).ToArray());

    public static readonly Gen<byte[]> QuotedString = StringContent.Select(content => (byte[])[(byte)'"', .. content, (byte)'"']);

    private static readonly Gen<byte[]> Scalar = Gen.OneOf(
        QuotedString,
        Gen.OneOf("0", "-1", "1.5", "-0.0", "1e400", "-1e400", "123456789012345678901234567890", "9223372036854775808", "true", "false", "null")
            .Select(Encoding.ASCII.GetBytes),
        Gen.Long.Select(n => Encoding.ASCII.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    /// <summary>A JSON value nested at most <paramref name="depth"/> levels.</summary>
    public static Gen<byte[]> Value(int depth) => depth <= 0
        ? Scalar
        : Gen.OneOf(Scalar, ArrayOf(Value(depth - 1)), ObjectOf(Value(depth - 1)));

    /// <summary>An object whose names and values are hostile.</summary>
    public static Gen<byte[]> ObjectOf(Gen<byte[]> values) =>
        Gen.Select(QuotedString, values).Array[0, 4].Select(members => Join((byte)'{', members.Select(m => (byte[])[.. m.Item1, (byte)':', .. m.Item2]), (byte)'}'));

    public static Gen<byte[]> ArrayOf(Gen<byte[]> items) => items.Array[0, 4].Select(values => Join((byte)'[', values, (byte)']'));

    private static byte[] Join(byte open, IEnumerable<byte[]> parts, byte close)
    {
        var bytes = new List<byte> { open };
        var first = true;
        foreach (var part in parts)
        {
            if (!first)
            {
                bytes.Add((byte)',');
            }

            bytes.AddRange(part);
            first = false;
        }

        bytes.Add(close);
        return [.. bytes];
    }
}
