using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Tests.Core;

/// <summary>
/// Which events a Unicode repair is reported for, and the messageIds it keeps apart
/// (docs/collect.md "Text that is not valid Unicode"); and the per-event refusals of a batch's
/// <c>type</c> (docs/collect.md "Validation, per call type").
/// </summary>
public sealed class SpecParserUnicodeRefusalTests
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);

    private const string UnicodeDetail =
        "Text in this event was not valid Unicode (invalid UTF-8 bytes, or a \\uD800–\\uDFFF escape without its pair); each bad sequence was stored as U+FFFD (�). " +
        "Encode text as UTF-8, and do not cut strings in the middle of an emoji.";

    /// <summary>A body in which each <c>#</c> is the byte 0xFF, which is never valid UTF-8.</summary>
    private CollectOutcome Parse(string json, MessageType? type = null) =>
        _parser.Parse(Encoding.UTF8.GetBytes(json).Select(b => b == (byte)'#' ? (byte)0xFF : b).ToArray(), type, ReceivedAt, null);

    private static string Track(string name) => $$"""{"type":"track","userId":"u","event":"{{name}}"}""";

    [Fact]
    public void SingleRoute_BadText_IsRepaired_AndReportedForTheBody()
    {
        var outcome = Parse("""{"userId":"u","event":"Caf#"}""", MessageType.Track);
        Assert.Equal(new Repair(0, "invalid_unicode", "body", UnicodeDetail), Assert.Single(outcome.Repairs));
        Assert.Equal("Caf\uFFFD", JsonDocument.Parse(Assert.Single(outcome.Accepted).Json).RootElement.GetProperty("event").GetString());
    }

    [Fact]
    public void Batch_OnlyTheEventsWithBadText_AreReported()
    {
        var outcome = Parse("""{"context":{"app":"ok"},"batch":[""" + Track("a") + "," + Track("b#") + "," + Track("c") + "," + Track("d#") + "]}");
        Assert.Equal(4, outcome.Accepted.Count);
        Assert.Equal([new Repair(1, "invalid_unicode", "batch[1]", UnicodeDetail), new Repair(3, "invalid_unicode", "batch[3]", UnicodeDetail)], outcome.Repairs);
    }

    [Theory]
    [InlineData("context")]
    [InlineData("integrations")]
    public void BatchLevel_BadText_IsReportedForEveryEvent(string member)
    {
        var outcome = Parse($$"""{"{{member}}":{"x":"#"},"batch":[{{Track("a")}},{{Track("b")}}]}""");
        Assert.Equal([0, 1], outcome.Repairs.Select(r => r.Index));
        Assert.Equal(2, outcome.Accepted.Count);
    }

    [Fact]
    public void RefusedEvent_WithBadText_IsStillReported()
    {
        var outcome = Parse("""{"batch":[{"type":"track","event":"#"}]}""");
        Assert.Equal("missing_identity", Assert.Single(outcome.Rejected).Reason);
        Assert.Equal(0, Assert.Single(outcome.Repairs).Index);
    }

    [Theory]
    [InlineData("""{"batch":{"e":"#"}}""", "wrong_type")]
    [InlineData("""{"e":"#"}""", "missing_batch")]
    [InlineData("""["#"]""", "not_an_object")]
    [InlineData("""{"batch":["#",}""", "invalid_json")]
    public void WholeBodyRefusal_WithBadText_ReportsNoRepair(string json, string reason)
    {
        var outcome = Parse(json);
        Assert.Equal(reason, outcome.Error?.Reason);
        Assert.Empty(outcome.Repairs);
    }

    // A retry of the same broken id must stay a duplicate; two different broken ids must not merge.
    [Fact]
    public void BrokenMessageIds_KeepAStableSuffix_ThatTellsThemApart()
    {
        var outcome = Parse("""{"batch":[""" +
            """{"type":"track","userId":"u","event":"E","messageId":"m\ud83d"},""" +
            """{"type":"track","userId":"u","event":"E","messageId":"m\ud83e"},""" +
            """{"type":"track","userId":"u","event":"E","messageId":"m\ud83d"},""" +
            """{"type":"track","userId":"u","event":"E","messageId":"ok"}]}""");
        var ids = outcome.Accepted.Select(a => a.MessageId).ToList();
        Assert.All(ids.Take(3), id => Assert.Matches("^m\uFFFD~[0-9a-f]{16}$", id));
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(ids[0], ids[2]);
        Assert.Equal("ok", ids[3]);
        Assert.Equal([0, 1, 2], outcome.Repairs.Select(r => r.Index));

        var single = Parse("""{"userId":"u","event":"E","messageId":"m\ud83d"}""", MessageType.Track);
        Assert.Equal(ids[0], Assert.Single(single.Accepted).MessageId);
        var stored = JsonDocument.Parse(single.Accepted[0].Json).RootElement;
        Assert.Equal(ids[0], stored.GetProperty("messageId").GetString());
    }

    [Fact]
    public void Batch_EventThatIsNotAnObject_IsRefusedAlone()
    {
        var outcome = Parse("""{"batch":[1,""" + Track("a") + "]}");
        var r = Assert.Single(outcome.Rejected);
        Assert.Equal((0, "not_an_object", "batch[0]", "Each event must be a JSON object; got a number."), (r.Index!.Value, r.Reason, r.Field, r.Detail));
        Assert.Equal("1", Encoding.UTF8.GetString(r.Payload));
        Assert.Equal(1, Assert.Single(outcome.Accepted).Index);
    }

    [Theory]
    [InlineData("\"type\":5,", "wrong_type", "type must be a string, one of identify, track, page, screen, group, alias; got a number.")]
    [InlineData("", "missing_type", "Each event in a batch needs \"type\": one of identify, track, page, screen, group, alias.")]
    [InlineData("\"type\":null,", "missing_type", "Each event in a batch needs \"type\": one of identify, track, page, screen, group, alias.")]
    [InlineData("\"type\":\"click\",", "unknown_type", "\"click\" is not a Segment call type; use identify, track, page, screen, group or alias.")]
    public void Batch_EventType_IsAKnownString(string type, string reason, string detail)
    {
        var r = Assert.Single(Parse($$"""{"batch":[{{{type}}"userId":"u","event":"E"}]}""").Rejected);
        Assert.Equal((0, reason, "batch[0].type", detail), (r.Index!.Value, r.Reason, r.Field, r.Detail));
    }
}
