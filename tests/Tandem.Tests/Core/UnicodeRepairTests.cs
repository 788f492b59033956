using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CsCheck;
using Tandem.Tests.Support;
using Tandem.Text;

namespace Tandem.Tests.Core;

public sealed class UnicodeRepairTests
{
    private static byte[] Bytes(params object[] parts) =>
        [.. parts.SelectMany(p => p is string s ? Encoding.UTF8.GetBytes(s) : (byte[])p)];

    [Theory]
    [InlineData("""{"name":"Zoë 😀","n":1}""")]
    [InlineData("""{"pair":"\ud83d\ude00","upper":"\uD83D\uDE00","nul":"\u0000","bmp":"\u00e9"}""")]
    [InlineData("""{"text":"\\ud83d is six characters, not an escape"}""")]
    [InlineData("")]
    public void Repair_ValidText_IsUnchanged(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.False(UnicodeRepair.NeedsRepair(bytes));
        Assert.Equal(bytes, UnicodeRepair.Repair(bytes));
        Assert.Same(bytes, UnicodeRepair.RepairIfNeeded(bytes));
    }

    public static TheoryData<byte[], string> BrokenText => new()
    {
        { Bytes("{\"city\":\"caf", new byte[] { 0xE9 }, "\"}"), "café".Replace('é', '\uFFFD') },
        { Bytes("{\"city\":\"x", new byte[] { 0xC0, 0xAF }, "y\"}"), "x\uFFFD\uFFFDy" },
        { Bytes("{\"city\":\"", new byte[] { 0xED, 0xA0, 0xBD }, "\"}"), "\uFFFD\uFFFD\uFFFD" },
        { Bytes("{\"city\":\"a", new byte[] { 0xE2, 0x82 }, "\"}"), "a\uFFFD" },
        { Bytes("{\"city\":\"", new byte[] { 0xF4, 0x90, 0x80, 0x80 }, "\"}"), "\uFFFD\uFFFD\uFFFD\uFFFD" },
        { Bytes("""{"city":"\ud83d"}"""), "\uFFFD" },
        { Bytes("""{"city":"\udc00x"}"""), "\uFFFDx" },
        { Bytes("""{"city":"\uD83D\uD83D\uDE00"}"""), "\uFFFD😀" },
        { Bytes("""{"city":"\ude00\ud83d"}"""), "\uFFFD\uFFFD" },
        { Bytes("""{"city":"\\\ud83d"}"""), "\\\uFFFD" },
        { Bytes("""{"city":"\ud83d\n"}"""), "\uFFFD\n" },
        { Bytes("""{"city":"\ud83d\u0041"}"""), "\uFFFDA" },
    };

