using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tandem.Hosting;

/// <summary>
/// The one JSON setup for what Tandem writes to people and programs: API answers, problem details and
/// the CLI's printing. Text stays readable (<c>Zoë😀</c>, <c>+00:00</c>), and stays safe to paste into
/// HTML (<c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c> escaped). See docs/architecture.md, "JSON output".
/// </summary>
internal static class TandemJson
{
    /// <summary>How deep an answer may nest: a stored event (at most 64 deep) inside the few levels of the answer around it.</summary>
    public const int MaxDepth = 128;

    public static JavaScriptEncoder Encoder { get; } = new ReadableJsonEncoder();

    public static JsonWriterOptions Writer { get; } = new() { Encoder = Encoder };

    public static JsonSerializerOptions Web { get; } = ReadOnly(new(JsonSerializerDefaults.Web) { Encoder = Encoder, MaxDepth = MaxDepth });

    public static JsonSerializerOptions Indented { get; } = ReadOnly(new(JsonSerializerDefaults.Web) { Encoder = Encoder, WriteIndented = true, MaxDepth = MaxDepth });

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>
/// Escapes what JSON requires, what HTML must not see raw, and what would be invisible or misleading;
/// writes every other character as itself.
/// </summary>
/// <remarks>
/// The framework's encoders cannot do this: <c>JavaScriptEncoder.Default</c> escapes every non-ASCII
/// character and <c>+</c>; <c>Create(UnicodeRanges.All)</c> still escapes <c>+</c> and every
/// character beyond U+FFFF (emoji); <c>UnsafeRelaxedJsonEscaping</c> escapes emoji and writes
/// <c>&lt;</c> raw. Text that is not valid Unicode (a lone surrogate, invalid UTF-8) is handed here by
/// the writer, which writes U+FFFD in its place: it never throws.
/// </remarks>
internal sealed class ReadableJsonEncoder : JavaScriptEncoder
{
    private const string PlainAscii =
        " !#$%'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    private static readonly SearchValues<char> PlainChars = SearchValues.Create(PlainAscii);
    private static readonly SearchValues<byte> PlainBytes = SearchValues.Create(Encoding.ASCII.GetBytes(PlainAscii));

    /// <summary>The longest escape: a character beyond U+FFFF as two <c>\uXXXX</c>.</summary>
    public override int MaxOutputCharactersPerInputCharacter => 12;

    public override bool WillEncode(int unicodeScalar) => unicodeScalar switch
    {
        < 0x20 or '"' or '\\' => true, // JSON requires it
        '<' or '>' or '&' => true, // JSON pasted into a <script> or an HTML page stays data
        >= 0x7F and <= 0x9F => true, // DEL and the C1 controls: invisible
        0x2028 or 0x2029 => true, // line terminators inside JavaScript strings
        (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069) => true, // bidirectional overrides make text read other than it is
        0xFEFF => true, // a byte-order mark: invisible
        (>= 0xD800 and <= 0xDFFF) or > 0x10FFFF => true, // not a Unicode scalar
        _ => false,
    };

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength) =>
        FirstToEncode(new ReadOnlySpan<char>(text, textLength));

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        // The common case (ASCII identifiers, dates, numbers as text) is one vectorised scan.
        var index = utf8Text.IndexOfAnyExcept(PlainBytes);
        while (index >= 0)
        {
            if (Rune.DecodeFromUtf8(utf8Text[index..], out var rune, out var consumed) != OperationStatus.Done || WillEncode(rune.Value))
            {
                return index;
            }

            index += consumed;
            var next = utf8Text[index..].IndexOfAnyExcept(PlainBytes);
            index = next < 0 ? -1 : index + next;
        }

        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten) =>
        TryEncode(unicodeScalar, new Span<char>(buffer, bufferLength), out numberOfCharactersWritten);

    private int FirstToEncode(ReadOnlySpan<char> text)
    {
        var index = text.IndexOfAnyExcept(PlainChars);
        while (index >= 0)
        {
            if (Rune.DecodeFromUtf16(text[index..], out var rune, out var consumed) != OperationStatus.Done || WillEncode(rune.Value))
            {
                return index;
            }

            index += consumed;
            var next = text[index..].IndexOfAnyExcept(PlainChars);
            index = next < 0 ? -1 : index + next;
        }

        return -1;
    }

    private bool TryEncode(int scalar, Span<char> destination, out int written)
    {
        written = 0;
        if (!WillEncode(scalar))
        {
            return new Rune(scalar).TryEncodeToUtf16(destination, out written);
        }

        var shortForm = scalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\b' => "\\b",
            '\f' => "\\f",
            _ => null,
        };
        if (shortForm is not null)
        {
            return TryCopy(shortForm, destination, ref written);
        }

        if ((scalar is >= 0xD800 and <= 0xDFFF) || scalar > 0x10FFFF)
        {
            return TryCopy("\\uFFFD", destination, ref written); // an escaped lone surrogate would break the reader instead
        }

        // Only scalars up to U+FFFF are ever escaped (WillEncode), so one \uXXXX says each, written in place.
        if (destination.Length < 6 || !scalar.TryFormat(destination[2..6], out _, "X4", System.Globalization.CultureInfo.InvariantCulture))
        {
            return false;
        }

        destination[0] = '\\';
        destination[1] = 'u';
        written = 6;
        return true;
    }

    private static bool TryCopy(string escaped, Span<char> destination, ref int written)
    {
        if (!escaped.AsSpan().TryCopyTo(destination))
        {
            return false;
        }

        written = escaped.Length;
        return true;
    }
}
