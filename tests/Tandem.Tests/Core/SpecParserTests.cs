using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Tests.Core;

public sealed class SpecParserTests
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);

    private JsonElement ParseOne(string json, MessageType? type = MessageType.Track, string? ip = null)
    {
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes(json), type, ReceivedAt, ip);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Rejected);
        return JsonDocument.Parse(Assert.Single(outcome.Accepted).Json).RootElement;
    }

    [Theory]
    [InlineData("2026-11-23T11:00:00Z", "2026-11-23T11:00:00.000Z")]
    [InlineData("2026-11-23T11:00:00.1234567Z", "2026-11-23T11:00:00.123Z")]
    [InlineData("2026-11-23T11:00:00.5", "2026-11-23T11:00:00.500Z")]
    [InlineData("2026-11-23T13:00:00+02:00", "2026-11-23T11:00:00.000Z")]
    [InlineData("2026-11-23T06:30:00-0430", "2026-11-23T11:00:00.000Z")]
    [InlineData("2026-11-23 11:00:00Z", "2026-11-23T11:00:00.000Z")]
    [InlineData("Mon, 23 Nov 2026 11:00:00 GMT", "2026-11-23T11:00:00.000Z")]
    public void Parse_TimestampFormats_AreNormalisedToUtcMilliseconds(string sent, string stored)
    {
        var e = ParseOne($$"""{"userId":"u","event":"E","timestamp":"{{sent}}"}""");
        Assert.Equal(stored, e.GetProperty("timestamp").GetString());
    }

    [Theory]
    [InlineData("2026-02-30T11:00:00Z")]
    [InlineData("2026-13-01T11:00:00Z")]
    [InlineData("2026-11-23T25:00:00Z")]
    [InlineData("tomorrow")]
    [InlineData("")]
    public void Parse_ImpossibleTimestamp_IsRefusedWithItsField(string sent)
    {
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes($$"""{"userId":"u","event":"E","timestamp":"{{sent}}"}"""), MessageType.Track, ReceivedAt, null);
        var rejection = Assert.Single(outcome.Rejected);
        Assert.Equal("invalid_timestamp", rejection.Reason);
        Assert.Equal("body.timestamp", rejection.Field);
    }

    [Fact]
    public void Parse_BatchSentAt_CorrectsEveryEvent_UnlessTheEventHasItsOwn()
    {
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes("""
            {"sentAt":"2026-11-23T10:00:10Z","batch":[
              {"type":"track","userId":"u","event":"A","timestamp":"2026-11-23T10:00:00Z"},
              {"type":"track","userId":"u","event":"B","originalTimestamp":"2026-11-23T10:00:00Z","sentAt":"2026-11-23T10:00:01Z"}]}
            """), null, ReceivedAt, null);
        var stored = outcome.Accepted.Select(a => JsonDocument.Parse(a.Json).RootElement).ToList();
        Assert.Equal("2026-11-23T11:59:50.000Z", stored[0].GetProperty("timestamp").GetString());
        Assert.Equal("2026-11-23T10:00:10.000Z", stored[0].GetProperty("sentAt").GetString());
        Assert.Equal("2026-11-23T11:59:59.000Z", stored[1].GetProperty("timestamp").GetString());
        Assert.Equal("2026-11-23T10:00:00.000Z", stored[1].GetProperty("originalTimestamp").GetString());
    }

    [Fact]
    public void Parse_UnknownMembers_AreCopiedExactly_IncludingEscapesAndUnicode()
    {
        var e = ParseOne("""{"userId":"u\"q","event":"Caf\u00e9 \ud83d\ude00","properties":{"na\"me":"<b>&amp;</b>","n":1.50e3,"deep":{"a":[1,{"b":null}]}},"x-custom":true}""");
        Assert.Equal("u\"q", e.GetProperty("userId").GetString());
        Assert.Equal("Café 😀", e.GetProperty("event").GetString());
        Assert.Equal("<b>&amp;</b>", e.GetProperty("properties").GetProperty("na\"me").GetString());
        Assert.Equal("1.50e3", e.GetProperty("properties").GetProperty("n").GetRawText());
        Assert.Equal("""{"a":[1,{"b":null}]}""", e.GetProperty("properties").GetProperty("deep").GetRawText());
        Assert.True(e.GetProperty("x-custom").GetBoolean());
    }

    [Fact]
    public void Parse_NonTrackEventMember_IsKeptAsSent()
    {
        var e = ParseOne("""{"userId":"u","event":42,"traits":{"plan":"pro"}}""", MessageType.Identify);
        Assert.Equal(42, e.GetProperty("event").GetInt32());
        Assert.Equal("identify", e.GetProperty("type").GetString());
    }

    [Fact]
    public void Parse_ClientIp_IsAddedOnlyWhenAbsent()
    {
        Assert.Equal("198.51.100.4", ParseOne("""{"userId":"u","event":"E"}""", ip: "198.51.100.4").GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("203.0.113.1", ParseOne("""{"userId":"u","event":"E","context":{"ip":"203.0.113.1"}}""", ip: "198.51.100.4").GetProperty("context").GetProperty("ip").GetString());
    }

    [Fact]
    public void Parse_MissingMessageIds_AreUnique()
    {
        var json = "{\"batch\":[" + string.Join(',', Enumerable.Repeat("""{"type":"track","userId":"u","event":"E"}""", 500)) + "]}";
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes(json), null, ReceivedAt, null);
        Assert.Equal(500, outcome.Accepted.Select(a => a.MessageId).Distinct().Count());
        Assert.All(outcome.Accepted, a => Assert.StartsWith("tdm-", a.MessageId));
    }
}
