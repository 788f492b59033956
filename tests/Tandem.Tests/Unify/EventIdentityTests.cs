using System.Text;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// The identity table and its two readers, as docs/dev/kernel-inventory.md §2 and docs/unify.md state
/// them: what the identity stage links (<see cref="EventIdentity.Linked"/>) and what suppression and
/// deletion match (<see cref="EventIdentity.Scan"/>), field by field and call by call.
/// </summary>
public sealed partial class EventIdentityTests
{
    internal static readonly IdentityRules Rules = new([
        .. IdentityRules.DefaultTypes,
        new IdentifierType("crm_id", 5, 5),
        new IdentifierType("loyalty_code", 5, 6, TraitKey: "loyalty"),
    ]);

    public static TheoryData<string> EveryCall => ["identify", "track", "page", "screen", "group", "alias"];

    public static TheoryData<string> CallsButIdentify => ["track", "page", "screen", "group", "alias"];

    public static TheoryData<string> CallsButAlias => ["identify", "track", "page", "screen", "group"];

    [Fact]
    public void Table_HasTheSixRowsOfTheDesign_WithWhenEachReaderCountsThem()
    {
        Assert.Equal(
            [
                ("userId", Calls.Any, Calls.Any),
                ("anonymousId", Calls.Any, Calls.Any),
                ("previousId", Calls.Alias, Calls.Any),
                ("traits.{email,phone,<traitKey>}", Calls.Identify, Calls.Any),
                ("context.traits.{email,phone,<traitKey>}", Calls.Any, Calls.Any),
                ("context.externalIds[].{type,id}", Calls.Any, Calls.Any),
            ],
            EventIdentity.Fields.Select(f => (f.Field, f.LinkedOn, f.MatchedOn)));
    }

