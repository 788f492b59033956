using System.Text;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// The words an operator reads for an event that reached no customer (<c>GET /api/v1/processor/not-applied</c>),
/// written out whole: found by mutation testing, where emptying any of them passed every test.
/// </summary>
public sealed class NotAppliedDetailTests
{
    private static NotAppliedEvent NotApplied(string json)
    {
        var entry = new ProfileEngine().Apply(1, 1, Encoding.UTF8.GetBytes(json)).NotApplied;
        Assert.NotNull(entry);
        return entry;
    }

    [Fact]
    public void NotJson_SaysSoAndWhereTheParserStopped()
    {
        var entry = NotApplied("""{"type":"track",""");
        Assert.Equal("invalid_json", entry.Reason);
        Assert.StartsWith("The stored event is not valid JSON: ", entry.Detail, StringComparison.Ordinal);
        Assert.True(entry.Detail.Length > "The stored event is not valid JSON: ".Length);
    }

    [Theory]
    [InlineData("[1,2]", "The stored event is a JSON array, not an object.")]
    [InlineData("\"track\"", "The stored event is a JSON string, not an object.")]
    [InlineData("42", "The stored event is a JSON number, not an object.")]
    public void NotAnObject_SaysWhatItIs(string json, string detail)
    {
        var entry = NotApplied(json);
        Assert.Equal("invalid_json", entry.Reason);
        Assert.Equal(detail, entry.Detail);
    }

    [Fact]
    public void UnknownType_ListsTheSegmentCallTypes()
    {
        var entry = NotApplied("""{"type":"purchase","userId":"u1","messageId":"m"}""");
        Assert.Equal("unknown_type", entry.Reason);
        Assert.Equal("Its 'type' is not a Segment call type (identify, track, page, screen, group or alias).", entry.Detail);
    }

    [Fact]
    public void NoIdentifier_SaysWhichFieldsWereLookedAt()
    {
        var entry = NotApplied("""{"type":"track","event":"E","userId":"  ","messageId":"m"}""");
        Assert.Equal("no_identifier", entry.Reason);
        Assert.Equal("It carries no usable identifier: userId and anonymousId are missing or blank, and no email, phone or configured external id was given.", entry.Detail);
    }

    [Fact]
    public void BlockedIdentifier_NamesTheTypeAndWhatABlockedValueIs()
    {
        var entry = NotApplied("""{"type":"track","event":"E","anonymousId":"undefined","messageId":"m"}""");
        Assert.Equal("blocked_identifier", entry.Reason);
        Assert.Equal(
            "Every identifier it carries (anonymous_id) is a blocked value: one Tandem never links, such as \"null\" or \"anonymous\", or one the identity settings block.",
            entry.Detail);
    }

    [Fact]
    public void EscapedTraitNames_AreReadAsTheirText()
    {
        var engine = new ProfileEngine();
        engine.Apply(1, 1, Encoding.UTF8.GetBytes("""{"type":"identify","userId":"u1","traits":{"\u0061ge":36,"pl\u0061n":"pro"},"messageId":"m"}"""));

        var profile = engine.Find(new Identifier("user_id", "u1"));
        Assert.NotNull(profile);
        Assert.Equal(["age", "plan"], profile.Traits.Entries().Select(e => e.Key).Order(StringComparer.Ordinal));
    }
}
