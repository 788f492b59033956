using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Tests.Core;

/// <summary>
/// What an accepted event looks like once stored (docs/collect.md "What is stored"): every identifier
/// kept, numbers as strings, batch-level context merged one level deep with the event's own value winning.
/// </summary>
public sealed class SpecParserStampingTests
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SpecParser _parser = new(CollectLimits.Default);

    private List<JsonElement> Stored(string json, MessageType? type = null, string? ip = null)
    {
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes(json), type, ReceivedAt, ip);
        Assert.Null(outcome.Error);
        Assert.Empty(outcome.Rejected);
        return [.. outcome.Accepted.Select(a => JsonDocument.Parse(a.Json).RootElement)];
    }

    [Theory]
    [InlineData("track", """{"userId":"u-1","anonymousId":"a-1","event":"E"}""", "userId", "u-1")]
    [InlineData("track", """{"userId":"u-1","anonymousId":"a-1","event":"E"}""", "anonymousId", "a-1")]
    [InlineData("track", """{"anonymousId":42,"event":"E"}""", "anonymousId", "42")]
    [InlineData("identify", """{"userId":7}""", "userId", "7")]
    [InlineData("group", """{"userId":"u-1","groupId":"g-1"}""", "groupId", "g-1")]
    [InlineData("group", """{"anonymousId":"a-1","groupId":99}""", "groupId", "99")]
    [InlineData("alias", """{"userId":"u-1","previousId":"a-1"}""", "previousId", "a-1")]
    [InlineData("alias", """{"userId":"u-1","previousId":5}""", "userId", "u-1")]
    public void EveryIdentifierSent_IsStored_NumbersAsStrings(string type, string json, string field, string value)
    {
        var e = Assert.Single(Stored(json, Enum.Parse<MessageType>(type, ignoreCase: true)));
        Assert.Equal(value, e.GetProperty(field).GetString());
    }

    [Fact]
    public void BatchLevelContext_IsMergedIntoEachEvent_TheEventsOwnKeyWinning()
    {
        var stored = Stored("""
            {"context":{"library":{"name":"batch-lib"},"locale":"en-GB"},"batch":[
              {"type":"track","userId":"u","event":"A","context":{"locale":"fr-FR"}},
              {"type":"track","userId":"u","event":"B"}]}
            """);

        Assert.Equal("batch-lib", stored[0].GetProperty("context").GetProperty("library").GetProperty("name").GetString());
        Assert.Equal("fr-FR", stored[0].GetProperty("context").GetProperty("locale").GetString());
        Assert.Equal("batch-lib", stored[1].GetProperty("context").GetProperty("library").GetProperty("name").GetString());
        Assert.Equal("en-GB", stored[1].GetProperty("context").GetProperty("locale").GetString());
    }

    [Fact]
    public void BatchLevelContextIp_CountsAsTheEventsOwn_SoTheConnectionsAddressIsNotAdded()
    {
        var stored = Stored("""
            {"context":{"ip":"203.0.113.9"},"batch":[{"type":"track","userId":"u","event":"A"}]}
            """, ip: "198.51.100.1");
        Assert.Equal("203.0.113.9", Assert.Single(stored).GetProperty("context").GetProperty("ip").GetString());

        var without = Stored("""{"batch":[{"type":"track","userId":"u","event":"A"}]}""", ip: "198.51.100.1");
        Assert.Equal("198.51.100.1", Assert.Single(without).GetProperty("context").GetProperty("ip").GetString());
    }

    [Fact]
    public void BatchLevelContext_ThatIsNotAnObject_IsIgnored()
    {
        var e = Assert.Single(Stored("""{"context":"oops","batch":[{"type":"track","userId":"u","event":"A","context":{"locale":"de"}}]}"""));
        Assert.Equal("""{"locale":"de"}""", e.GetProperty("context").GetRawText());
    }

    [Theory]
    [InlineData("null", "null")]
    [InlineData("[]", "an array")]
    [InlineData("\"track\"", "a string")]
    [InlineData("3", "a number")]
    [InlineData("false", "a boolean")]
    public void ABatchItemThatIsNotAnObject_IsRefusedSayingWhatItIs(string item, string got)
    {
        var outcome = _parser.Parse(Encoding.UTF8.GetBytes($$"""{"batch":[{"type":"track","userId":"u","event":"A"},{{item}}]}"""), null, ReceivedAt, null);
        Assert.Single(outcome.Accepted);
        var r = Assert.Single(outcome.Rejected);
        Assert.Equal(("not_an_object", "batch[1]", $"Each event must be a JSON object; got {got}."), (r.Reason, r.Field, r.Detail));
    }
}
