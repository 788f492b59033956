using System.Text;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// Every event the engine reads ends applied, or counted as not applied with a reason; never thrown,
/// never only logged. Payloads are written by hand, byte for byte, as an older collector stored them.
/// </summary>
public sealed class NotAppliedTests
{
    private static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>A JSON text with <paramref name="raw"/> spliced in as bytes where <c>@@</c> stands: bytes no C# string can hold.</summary>
    private static byte[] WithBytes(string json, params byte[] raw)
    {
        var at = json.IndexOf("@@", StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(json[..at]), .. raw, .. Encoding.UTF8.GetBytes(json[(at + 2)..])];
    }

    private static readonly byte[] Valid = Utf8("""{"type":"track","event":"Signed In","userId":"u-2","messageId":"fine","receivedAt":"2026-11-01T10:00:00.000Z"}""");

    [Fact]
    public void Apply_LoneSurrogateInEventName_IsAppliedWithAReplacementCharacter()
    {
        // What an older collector stored for 'Zoë😀'.slice(0, 4): the customer is found, as every reader shows the text.
        var engine = new ProfileEngine();
        var bad = Utf8("""{"type":"identify","userId":"u-1","traits":{"name":"Zo\u00eb\ud83d"},"messageId":"cut-emoji","receivedAt":"2026-11-01T09:59:00.000Z"}""");

        var result = engine.Apply(1, 3, bad);

        Assert.True(result.Attributed);
        Assert.Null(result.NotApplied);
        var profile = engine.Find(new Identifier("user_id", "u-1"));
        Assert.NotNull(profile);
        Assert.True(profile.Traits.TryGet("name", out var name));
        Assert.Equal("Zo\u00eb\uFFFD", System.Text.Json.JsonDocument.Parse(name.Json).RootElement.GetString());
        Assert.Equal(0, engine.NotApplied.Total);
    }

    [Theory]
    [InlineData("""{"type":"identify","userId":"u-1","traits":{"email":"caf@@@x.com"},"messageId":"m"}""", new byte[] { 0xE9 })]
    [InlineData("""{"type":"identify","userId":"u-1","context":{"traits":{"email":"a@@@x.com"}},"messageId":"m"}""", new byte[] { 0xC0, 0xAF })]
    [InlineData("""{"type":"track","event":"Order","userId":"u-1","properties":{"items":[{"sku":"a"},{"sku":"b@@"}]},"messageId":"m"}""", new byte[] { 0xFF })]
    [InlineData("""{"type":"track","event":"Order","userId":"u-1","properties":{"k@@":1},"messageId":"m"}""", new byte[] { 0xED, 0xA0, 0xBD })]
    [InlineData("""{"type":"track","event":"Ord@@","userId":"u-1","messageId":"m"}""", new byte[] { 0xE9 })]
    public void Apply_InvalidUtf8Anywhere_IsAppliedToTheCustomer(string json, byte[] raw)
    {
        var engine = new ProfileEngine();

        var result = engine.Apply(1, 1, WithBytes(json, raw));

        Assert.True(result.Attributed);
        Assert.NotNull(engine.Find(new Identifier("user_id", "u-1")));
        Assert.Equal(0, engine.NotApplied.Total);
    }

    [Fact]
    public void Apply_SurrogatePairWrittenAsEscapes_IsValidText_AndApplied()
    {
        var engine = new ProfileEngine();

        var result = engine.Apply(1, 1, Utf8("""{"type":"identify","userId":"u-1","traits":{"name":"Zo\u00eb\ud83d\ude00","note":"C:\\ud83d"},"messageId":"m"}"""));

        Assert.True(result.Attributed);
        Assert.Null(result.NotApplied);
    }

    [Theory]
    [InlineData("""{"type":"track","event":"E","userId":"   ","messageId":"blank"}""", "no_identifier")]
    [InlineData("""{"type":"track","event":"E","messageId":"nobody"}""", "no_identifier")]
    [InlineData("""{"type":"track","event":"E","userId":"anonymous","anonymousId":"null","messageId":"blocked"}""", "blocked_identifier")]
    [InlineData("""{"type":"pageview","userId":"u-1","messageId":"odd"}""", "unknown_type")]
    [InlineData("""{"type":"track","userId":"u-1","messageId":"cut""", "invalid_json")]
    [InlineData("""["track"]""", "invalid_json")]
    public void Apply_EventThatNamesNoOneOrCannotBeRead_IsCountedWithItsReason(string json, string reason)
    {
        var engine = new ProfileEngine();

        var entry = engine.Apply(7, 1, Utf8(json)).NotApplied;

        Assert.NotNull(entry);
        Assert.Equal(reason, entry.Reason);
        Assert.Equal(7, engine.Position);
        Assert.Equal(new Dictionary<string, long> { [reason] = 1 }, engine.NotApplied.Totals);
        Assert.Equal(0, engine.ProfileCount);
    }

