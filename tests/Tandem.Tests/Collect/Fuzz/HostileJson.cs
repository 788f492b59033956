using System.Globalization;
using System.Text;
using CsCheck;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>
/// Generators of JSON pieces as raw bytes, so that what no serializer would write can be sent:
/// invalid and overlong UTF-8, lone surrogate escapes, raw NUL, numbers past double, nesting past
/// the parser's limit. Shared by the test suite and <c>bench fuzz</c>.
/// </summary>
/// <remarks>
/// <c>&lt;ID&gt;</c> in a piece is replaced by the case's unique tag when the case is sent,
/// <c>&lt;I&gt;</c> by the event's index and <c>&lt;N&gt;</c> by a unique number, so that every
/// case's customers and messageIds are its own, whatever else the piece holds.
/// </remarks>
public static class HostileJson
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Quoted(byte[] inner) => [(byte)'"', .. inner, (byte)'"'];

    public static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Pieces of text inside a JSON string literal, as the bytes a client could send.</summary>
    public static readonly Gen<byte[]> TextPiece = Gen.Frequency(
        (120, (IGen<byte[]>)Gen.OneOf("ada", "Order Completed", "plan", "Zoë", "café", "东京", "a b", "x").Select(Utf8)),
        (40, Gen.Const(Utf8("<ID>"))),
        (20, Gen.Const(Utf8("😀"))),
        // Escaped surrogates: a lone high, a lone low, a pair, a pair in the wrong order.
        (20, Gen.OneOf(@"\ud83d", @"\udc00", @"\ud83d\ude00", @"\ude00\ud83d", @"\uDBFF").Select(Utf8)),
        // Raw bytes that are not UTF-8: Latin-1 é, overlong '/', an encoded surrogate, past U+10FFFF,
        // a byte never valid, a 4-byte sequence cut short ('Zoë😀'.slice(0, 4) in bytes).
        (12, Gen.OneOf<byte[]>([0xE9], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xF0, 0x9F, 0x98])),
        (10, Gen.OneOf(@"\u0000", @"\""", @"\\", @"\n", @"\t", @"\u00e9", "   ").Select(Utf8)),
        // Raw control bytes are not valid JSON inside a string: the whole body is unusable, so rare.
        (1, Gen.OneOf<byte[]>([0x00], [0x01], [0x1F], [(byte)'\t'])),
        (1, Gen.Int[30_000, 33_500].Select(n => Utf8(new string('x', n)))));

    public static readonly Gen<byte[]> Text = TextPiece.Array[0, 3].Select(Concat);

    /// <summary>A JSON string, hostile or not.</summary>
    public static readonly Gen<byte[]> StringValue = Text.Select(Quoted);

    /// <summary>A string that still names this case's customer: the tag and the index keep it unique.</summary>
    public static Gen<byte[]> TaggedString(string prefix) =>
        Gen.Select(TextPiece, TextPiece, (a, b) => Quoted(Concat([Utf8(prefix + "-<ID>-<I>-"), a, b])));

    public static readonly Gen<byte[]> Number = Gen.Frequency(
        (12, (IGen<byte[]>)Gen.Int.Select(i => Utf8(i.ToString(CultureInfo.InvariantCulture)))),
        (12, Gen.Double.Select(d => Utf8(double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "0"))),
        (16, Gen.OneOf("1e400", "-1e400", "1e-400", "-0", "-0.0", "0.1", "1.7976931348623157e308", "9007199254740993",
            "123456789012345678901234567890123456789012345678901234567890", "5e-324", "<N>").Select(Utf8)),
        // Not JSON numbers: the body is unusable.
        (1, Gen.OneOf("NaN", "Infinity", "01", "1.", "+1", "0x10").Select(Utf8)));

    /// <summary>Timestamps a client may send: the ordinary, the edges of the calendar, the epoch, invalid text, numbers.</summary>
    public static readonly Gen<byte[]> Timestamp = Gen.Frequency(
        (10, (IGen<byte[]>)Gen.OneOf("2026-11-23T11:59:00.000Z", "2026-11-23T12:00:00Z", "2026-11-23T13:00:00+01:00", "2026-11-22T12:00:00.123456Z")
            .Select(s => Quoted(Utf8(s)))),
        (4, Gen.OneOf("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
            "2026-11-23T12:00:00+14:00", "2026-11-23T12:00:00-12:00", "2099-01-01T00:00:00Z").Select(s => Quoted(Utf8(s)))),
        (2, Gen.OneOf("2026-11-23", "2026-13-45T99:00:00Z", "yesterday", "").Select(s => Quoted(Utf8(s)))),
        (1, Gen.OneOf("0", "1700000000000", "-1", "1e400").Select(Utf8)),
        (1, StringValue));

    public static readonly Gen<byte[]> Literal = Gen.OneOf("true", "false", "null").Select(Utf8);

    public static readonly Gen<byte[]> Scalar = Gen.Frequency(
        (5, StringValue), (3, Number), (2, Literal));

    /// <summary>Keys of objects: ordinary names, hostile text, and a few the Spec gives meaning to.</summary>
    public static readonly Gen<byte[]> Key = Gen.Frequency(
        (4, (IGen<byte[]>)Gen.OneOf("email", "name", "plan", "revenue", "currency", "a", "A", "$set", "").Select(s => Quoted(Utf8(s)))),
        (2, StringValue));

    /// <summary>Any JSON value, nested a few levels, with duplicate keys now and then.</summary>
    public static readonly Gen<byte[]> Value = Gen.Recursive<byte[]>((depth, value) => depth >= 3
        ? Scalar
        : Gen.Frequency(
            (60, Scalar),
            (10, value.Array[0, 4].Select(Array)),
            (20, ObjectOf(Key, value)),
            (1, Gen.Int[1, 3].Select(n => Nested(n * 40, asObject: n % 2 == 0)))));

    /// <summary>Nesting around and past the parser's limit of 64.</summary>
    public static readonly Gen<byte[]> Deep = Gen.Select(Gen.OneOf(62, 63, 64, 65, 66, 100, 500), Gen.Bool, (depth, obj) => Nested(depth, obj));

    public static byte[] Array(IEnumerable<byte[]> items) => Concat([[(byte)'['], Join(items), [(byte)']']]);

    public static Gen<byte[]> ObjectOf(Gen<byte[]> key, Gen<byte[]> value) =>
        Gen.Select(key, value).Array[0, 4].Select(ObjectOf);

    public static byte[] ObjectOf(IEnumerable<(byte[] Key, byte[] Value)> fields) =>
        Concat([[(byte)'{'], Join(fields.Select(f => Concat([f.Key, [(byte)':'], f.Value]))), [(byte)'}']]);

    public static byte[] Join(IEnumerable<byte[]> items)
    {
        var output = new List<byte>();
        foreach (var item in items)
        {
            if (output.Count > 0)
            {
                output.Add((byte)',');
            }

            output.AddRange(item);
        }

        return [.. output];
    }

    public static byte[] Nested(int depth, bool asObject)
    {
        var open = asObject ? "{\"a\":" : "[";
        var close = asObject ? "}" : "]";
        return Utf8(string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)));
    }

    /// <summary>Bytes as a person can read them: ASCII as is, everything else as \xNN, long runs shortened.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        for (var i = 0; i < bytes.Length; i++)
        {
            var run = 1;
            while (i + run < bytes.Length && bytes[i + run] == bytes[i])
            {
                run++;
            }

            if (run > 40)
            {
                text.Append(CultureInfo.InvariantCulture, $"«{run} × '{(char)bytes[i]}'»");
                i += run - 1;
                continue;
            }

            var b = bytes[i];
            if (b is >= 0x20 and < 0x7F)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return text.ToString();
    }
}