    [Theory]
    [MemberData(nameof(BrokenText))]
    public void Repair_BrokenText_ReadsAsReplacementCharacters(byte[] json, string expected)
    {
        Assert.True(UnicodeRepair.NeedsRepair(json));
        var repaired = UnicodeRepair.Repair(json);
        Assert.True(Utf8.IsValid(repaired));
        using var document = JsonDocument.Parse(repaired);
        Assert.Equal(expected, document.RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public void Repair_BrokenPropertyName_ReadsAsReplacementCharacter()
    {
        var repaired = UnicodeRepair.Repair(Bytes("{\"caf", new byte[] { 0xE9 }, "\":1,\"\\udbff\":2}"));
        using var document = JsonDocument.Parse(repaired);
        Assert.Equal(["caf\uFFFD", "\uFFFD"], document.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData(@"\")]
    [InlineData(@"\u")]
    [InlineData(@"\ud8")]
    [InlineData(@"\uzzzz")]
    public void Repair_EscapeCutOffOrMalformed_IsLeftAsItIs(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        Assert.False(UnicodeRepair.NeedsRepair(bytes));
        Assert.Equal(bytes, UnicodeRepair.Repair(bytes));
    }

    [Theory]
    [InlineData(@"ab\ud800", @"ab\ufffd")]
    [InlineData(@"\ud83d\u", @"\ufffd\u")]
    [InlineData(@"\ud83d\ud83", @"\ufffd\ud83")]
    public void Repair_LoneSurrogateEscapeNearTheEnd_IsReplaced(string text, string expected)
    {
        Assert.Equal(Encoding.ASCII.GetBytes(expected), UnicodeRepair.Repair(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Repair_AnyBytes_GiveValidUtf8ThatNeedsNoFurtherRepair()
    {
        var bytes = Gen.OneOf(Gen.Byte, Gen.Byte[0x80, 0xFF], Gen.OneOf((byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'c', (byte)'F'))
            .Array[0, 40];
        foreach (var input in Seeded.Samples(bytes, 20_000, seed: 14))
        {
            var repaired = UnicodeRepair.Repair(input);
            Assert.True(Utf8.IsValid(repaired), Convert.ToHexString(input));
            Assert.False(UnicodeRepair.NeedsRepair(repaired), Convert.ToHexString(input));
            Assert.Equal(repaired, UnicodeRepair.Repair(repaired));
        }
    }

    [Fact]
    public void Repair_BytesWithoutEscapes_DecodeAsDotNetDecodesThem()
    {
        // Without a backslash only the UTF-8 part acts, and it must replace exactly as Encoding.UTF8
        // does (one U+FFFD per maximal invalid subsequence), so every reader shows the same text.
        var bytes = Gen.OneOf(Gen.Byte, Gen.Byte[0x80, 0xFF]).Where(b => b != '\\').Array[0, 40];
        foreach (var input in Seeded.Samples(bytes, 20_000, seed: 1414))
        {
            var expected = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(input));
            Assert.Equal(expected, UnicodeRepair.Repair(input));
            Assert.Equal(Utf8.IsValid(input), !UnicodeRepair.NeedsRepair(input));
        }
    }

    [Fact]
    public void Repair_JsonWithBrokenText_StaysJson_AndEveryStringReads()
    {
        var broken = 0;
        foreach (var input in Seeded.Samples(BrokenTextJson.Value(depth: 4), 5_000, seed: 141414))
        {
            var why = Convert.ToHexString(input);
            using var before = JsonDocument.Parse(input); // the generator writes well-formed JSON
            var repaired = UnicodeRepair.Repair(input);
            Assert.True(Utf8.IsValid(repaired), why);
            using var after = JsonDocument.Parse(repaired);
            AssertSameShape_AndEveryStringReads(before.RootElement, after.RootElement, why);
            if (!UnicodeRepair.NeedsRepair(input))
            {
                Assert.Equal(input, repaired);
            }
            else
            {
                broken++;
            }
        }

        Assert.InRange(broken, 1_000, 5_000); // the generator does break text, often
    }

    private static void AssertSameShape_AndEveryStringReads(JsonElement before, JsonElement after, string why)
    {
        Assert.Equal(before.ValueKind, after.ValueKind);
        switch (after.ValueKind)
        {
            case JsonValueKind.String:
                _ = after.GetString();
                break;
            case JsonValueKind.Array:
                Assert.Equal(before.GetArrayLength(), after.GetArrayLength());
                foreach (var (b, a) in before.EnumerateArray().Zip(after.EnumerateArray()))
                {
                    AssertSameShape_AndEveryStringReads(b, a, why);
                }

                break;
            case JsonValueKind.Object:
                var beforeMembers = before.EnumerateObject().ToList();
                var afterMembers = after.EnumerateObject().ToList();
                Assert.Equal(beforeMembers.Count, afterMembers.Count);
                foreach (var (b, a) in beforeMembers.Zip(afterMembers))
                {
                    _ = a.Name;
                    AssertSameShape_AndEveryStringReads(b.Value, a.Value, why);
                }

                break;
            default:
                Assert.Equal(before.GetRawText(), after.GetRawText());
                break;
        }
    }

    [Fact]
    public void NeedsRepair_LargeValidPayload_IsTrueOnlyForTheOneBrokenByte()
    {
        var valid = Encoding.UTF8.GetBytes("{\"p\":\"" + string.Concat(Enumerable.Repeat("Zoë 😀 \\ud83d\\ude00 ", 2_000)) + "\"}");
        Assert.False(UnicodeRepair.NeedsRepair(valid));
        var broken = (byte[])valid.Clone();
        broken[valid.Length / 2] = 0xFF;
        Assert.True(UnicodeRepair.NeedsRepair(broken));
    }
}