    [Fact]
    public void Apply_BlockedIdentifier_DetailNamesTheTypesButNeverTheValues()
    {
        var rules = new IdentityRules(IdentityRules.Default.Types.Select(t => t.Name == "email" ? t with { BlockedPatterns = ["@mailinator\\.com$"] } : t));
        var engine = new ProfileEngine(rules);

        var entry = engine.Apply(1, 1, Utf8("""{"type":"track","event":"E","anonymousId":"unknown","context":{"traits":{"email":"kim@mailinator.com"}},"messageId":"m"}""")).NotApplied;

        Assert.NotNull(entry);
        Assert.Equal("blocked_identifier", entry.Reason);
        Assert.Contains("email", entry.Detail, StringComparison.Ordinal);
        Assert.Contains("anonymous_id", entry.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("kim@", entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshot_KeepsTheNotAppliedList_AndEqualsAReplay()
    {
        var log = new List<byte[]>
        {
            Utf8("""{"type":"track","event":"Zo\ud83d","userId":"u-1","messageId":"a"}"""),
            Valid,
            Utf8("""{"type":"track","event":"E","userId":" ","messageId":"b"}"""),
            Utf8("not json"),
        };
        var live = new ProfileEngine();
        for (var i = 0; i < log.Count; i++)
        {
            live.Apply(i + 1, 1, log[i]);
        }

        var written = Snapshot(live);
        var loaded = ProfileEngine.ReadSnapshot(new MemoryStream(written));
        var replay = new ProfileEngine();
        for (var i = 0; i < log.Count; i++)
        {
            replay.Apply(i + 1, 1, log[i]);
        }

        Assert.Equal(written, Snapshot(loaded));
        Assert.Equal(written, Snapshot(replay));
        Assert.Equal(new Dictionary<string, long> { ["invalid_json"] = 1, ["no_identifier"] = 1 }, loaded.NotApplied.Totals);
        Assert.Equal([4L, 3], loaded.NotApplied.Newest(10).Select(e => e.Seq));
    }

    [Fact]
    public void NotApplied_PastTheBound_KeepsTheNewest_AndCountsEveryOne()
    {
        var engine = new ProfileEngine();
        const int Events = 10_050;
        for (var seq = 1; seq <= Events; seq++)
        {
            engine.Apply(seq, 1, Utf8("""{"type":"track","event":"E","messageId":"m"}"""));
        }

        var loaded = ProfileEngine.ReadSnapshot(new MemoryStream(Snapshot(engine)));

        foreach (var e in new[] { engine, loaded })
        {
            Assert.Equal(Events, e.NotApplied.Totals["no_identifier"]);
            Assert.Equal(10_000, e.NotApplied.Count);
            Assert.Equal(51, e.NotApplied.Oldest().First().Seq);
            Assert.Equal(Events, e.NotApplied.Newest(1)[0].Seq);
        }
    }

    [Fact]
    public void Newest_PagesBackwardsFromTheCursor()
    {
        var engine = new ProfileEngine();
        foreach (var seq in new long[] { 2, 5, 9, 12 })
        {
            engine.Apply(seq, 1, Utf8("""{"type":"page","messageId":"m"}"""));
        }

        Assert.Equal([12L, 9], engine.NotApplied.Newest(2).Select(e => e.Seq));
        Assert.Equal([5L, 2], engine.NotApplied.Newest(2, before: 9).Select(e => e.Seq));
        Assert.Equal([5L, 2], engine.NotApplied.Newest(5, before: 6).Select(e => e.Seq));
        Assert.Empty(engine.NotApplied.Newest(5, before: 2));
    }

    [Fact]
    public void DropEvents_TakesDeletedEventsOffTheList_ButTheTotalsKeepThem()
    {
        var engine = new ProfileEngine();
        engine.Apply(1, 1, Utf8("""{"type":"page","messageId":"old"}"""));
        engine.Apply(2, 1, Utf8("""{"type":"page","messageId":"new"}"""));

        engine.DropEvents(new HashSet<long> { 1 });

        Assert.Equal(["new"], engine.NotApplied.Newest(10).Select(e => e.MessageId));
        Assert.Equal(2, engine.NotApplied.Totals["no_identifier"]);
    }

    private static byte[] Snapshot(ProfileEngine engine)
    {
        using var buffer = new MemoryStream();
        engine.WriteSnapshot(buffer);
        return buffer.ToArray();
    }
}
