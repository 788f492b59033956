using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tandem.Collect;

namespace Tandem.Tests.Core;

/// <summary>
/// The exact answer for each way one event is refused or changed: identifiers per call type, field
/// types, times, messageIds and Unicode repairs (docs/collect.md "Validation, per call type", "Answers",
/// "Text that is not valid Unicode"). Part of <see cref="SpecParserRefusalTests"/>, split for length.
/// </summary>
public sealed class SpecParserEventRefusalTests
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);

    private CollectOutcome Parse(string json, MessageType? type) => _parser.Parse(Encoding.UTF8.GetBytes(json), type, ReceivedAt, null);

    private (int Index, string Reason, string Field, string Detail) Refused(string json, MessageType? type = MessageType.Track)
    {
        var outcome = Parse(json, type);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Accepted);
        var r = Assert.Single(outcome.Rejected);
        Assert.Equal(json, Encoding.UTF8.GetString(r.Payload));
        return (r.Index!.Value, r.Reason, r.Field, r.Detail);
    }

    private JsonElement Stored(string json, MessageType? type = MessageType.Track)
    {
        var outcome = Parse(json, type);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Rejected);
        Assert.Empty(outcome.Repairs);
        return JsonDocument.Parse(Assert.Single(outcome.Accepted).Json).RootElement;
    }

    private const string NeedsIdentity = "Every event needs a userId or an anonymousId (a non-empty string). Set one of them.";
    private const string AliasGroup = "An alias call needs both previousId and userId; a group call needs groupId. Add ";

    [Theory]
    [InlineData(MessageType.Identify)]
    [InlineData(MessageType.Track)]
    [InlineData(MessageType.Page)]
    [InlineData(MessageType.Screen)]
    public void NoUserIdNorAnonymousId_IsMissingIdentity(MessageType type)
    {
        Assert.Equal((0, "missing_identity", "body", NeedsIdentity), Refused("""{"event":"E","userId":"","anonymousId":null}""", type));
        Stored("""{"event":"E","userId":"","anonymousId":"a"}""", type);
        Stored("""{"event":"E","userId":42}""", type);
    }

    [Fact]
    public void Alias_NeedsPreviousIdThenUserId()
    {
        Assert.Equal((0, "missing_previous_id", "body.previousId", AliasGroup + "\"previousId\"."),
            Refused("""{"userId":"u"}""", MessageType.Alias));
        Assert.Equal((0, "missing_user_id", "body.userId", AliasGroup + "\"userId\"."),
            Refused("""{"previousId":"p","anonymousId":"a"}""", MessageType.Alias));
        var e = Stored("""{"previousId":"p","userId":"u"}""", MessageType.Alias);
        Assert.Equal(("p", "u"), (e.GetProperty("previousId").GetString(), e.GetProperty("userId").GetString()));
    }

    [Fact]
    public void Group_NeedsGroupId()
    {
        Assert.Equal((0, "missing_group_id", "body.groupId", AliasGroup + "\"groupId\"."),
            Refused("""{"userId":"u","groupId":""}""", MessageType.Group));
        Assert.Equal("g", Stored("""{"userId":"u","groupId":"g"}""", MessageType.Group).GetProperty("groupId").GetString());
    }

    [Theory]
    [InlineData("userId", "true", "wrong_type", "userId must be a string (or a number); got a boolean.")]
    [InlineData("anonymousId", "{}", "wrong_type", "anonymousId must be a string (or a number); got an object.")]
    [InlineData("groupId", "[]", "wrong_type", "groupId must be a string (or a number); got an array.")]
    [InlineData("previousId", "false", "wrong_type", "previousId must be a string (or a number); got a boolean.")]
    [InlineData("context", "\"c\"", "wrong_type", "context must be a JSON object; got a string.")]
    [InlineData("integrations", "[]", "wrong_type", "integrations must be a JSON object; got an array.")]
    [InlineData("properties", "1", "wrong_type", "properties must be a JSON object; got a number.")]
    [InlineData("traits", "true", "wrong_type", "traits must be a JSON object; got a boolean.")]
    [InlineData("timestamp", "1", "invalid_timestamp", "timestamp must be an ISO-8601 date-time string such as \"2026-11-23T10:15:00.000Z\"; got 1.")]
    [InlineData("originalTimestamp", "\"x\"", "invalid_timestamp", "originalTimestamp must be an ISO-8601 date-time string such as \"2026-11-23T10:15:00.000Z\"; got \"x\".")]
    [InlineData("sentAt", "{}", "invalid_timestamp", "sentAt must be an ISO-8601 date-time string such as \"2026-11-23T10:15:00.000Z\"; got {}.")]
    public void EachKnownField_OfTheWrongKind_IsRefusedByName(string member, string value, string reason, string detail)
    {
        // anonymousId makes the event valid apart from the member under test.
        var json = $$"""{"type":"track","event":"E","anonymousId":"a","{{member}}":{{value}}}""";
        if (member == "anonymousId")
        {
            json = $$"""{"type":"track","event":"E","userId":"u","anonymousId":{{value}}}""";
        }

        Assert.Equal((0, reason, "body." + member, detail), Refused(json));
        var batch = Parse($$"""{"batch":[{"type":"track","userId":"u","event":"E"},{{json}}]}""", null);
        var r = Assert.Single(batch.Rejected);
        Assert.Equal((1, reason, "batch[1]." + member, detail), (r.Index!.Value, r.Reason, r.Field, r.Detail));
        Assert.Equal(0, Assert.Single(batch.Accepted).Index);
    }

    [Fact]
    public void ALongWrongValue_IsShownCutAtFortyCharacters()
    {
        var forty = "\"" + new string('x', 38) + "\"";
        Assert.EndsWith("; got " + forty + ".", Refused($$"""{"userId":"u","event":"E","timestamp":{{forty}}}""").Detail);
        var fortyOne = "\"" + new string('x', 39) + "\"";
        Assert.EndsWith("; got \"" + new string('x', 39) + "….", Refused($$"""{"userId":"u","event":"E","timestamp":{{fortyOne}}}""").Detail);
    }

    [Theory]
    [InlineData("\"  \"")]
    [InlineData("\"\\t\"")]
    [InlineData("\"\\u00a0\"")]
    [InlineData("\"\u00a0\"")]
    public void WhitespaceIdentifier_IsBlank(string value) =>
        Assert.Equal((0, "blank_identifier", "body.userId", "userId holds only whitespace. Send the identifier itself, or leave userId out."),
            Refused($$"""{"userId":{{value}},"anonymousId":"a","event":"E"}"""));

    [Fact]
    public void NonBlankIdentifiers_WithSpacesOrNonAscii_AreStored()
    {
        Assert.Equal(" a ", Stored("""{"userId":" a ","event":"E"}""").GetProperty("userId").GetString());
        Assert.Equal("é", Stored("""{"userId":"é","event":"E"}""").GetProperty("userId").GetString());
    }

    // docs/collect.md "Validation": identifiers are at most 1,024 bytes of UTF-8 text.
    [Fact]
    public void Identifier_OfOneThousandTwentyFourBytes_IsStored_OneMore_IsTooLong()
    {
        Stored($$"""{"userId":"{{new string('a', 1024)}}","event":"E"}""");
        Stored($$"""{"userId":"{{new string('a', 1022)}}\u00e9","event":"E"}""");
        const string Detail = "userId is 1,025 bytes of UTF-8; an identifier is at most 1,024. Send an id, not a document.";
        Assert.Equal((0, "identifier_too_long", "body.userId", Detail), Refused($$"""{"userId":"{{new string('a', 1025)}}","event":"E"}"""));
        Assert.Equal((0, "identifier_too_long", "body.userId", Detail), Refused($$"""{"userId":"{{new string('a', 1023)}}\u00e9","event":"E"}"""));
    }

    [Fact]
    public void Identifier_WithAControlCharacter_IsInvalid() =>
        Assert.Equal((0, "invalid_identifier", "body.anonymousId",
            "anonymousId holds a control character (U+0000–U+001F, such as a NUL or a line break), which no identifier has and no URL path can carry. Send the identifier without it."),
            Refused("""{"anonymousId":"a\nb","event":"E"}"""));

    [Theory]
    [InlineData("42", "wrong_type", "event must be a string, the name of the action (e.g. \"Order Completed\"); got a number.")]
    [InlineData("{}", "wrong_type", "event must be a string, the name of the action (e.g. \"Order Completed\"); got an object.")]
    [InlineData("null", "missing_event", "A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".")]
    [InlineData("\"\"", "missing_event", "A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".")]
    [InlineData("\" \\t\"", "missing_event", "A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".")]
    public void Track_Event_MustBeANonEmptyString(string value, string reason, string detail) =>
        Assert.Equal((0, reason, "body.event", detail), Refused($$"""{"userId":"u","event":{{value}}}"""));

    [Fact]
    public void Track_WithoutEvent_IsMissingEvent_AndStoredEventAppearsOnce()
    {
        Assert.Equal("missing_event", Refused("""{"userId":"u"}""").Reason);
        var json = Encoding.UTF8.GetString(Parse("""{"userId":"u","event":"E","x":1}""", MessageType.Track).Accepted[0].Json);
        Assert.Single(Regex.Matches(json, "\"event\":"));
        Assert.Single(Regex.Matches(json, "\"userId\":"));
        Assert.Single(Regex.Matches(json, "\"type\":"));
        var identify = Encoding.UTF8.GetString(Parse("""{"userId":"u","type":"x","writeKey":"k"}""", MessageType.Identify).Accepted[0].Json);
        Assert.Single(Regex.Matches(identify, "\"userId\":"));
        Assert.Single(Regex.Matches(identify, "\"type\":"));
        Assert.DoesNotContain("writeKey", identify, StringComparison.Ordinal);
    }

    // docs/collect.md "Answers": messageId kept when sent, else tdm-<process prefix>-<counter>.
    [Fact]
    public void MessageId_IsKept_OrAssignedInTheDocumentedShape()
    {
        Assert.Equal("m-1", Stored("""{"userId":"u","event":"E","messageId":"m-1"}""").GetProperty("messageId").GetString());
        var assigned = Stored("""{"userId":"u","event":"E","messageId":""}""").GetProperty("messageId").GetString()!;
        Assert.Matches("^tdm-[0-9a-f]{16}-[0-9a-f]{16}$", assigned);
        var next = Stored("""{"userId":"u","event":"E"}""").GetProperty("messageId").GetString()!;
        Assert.Equal(assigned[..21], next[..21]); // same process prefix
    }

    // docs/collect.md "Answers" and "Client times": out of range -> timestamp is receivedAt, repaired.
    [Theory]
    [InlineData("timestamp")]
    [InlineData("originalTimestamp")]
    public void TimestampOutOfRange_IsReceivedAt_AndListedAsRepaired(string member)
    {
        var outcome = Parse($$"""{"userId":"u","event":"E","{{member}}":"1960-01-01T00:00:00Z"}""", MessageType.Track);
        var e = JsonDocument.Parse(Assert.Single(outcome.Accepted).Json).RootElement;
        Assert.Equal("2026-11-23T12:00:00.000Z", e.GetProperty("timestamp").GetString());
        Assert.Equal("2026-11-23T12:00:00.000Z", e.GetProperty("receivedAt").GetString());
        Assert.Equal("1960-01-01T00:00:00.000Z", e.GetProperty("originalTimestamp").GetString());
        Assert.Equal(new Repair(0, "timestamp_out_of_range", "body." + member,
            "The client's time, corrected for clock skew (timestamp minus sentAt's lead over the server's clock), is before 1970 or more than a day ahead of the server. " +
            "timestamp was set to receivedAt; the client's value is kept in originalTimestamp. Check the device's clock, or send timestamp and sentAt from the same clock."),
            Assert.Single(outcome.Repairs));
    }

    [Fact]
    public void OriginalTimestamp_WinsOverTimestamp()
    {
        var e = Stored("""{"userId":"u","event":"E","timestamp":"2026-11-23T09:00:00Z","originalTimestamp":"2026-11-23T10:00:00Z"}""");
        Assert.Equal("2026-11-23T10:00:00.000Z", e.GetProperty("originalTimestamp").GetString());
        Assert.Equal("2026-11-23T10:00:00.000Z", e.GetProperty("timestamp").GetString());
    }

    // docs/collect.md "Answers": batch-level integrations merged into each event, the event's own value winning.
    [Fact]
    public void Integrations_AreMerged_AndAbsentWhenNoneSent()
    {
        var outcome = Parse("""
            {"integrations":{"All":false,"Mixpanel":true},"batch":[
              {"type":"track","userId":"u","event":"A","integrations":{"All":true}},
              {"type":"track","userId":"u","event":"B"}]}
            """, null);
        var a = JsonDocument.Parse(outcome.Accepted[0].Json).RootElement.GetProperty("integrations");
        Assert.Equal("""{"All":true,"Mixpanel":true}""", JsonSerializer.Serialize(a.EnumerateObject().OrderBy(p => p.Name).ToDictionary(p => p.Name, p => p.Value.GetBoolean())));
        var b = JsonDocument.Parse(outcome.Accepted[1].Json).RootElement.GetProperty("integrations");
        Assert.False(b.GetProperty("All").GetBoolean());
        Assert.True(Stored("""{"userId":"u","event":"E","integrations":{"X":true}}""").GetProperty("integrations").GetProperty("X").GetBoolean());
        Assert.False(Stored("""{"userId":"u","event":"E"}""").TryGetProperty("integrations", out _));
    }

    [Fact]
    public void Batch_RefusedEvents_KeepTheirOwnIndex()
    {
        var outcome = Parse("""{"batch":[{"type":"track","userId":"u","event":"E"},{"type":"track","userId":"u","event":"E"},{"type":"track","event":"E"}]}""", null);
        Assert.Equal([0, 1], outcome.Accepted.Select(a => a.Index));
        var r = Assert.Single(outcome.Rejected);
        Assert.Equal((2, "missing_identity", "batch[2]"), (r.Index!.Value, r.Reason, r.Field));
    }
}
