using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Hosting;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>What Tandem's JSON looks like to a person reading it, and that no text makes writing it fail.</summary>
public sealed class TandemJsonTests
{
    [Theory]
    [InlineData("Zoë 😀")]
    [InlineData("2026-11-23T12:00:00+00:00")]
    [InlineData("👨‍👩‍👧 中文 🇫🇷 Ünïcödé")]
    [InlineData("O'Brien `quoted`")]
    public void Serialize_ReadableText_WrittenAsItIs(string text) =>
        Assert.Equal("\"" + text + "\"", JsonSerializer.Serialize(text, TandemJson.Web));

    [Theory]
    [InlineData("<script>", "\\u003Cscript\\u003E")]
    [InlineData("a & b", "a \\u0026 b")]
    [InlineData("say \"hi\"\n", "say \\\"hi\\\"\\n")]
    [InlineData("\u2028\u202E\uFEFF\u0085\u0001", "\\u2028\\u202E\\uFEFF\\u0085\\u0001")]
    public void Serialize_HtmlSensitiveAndInvisibleCharacters_Escaped(string text, string escaped) =>
        Assert.Equal("\"" + escaped + "\"", JsonSerializer.Serialize(text, TandemJson.Web));

    [Fact]
    public void Serialize_AnyUtf16Text_NeverThrowsAndReadsBackAsItsValidUnicode()
    {
        var random = new Random(14);
        char[] alphabet = ['a', '+', '<', '&', '"', '\\', '\n', '\u0000', '\u007F', 'é', '中', '\u2028', '\u202E', '\uFEFF', '\uFFFD', '\uD83D', '\uDE00', '\uDC00'];
        for (var i = 0; i < 5_000; i++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 12)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var json = JsonSerializer.Serialize(new { text }, TandemJson.Web);
            var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)); // lone surrogates become U+FFFD
            Assert.Equal(expected, JsonDocument.Parse(json).RootElement.GetProperty("text").GetString());
            Assert.DoesNotContain("\\uD8", json, StringComparison.OrdinalIgnoreCase); // never an escaped lone surrogate for a reader to choke on
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x63, 0x61, 0x66, 0xE9 })] // Latin-1 é
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0xBD })] // a surrogate encoded in UTF-8
    public void Write_InvalidUtf8_NeverThrowsAndIsValidJson(byte[] bytes)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, TandemJson.Writer))
        {
            writer.WriteStartObject();
            writer.WriteString("value"u8, bytes);
            writer.WriteEndObject();
        }

        Assert.Contains('\uFFFD', JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("value").GetString()!);
    }

    [Fact]
    public async Task Api_NameWithEmojiAndATimestamp_AnsweredReadably()
    {
        await using var server = await TandemServer.StartAsync();

        using var created = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "Zoë 😀 <b>" }));
        var body = await created.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Contains("\"name\":\"Zoë 😀 \\u003Cb\\u003E\"", body, StringComparison.Ordinal);
        Assert.Contains("+00:00\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\\uD83D", body, StringComparison.OrdinalIgnoreCase);

        using var problem = await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/sources/src_é😀"));
        var problemBody = await problem.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.NotFound, problem.StatusCode);
        Assert.Contains("src_é😀", problemBody, StringComparison.Ordinal);
    }
}
