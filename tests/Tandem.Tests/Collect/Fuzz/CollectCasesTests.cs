using System.Text;
using CsCheck;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>The generators can produce every hostile shape issue 14 names: a fuzz suite that never sends one proves nothing about it.</summary>
public sealed class CollectCasesTests
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [Fact]
    public void Any_ThousandsOfCases_CoverEveryHostileShapeRouteAndTransport()
    {
        var pcg = new PCG(14, 42);
        var cases = Enumerable.Range(0, 3000).Select(_ => CollectCases.Any.Generate(pcg, null!, out var _)).ToList();
        var bodies = cases.Select(c => (Case: c, Text: Encoding.Latin1.GetString(c.Body("t", 1, "KEY")))).ToList();
        bool Any(Func<(CollectCase Case, string Text), bool> shape) => bodies.Exists(b => shape(b));
        bool Sent(string text) => Any(b => b.Text.Contains(text, StringComparison.Ordinal));

        var expected = new Dictionary<string, bool>
        {
            ["lone high surrogate escape"] = Sent("\\ud83d\""),
            ["lone low surrogate escape"] = Sent("\\udc00"),
            ["paired surrogate escapes"] = Sent("\\ud83d\\ude00"),
            ["invalid UTF-8"] = Any(b => !IsUtf8(b.Text)),
            ["overlong UTF-8"] = Sent("\xC0\xAF"),
            ["escaped NUL"] = Sent("\\u0000"),
            ["raw NUL"] = Sent("\0"),
            ["BOM"] = Any(b => b.Case.Bom),
            ["30 KB value"] = Sent(new string('x', 30_000)),
            ["event over 32 KB"] = Sent(new string('x', 32_800)),
            ["nesting past 64"] = Any(b => b.Case.Depth > 64) && Sent(string.Concat(Enumerable.Repeat("[", 65))),
            ["1e400"] = Sent("1e400"),
            ["-0"] = Sent(":-0,") || Sent(":-0}"),
            ["1e-400"] = Sent("1e-400"),
            ["year 1"] = Sent("\"0001-01-01T00:00:00Z\""),
            ["year 9999"] = Sent("\"9999-12-31T23:59:59.999Z\""),
            ["1970"] = Sent("\"1970-01-01T00:00:00Z\""),
            ["invalid timestamp"] = Sent("\"timestamp\":\"yesterday\""),
            ["numeric timestamp"] = Sent("\"timestamp\":1700000000000"),
            ["duplicate key"] = Sent("\"dup-t\""),
            ["blank userId"] = Sent("\"userId\":\"\""),
            ["whitespace userId"] = Sent("\"userId\":\"   \""),
            ["numeric userId"] = Any(b => b.Text.Contains("\"userId\":1", StringComparison.Ordinal)),
            ["wrong type for event"] = Sent("\"event\":true") || Sent("\"event\":{") || Sent("\"event\":["),
            ["event that is not an object"] = Sent("\"batch\":[5") || Sent(",5,") || Sent(",null]"),
            ["gzip"] = Any(b => b.Case.Encoding == BodyEncoding.Gzip),
            ["truncated gzip"] = Any(b => b.Case.Encoding == BodyEncoding.TruncatedGzip),
            ["text/plain"] = Any(b => b.Case.ContentType == "text/plain"),
            ["no content type"] = Any(b => b.Case.ContentType is null),
            ["body cut short"] = Any(b => b.Case.KeepFraction is not null),
            ["2,501 events"] = Any(b => b.Case.RawBody is not null && b.Text.Contains("m-t-2500", StringComparison.Ordinal)),
        };
        foreach (var place in Enum.GetValues<KeyPlace>())
        {
            expected["write key: " + place] = Any(b => b.Case.Key == place);
        }

        foreach (var route in new[] { "identify", "i", "track", "t", "page", "p", "screen", "s", "group", "g", "alias", "a", "batch", "b", "import" })
        {
            expected["route /v1/" + route] = Any(b => b.Case.Route == "/v1/" + route);
        }

        Assert.Empty(expected.Where(e => !e.Value).Select(e => e.Key));
    }

    private static bool IsUtf8(string latin1)
    {
        try
        {
            Strict.GetCharCount(Encoding.Latin1.GetBytes(latin1));
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
