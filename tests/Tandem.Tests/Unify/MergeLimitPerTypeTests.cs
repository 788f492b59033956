using System.Globalization;
using System.Text.Json.Nodes;
using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>
/// Every identifier type's limit is enforced, not only those of <c>user_id</c> and <c>email</c>: a
/// profile holding its limit declines one more value, and two profiles whose values together exceed
/// it do not merge (docs/unify.md, "Identifiers" and "The algorithm", step 3). The limits are the
/// documented ones, written out here: phone 5, anonymous_id 5, a custom type whatever the admin set
/// (5 below, the documented default). Exact boundaries of each limit are tested elsewhere; these
/// tests ask only whether each type's limit is looked at at all.
/// </summary>
public sealed class MergeLimitPerTypeTests
{
    private const string Custom = "loyalty_id";

    /// <summary>docs/unify.md: phone 5, anonymous_id 5; a custom type set by the admin, default 5.</summary>
    private const int DocumentedLimit = 5;

    private static readonly IdentityRules WithCustomType = new([.. IdentityRules.DefaultTypes, new IdentifierType(Custom, DocumentedLimit, 4)]);

    /// <summary>
    /// A track event carrying <paramref name="value"/> as an identifier of <paramref name="type"/>,
    /// where the docs say that type is read from, next to a user id or an email (the profile's anchor).
    /// </summary>
    private static void Carrying(SpecEvents events, string at, string type, string value, string? userId = null, string? email = null)
    {
        var traits = new JsonObject();
        if (email is not null)
        {
            traits["email"] = email;
        }

        switch (type)
        {
            case IdentifierType.AnonymousId:
                events.Track(at, "Viewed", userId: userId, anonymousId: value, context: Context(traits));
                break;
            case IdentifierType.Phone:
                traits["phone"] = value;
                events.Track(at, "Viewed", userId: userId, context: Context(traits));
                break;
            default:
                events.Track(at, "Viewed", userId: userId, context: Context(traits, (value, type)));
                break;
        }
    }

    private static readonly string[] Owners = ["ada", "bo", "shared", "cy", "other"];

    /// <summary>The i-th value of an owner: a phone number for phones, a readable name otherwise.</summary>
    private static string Value(string type, string owner, int i) => type == IdentifierType.Phone
        ? string.Create(CultureInfo.InvariantCulture, $"+44 20 7946 {Array.IndexOf(Owners, owner) + 1:00}{i:00}")
        : $"{owner}-{i}";

    private static string[] Values(Profile profile, string type) =>
        [.. profile.Identifiers.Select(l => l.Identifier).Where(id => id.Type == type).Select(id => id.Value).Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(IdentifierType.Phone)]
    [InlineData(IdentifierType.AnonymousId)]
    [InlineData(Custom)]
    public void EveryTypesLimit_DeclinesOneValueTooMany_AndAMergeThatWouldExceedIt(string type)
    {
        var events = new SpecEvents();

        // Ada's profile meets six values of the type, one event each: five join, the sixth is declined.
        for (var i = 1; i <= 6; i++)
        {
            Carrying(events, $"10:0{i}", type, Value(type, "ada", i), userId: "ada");
        }

        // Bo holds three values and a profile found by an email holds three more: 3 + 3 is over the limit.
        for (var i = 1; i <= 3; i++)
        {
            Carrying(events, $"11:0{i}", type, Value(type, "bo", i), userId: "bo");
            Carrying(events, $"11:1{i}", type, Value(type, "shared", i), email: "shared@example.com");
        }

        events.Track("11:30", "Viewed", userId: "bo", context: Context(new() { ["email"] = "shared@example.com" }));

        // Cy holds two and a profile found by another email three: 2 + 3 is within it, so they merge.
        for (var i = 1; i <= 3; i++)
        {
            if (i <= 2)
            {
                Carrying(events, $"12:0{i}", type, Value(type, "cy", i), userId: "cy");
            }

            Carrying(events, $"12:1{i}", type, Value(type, "other", i), email: "other@example.com");
        }

        events.Track("12:30", "Viewed", userId: "cy", context: Context(new() { ["email"] = "other@example.com" }));

        var replay = new Replay(WithCustomType);
        var results = replay.ApplyAll(events.List);
        var engine = replay.Engine;

        var ada = replay.Holder("user_id:ada");
        Assert.Equal(DocumentedLimit, Values(ada, type).Length);
        Assert.DoesNotContain(Value(type, "ada", 6), Values(ada, type));
        Assert.Null(engine.Find(new Identifier(type, Value(type, "ada", 6))));
        var declined = Assert.Single(ada.Declined);
        Assert.Equal((6L, type), (declined.Seq, declined.Identifier.Type));
        Assert.Equal(1, results[5].Declined);
        Assert.Same(ada, results[5].Profile); // the event is still Ada's, through her user id

        // The merge over the limit is declined and recorded on both sides; the two stay apart.
        var bo = replay.Holder("user_id:bo");
        var shared = replay.Holder("email:shared@example.com");
        Assert.NotSame(bo, shared);
        Assert.Equal(3, Values(bo, type).Length);
        Assert.Equal(3, Values(shared, type).Length);
        Assert.Contains(bo.Declined, d => d.OtherProfileId == shared.Id && d.Reason.Contains(type, StringComparison.Ordinal));
        Assert.Contains(shared.Declined, d => d.OtherProfileId == bo.Id && d.Reason.Contains(type, StringComparison.Ordinal));

        // Within the limit the same story merges: the test declines only what the limit forbids.
        var cy = replay.Holder("user_id:cy");
        Assert.Same(cy, replay.Holder("email:other@example.com"));
        Assert.Equal(DocumentedLimit, Values(cy, type).Length);
        Assert.Empty(cy.Declined);
    }
}