    [Fact]
    public void Table_EveryRowMatchesOnEveryCall_SoTheScanNeedNotKnowTheCallType()
    {
        foreach (var field in EventIdentity.Fields)
        {
            foreach (var call in Enum.GetValues<MessageType>())
            {
                Assert.True(field.Matches(call), $"{field.Field} on {call}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryCall))]
    public void UserIdAndAnonymousId_AreLinkedAndMatched_OnEveryCall(string call)
    {
        var json = $$"""{"type":"{{call}}","userId":"u1","anonymousId":"a1","previousId":"p0"}""";

        Assert.Contains(new Identifier("user_id", "u1"), Linked(json));
        Assert.Contains(new Identifier("anonymous_id", "a1"), Linked(json));
        Assert.Contains(new Identifier("user_id", "u1"), Scanned(json));
        Assert.Contains(new Identifier("anonymous_id", "a1"), Scanned(json));
    }

    [Fact]
    public void PreviousId_OnAnAlias_IsLinkedAsAUserIdWhenOneIsKnown_ElseAsAnAnonymousId()
    {
        const string json = """{"type":"alias","previousId":"p0","userId":"u1"}""";

        Assert.Equal([new("user_id", "u1"), new("anonymous_id", "p0")], Linked(json));
        Assert.Equal([new("user_id", "u1"), new("user_id", "p0")], Linked(json, isKnown: id => id == new Identifier("user_id", "p0")));
    }

    [Theory]
    [MemberData(nameof(CallsButAlias))]
    public void PreviousId_OffAnAlias_IsNotLinked_ButIsMatchedAsEitherType(string call)
    {
        var json = $$"""{"type":"{{call}}","previousId":"p0","userId":"u1"}""";

        Assert.Equal([new("user_id", "u1")], Linked(json));
        Assert.Equal([new("user_id", "p0"), new("anonymous_id", "p0"), new("user_id", "u1")], Scanned(json));
    }

    [Fact]
    public void Traits_OnAnIdentify_AreLinkedAndMatched_EmailPhoneAndTraitKeyedTypes()
    {
        const string json = """{"type":"identify","userId":"u1","traits":{"email":"Ada@Example.com","phone":"+1 415 555 0142","loyalty":"L-7","name":"Ada"}}""";
        Identifier[] expected = [new("user_id", "u1"), new("email", "ada@example.com"), new("phone", "+1 415 555 0142"), new("loyalty_code", "L-7")];

        Assert.Equal(expected, Linked(json));
        Assert.Equal(expected, Scanned(json));
    }

    [Theory]
    [MemberData(nameof(CallsButIdentify))]
    public void Traits_OffAnIdentify_AreNotLinked_ButAreMatched(string call)
    {
        var json = $$$"""{"type":"{{{call}}}","userId":"u1","traits":{"email":"ada@example.com","loyalty":"L-7"}}""";

        Assert.Equal([new("user_id", "u1")], Linked(json));
        Assert.Equal([new("user_id", "u1"), new("email", "ada@example.com"), new("loyalty_code", "L-7")], Scanned(json));
    }

    [Theory]
    [MemberData(nameof(EveryCall))]
    public void ContextTraits_AreLinkedAndMatched_OnEveryCall(string call)
    {
        var json = $$$$"""{"type":"{{{{call}}}}","context":{"traits":{"email":"ada@example.com","phone":"+1 415 555 0142","loyalty":"L-7"}}}""";
        Identifier[] expected = [new("email", "ada@example.com"), new("phone", "+1 415 555 0142"), new("loyalty_code", "L-7")];

        Assert.Equal(expected, Linked(json));
        Assert.Equal(expected, Scanned(json));
    }

    [Fact]
    public void ExternalIds_OfAConfiguredType_AreLinkedAndMatched_AnUnknownTypeIsOnlyMatched()
    {
        const string json = """{"type":"track","context":{"externalIds":[{"id":"003XYZ","type":"crm_id","collection":"users"},{"type":"hubspot_id","id":"77"},{"type":"crm_id","id":42}]}}""";

        Assert.Equal([new("crm_id", "003XYZ"), new("crm_id", "42")], Linked(json));
        Assert.Equal([new("crm_id", "003XYZ"), new("hubspot_id", "77"), new("crm_id", "42")], Scanned(json));
    }

    [Fact]
    public void BothReaders_KeepValuesInOneNormalForm_TrimmedAndEmailsInLowerCase()
    {
        const string json = """{"type":"identify","userId":"  Ada-1 ","traits":{"email":" ADA@Example.COM "},"context":{"externalIds":[{"type":"email","id":"Zoë@Example.com"}]}}""";
        Identifier[] expected = [new("user_id", "Ada-1"), new("email", "ada@example.com"), new("email", "zoë@example.com")];

        Assert.Equal(expected, Linked(json));
        Assert.Equal(expected, Scanned(json));
    }

    [Fact]
    public void Linked_PutsTheStrongestTypeFirst_AndKeepsTheEventsOrderWithinAType()
    {
        const string json = """{"type":"identify","anonymousId":"a1","traits":{"email":"b@x.io","phone":"+1 555"},"context":{"traits":{"email":"a@x.io"}},"userId":"u1"}""";

        Assert.Equal([new("user_id", "u1"), new("email", "b@x.io"), new("email", "a@x.io"), new("phone", "+1 555"), new("anonymous_id", "a1")], Linked(json));
    }

    [Fact]
    public void Linked_NamesTheTypeOfABlockedValue_NotTheValue_AndLinksItOnce()
    {
        var into = new List<Identifier>();
        var refused = new List<string>();
        Linked("""{"type":"identify","userId":"null","anonymousId":"a1","context":{"traits":{"email":"unknown"}},"traits":{"email":"none"}}""", into, refused);

        Assert.Equal([new Identifier("anonymous_id", "a1")], into);
        Assert.Equal(["user_id", "email"], refused);
    }

    [Fact]
    public void Scan_StopsWhenTheVisitorSaysSo()
    {
        var visitor = new Collecting { StopAfter = 2 };
        EventIdentity.Scan("""{"userId":"u1","anonymousId":"a1","traits":{"email":"x@y.z"}}"""u8, TraitKeyedTypes.Of(Rules), ref visitor);

        Assert.Equal([new("user_id", "u1"), new("anonymous_id", "a1")], visitor.Seen);
    }

    [Fact]
    public void Scan_SeesEscapedAndNumberValues_LikeTheirPlainText()
    {
        Assert.Equal([new("user_id", "ada-1"), new("anonymous_id", "42"), new("email", "zoë@example.com")],
            Scanned("""{"userId":"ad\u0061-1","anonymousId":42,"traits":{"email":"Zo\u00cb@example.com"}}"""));
    }

    internal static List<Identifier> Linked(string json, Func<Identifier, bool>? isKnown = null)
    {
        var into = new List<Identifier>();
        Linked(json, into, [], isKnown);
        return into;
    }

    private static void Linked(string json, List<Identifier> into, List<string> refused, Func<Identifier, bool>? isKnown = null)
    {
        using var document = JsonDocument.Parse(json);
        var facts = EventFacts.Read(document.RootElement);
        EventIdentity.Linked(facts, Rules, isKnown ?? (_ => false), into, refused);
    }

    internal static List<Identifier> Scanned(string json)
    {
        var visitor = new Collecting();
        EventIdentity.Scan(Encoding.UTF8.GetBytes(json), TraitKeyedTypes.Of(Rules), ref visitor);
        return visitor.Seen;
    }

    private struct Collecting() : IIdentifierVisitor
    {
        public List<Identifier> Seen { get; } = [];

        public int StopAfter { get; init; } = int.MaxValue;

        public readonly bool Visit(string type, ReadOnlySpan<byte> normalUtf8)
        {
            Seen.Add(new Identifier(type, Encoding.UTF8.GetString(normalUtf8)));
            return Seen.Count < StopAfter;
        }
    }
}
