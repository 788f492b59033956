using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Tests.Core;

/// <summary>
/// The exact answer the Spec parser gives for each way a body or an event can be refused; the reason
/// codes are the table in docs/collect.md "Validation, per call type", the sizes are its "Limits".
/// Texts the docs do not spell out are written as the parser produces them, so any change is seen.
/// </summary>
public sealed class SpecParserRefusalTests
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);

    private CollectOutcome Parse(string json, MessageType? type = MessageType.Track) =>
        _parser.Parse(Encoding.UTF8.GetBytes(json), type, ReceivedAt, null);

    private BodyError BodyErrorOf(string json, MessageType? type = MessageType.Track)
    {
        var outcome = Parse(json, type);
        Assert.Empty(outcome.Accepted);
        return Assert.IsType<BodyError>(outcome.Error);
    }

    private Rejection RejectionOf(string json, MessageType? type = MessageType.Track)
    {
        var outcome = Parse(json, type);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Accepted);
        return Assert.Single(outcome.Rejected);
    }

    private JsonElement Stored(string json, MessageType? type = MessageType.Track)
    {
        var outcome = Parse(json, type);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Rejected);
        return JsonDocument.Parse(Assert.Single(outcome.Accepted).Json).RootElement;
    }

    private const string TooDeepDetail =
        "Objects and arrays nest more than 64 levels deep somewhere in the body; the limit is 64. Flatten the deepest properties.";

    // docs/collect.md "Validation": the body nests objects and arrays at most 64 deep.
    [Fact]
    public void Nesting_AtSixtyFour_IsStored_AndSixtyFive_IsTooDeep()
    {
        // The body's own object is the first level.
        var at = """{"userId":"u","event":"E","p":""" + new string('[', 63) + new string(']', 63) + "}";
        Assert.Equal("E", Stored(at).GetProperty("event").GetString());

        var over = """{"userId":"u","event":"E","p":""" + new string('[', 64) + new string(']', 64) + "}";
        Assert.Equal(new BodyError("too_deep", "The body nests too deeply", TooDeepDetail, "body"), BodyErrorOf(over));
    }

    [Fact]
    public void Nesting_AtSixtyFour_ButMalformed_IsInvalidJson_NotTooDeep()
    {
        var at = """{"p":""" + new string('[', 63) + new string(']', 63) + ",}";
        Assert.Equal("invalid_json", BodyErrorOf(at).Reason);
    }

    [Fact]
    public void Brackets_InsideStrings_DoNotCountAsNesting()
    {
        var brackets = new string('[', 70) + new string('{', 70);
        Assert.Equal("invalid_json", BodyErrorOf("{\"s\":\"" + brackets + "\",}").Reason);
        // An escaped quote does not end the string, so the brackets after it are still text.
        Assert.Equal("invalid_json", BodyErrorOf("{\"s\":\"a\\\"" + brackets + "\",}").Reason);
        // An escaped backslash does, so brackets after the closing quote count.
        Assert.Equal("too_deep", BodyErrorOf("{\"s\":\"a\\\\\",\"p\":" + new string('[', 70)).Reason);
    }

    [Fact]
    public void ClosedBrackets_LowerTheDepthAgain()
    {
        // Seventy siblings one level down never pass 64, however many there are.
        var siblings = "{\"p\":[" + string.Join(',', Enumerable.Repeat("{}", 70)) + string.Join(',', Enumerable.Repeat("[]", 70)) + "],}";
        Assert.Equal("invalid_json", BodyErrorOf(siblings).Reason);
    }

    // docs/collect.md "Validation": body is valid JSON -> invalid_json; the detail says where.
    [Fact]
    public void InvalidJson_SaysLineAndByte_AndHowToFix()
    {
        Assert.Equal(new BodyError("invalid_json", "The request body is not valid JSON",
            "JSON parse error at line 1, byte 6: '}' is an invalid start of a value. Send a UTF-8 JSON object.", "body"),
            BodyErrorOf("""{"a":}"""));
        Assert.Equal("JSON parse error at line 3, byte 3: '}' is an invalid start of a value. Send a UTF-8 JSON object.",
            BodyErrorOf("{\n\"a\":\n  }").Detail);
    }

    [Theory]
    [InlineData("[1]", "array")]
    [InlineData("\"text\"", "string")]
    [InlineData("12", "number")]
    [InlineData("true", "boolean")]
    [InlineData("null", "null")]
    public void NotAnObject_NamesWhatWasSent(string json, string kind)
    {
        var expected = new BodyError("not_an_object", "The request body must be a JSON object",
            $"Got a JSON {kind}. Send one event as an object, or {{\"batch\":[...]}} to /v1/batch.", "body");
        Assert.Equal(expected, BodyErrorOf(json));
        Assert.Equal(expected, BodyErrorOf(json, null));
    }

    [Fact]
    public void Batch_MissingWrongTypeEmpty_AreWholeBodyRefusals()
    {
        Assert.Equal(new BodyError("missing_batch", "The body has no batch array",
            "A batch call needs {\"batch\":[event, ...]}. To send one event, POST it to /v1/track, /v1/identify and so on.", "batch"),
            BodyErrorOf("""{"userId":"u"}""", null));
        Assert.Equal(new BodyError("wrong_type", "batch must be an array", "batch is a JSON object; send an array of events.", "batch"),
            BodyErrorOf("""{"batch":{}}""", null));
        Assert.Equal(new BodyError("empty_batch", "The batch is empty",
            "batch holds no events. Send at least one event, or do not send the request.", "batch"),
            BodyErrorOf("""{"batch":[]}""", null));
    }

    // docs/collect.md "Limits": events per batch 2,500 -> too_many_events, nothing stored.
    [Fact]
    public void Batch_OfTwoThousandFiveHundred_IsStored_AndOneMore_IsRefused()
    {
        static string Batch(int n) => "{\"batch\":[" + string.Join(',', Enumerable.Repeat("""{"type":"track","userId":"u","event":"E"}""", n)) + "]}";
        Assert.Equal(2500, Parse(Batch(2500), null).Accepted.Count);
        Assert.Equal(new BodyError("too_many_events", "The batch has more than 2,500 events",
            "batch holds 2,501 events; the limit is 2,500. Split it into several requests.", "batch"), BodyErrorOf(Batch(2501), null));
    }

    // docs/collect.md "Limits": one request body is 500 KB, 512,000 bytes (enforced by the server, which reads this limit).
    [Fact]
    public void BodyLimit_IsFiveHundredKilobytes() => Assert.Equal(512_000, CollectLimits.Default.MaxBatchBytes);

    private static string EventOfBytes(int bytes, string head = """{"userId":"u","event":"E","p":""")
    {
        var json = head + "\"\"}";
        return head + "\"" + new string('x', bytes - json.Length) + "\"}";
    }

    // docs/collect.md "Limits": a 32,768-byte event is stored, a 32,769-byte one is refused.
    [Fact]
    public void SingleRoute_EventAtLimit_IsStored_OneByteOver_IsRefused()
    {
        Assert.Equal(32_768, Encoding.UTF8.GetByteCount(EventOfBytes(32_768)));
        Stored(EventOfBytes(32_768));
        Assert.Equal(new BodyError("event_too_large", "The event is larger than 32 KB",
            "The event is 32,769 bytes; the limit is 32,768. Move large values out of properties.", "body"), BodyErrorOf(EventOfBytes(32_769)));
    }

    // docs/collect.md "Limits": a leading byte-order mark is not counted.
    [Fact]
    public void SingleRoute_ByteOrderMark_IsDropped_AndNotCounted()
    {
        var body = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(EventOfBytes(32_768))).ToArray();
        var outcome = _parser.Parse(body, MessageType.Track, ReceivedAt, null);
        Assert.Null(outcome.Error);
        Assert.Single(outcome.Accepted);
    }

    // docs/collect.md "Limits": in a batch an event is its own JSON text, and only that event is refused.
    [Fact]
    public void Batch_EventAtLimit_IsStored_OneByteOver_IsRefusedAlone()
    {
        const string head = """{"type":"track","userId":"u","event":"E","p":""";
        var outcome = Parse("{\"batch\":[" + EventOfBytes(32_768, head) + ", " + EventOfBytes(32_769, head) + "]}", null);
        Assert.Equal(0, Assert.Single(outcome.Accepted).Index);
        var r = Assert.Single(outcome.Rejected);
        Assert.Equal((1, "event_too_large", "batch[1]", "The event is 32,769 bytes; the limit is 32,768. Move large values out of properties."),
            (r.Index!.Value, r.Reason, r.Field, r.Detail));
        Assert.Equal(32_769, r.Payload.Length);
    }

    [Fact]
    public void WriteKey_InTheBody_IsReadOnlyWhenAString_AndNeverStored()
    {
        var outcome = Parse("""{"writeKey":"wk_1","userId":"u","event":"E"}""");
        Assert.Equal("wk_1", outcome.BodyWriteKey);
        Assert.False(JsonDocument.Parse(outcome.Accepted[0].Json).RootElement.TryGetProperty("writeKey", out _));
        Assert.Null(Parse("""{"writeKey":7,"userId":"u","event":"E"}""").BodyWriteKey);
        Assert.Null(Parse("""{"userId":"u","event":"E"}""").BodyWriteKey);
        Assert.Equal("wk_2", Parse("""{"writeKey":"wk_2","batch":[]}""", null).BodyWriteKey);
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("\"yesterday\"")]
    [InlineData("null")]
    public void BatchSentAt_ThatIsNoTime_IsIgnored(string sentAt)
    {
        var e = Stored($$"""{"sentAt":{{sentAt}},"batch":[{"type":"track","userId":"u","event":"E","timestamp":"2026-11-23T10:00:00Z"}]}""", null);
        Assert.False(e.TryGetProperty("sentAt", out _));
        Assert.Equal("2026-11-23T10:00:00.000Z", e.GetProperty("timestamp").GetString());
    }
}
