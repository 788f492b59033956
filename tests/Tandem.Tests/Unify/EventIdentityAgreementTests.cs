using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// Where the table says the two readers agree, they agree on any event: whatever the identity stage
/// links, suppression and deletion see, so a suppressed person's events cannot slip past the check
/// (docs/privacy.md). And the normal form on UTF-8 is the normal form on strings.
/// </summary>
public sealed class EventIdentityAgreementTests
{
    private static readonly Gen<string> Value = Gen.OneOf(
        Gen.OneOf("u1", " u1 ", "U1", "Ada@Example.com", " ada@example.com\t", "Zoë@Example.com", "+1 415 555 0142", "null", "", "  ", "a\"b", "x/y"),
        Gen.Char['!', '~'].Array[1, 8].Select(cs => new string(cs)));

    private static readonly Gen<JsonNode?> Scalar = Gen.Frequency(
        (6, Value.Select(v => (JsonNode?)JsonValue.Create(v))),
        (1, Gen.Int[0, 999].Select(n => (JsonNode?)JsonValue.Create(n))),
        (1, Gen.Const(() => (JsonNode?)new JsonArray("x"))));

    private static readonly Gen<JsonObject> Traits = Gen.Select(Scalar, Scalar, Scalar, Gen.Int[0, 7], (email, phone, loyalty, present) =>
    {
        var traits = new JsonObject { ["name"] = "Ada" };
        if ((present & 1) != 0) { traits["email"] = email; }
        if ((present & 2) != 0) { traits["phone"] = phone; }
        if ((present & 4) != 0) { traits["loyalty"] = loyalty; }
        return traits;
    });

    private static readonly Gen<JsonArray> ExternalIds = Gen.Select(Gen.OneOf("crm_id", "email", "user_id", "hubspot_id", "loyalty_code"), Scalar,
        (type, id) => (JsonNode)new JsonObject { ["id"] = id, ["type"] = type }).Array[0, 3].Select(items => new JsonArray(items));

    private static readonly Gen<JsonObject> Ids = Gen.Select(Scalar, Scalar, Scalar, Gen.Int[0, 7], (userId, anonymousId, previousId, present) =>
    {
        var ids = new JsonObject();
        if ((present & 1) != 0) { ids["userId"] = userId; }
        if ((present & 2) != 0) { ids["anonymousId"] = anonymousId; }
        if ((present & 4) != 0) { ids["previousId"] = previousId; }
        return ids;
    });

    private static readonly Gen<string> Event = Gen.Select(Gen.OneOf("identify", "track", "page", "screen", "group", "alias"), Ids, Traits, Traits, ExternalIds,
        (call, ids, traits, contextTraits, externalIds) =>
        {
            var e = new JsonObject { ["type"] = call, ["messageId"] = "m1" };
            foreach (var (name, value) in ids.ToList())
            {
                ids.Remove(name);
                e[name] = value;
            }

            e["traits"] = traits;
            e["context"] = new JsonObject { ["traits"] = contextTraits, ["externalIds"] = externalIds };
            return e.ToJsonString();
        });

    [Fact]
    public void EveryIdentifierTheStageLinks_IsSeenByTheScan()
    {
        foreach (var json in Seeded.Samples(Event, 2_000, seed: 17))
        {
            var scanned = EventIdentityTests.Scanned(json);
            foreach (var known in new[] { false, true })
            {
                foreach (var linked in EventIdentityTests.Linked(json, _ => known))
                {
                    Assert.True(scanned.Contains(linked), $"{linked} linked from {json} but not seen by the scan ({string.Join(", ", scanned)})");
                }
            }
        }
    }

    [Fact]
    public void TryNormal_AgreesWithNormal_OnEveryAsciiValue()
    {
        var ascii = Gen.Char[(char)0, (char)127].Array[0, 24].Select(cs => new string(cs));
        foreach (var value in Seeded.Samples(ascii, 5_000, seed: 2))
        {
            foreach (var type in new[] { "email", "user_id", "crm_id" })
            {
                var into = new byte[value.Length];
                Assert.True(EventIdentity.TryNormal(type, Encoding.ASCII.GetBytes(value), into, out var normal), value);
                Assert.Equal(EventIdentity.Normal(type, value), Encoding.ASCII.GetString(normal));
            }
        }
    }

    [Fact]
    public void TryNormal_SendsNonAsciiText_ToTheStringPath()
    {
        var into = new byte[64];

        Assert.False(EventIdentity.TryNormal("email", Encoding.UTF8.GetBytes("Zoë@example.com"), into, out _));
        Assert.Equal("zoë@example.com", EventIdentity.Normal("email", "\u00a0Zoë@Example.com\u2003"));
    }

    [Fact]
    public void Scan_OfAnEventWithPlainValues_AllocatesNothing_WhenItsVisitorKeepsNothing()
    {
        var json = """{"type":"identify","userId":" u1 ","anonymousId":"a1","traits":{"email":"Ada@Example.com","loyalty":"L-7"},"context":{"traits":{"phone":"+1 415"},"externalIds":[{"type":"crm_id","id":"c1"}]}}"""u8.ToArray();
        var custom = TraitKeyedTypes.Of(EventIdentityTests.Rules);
        var counting = new Counting();
        EventIdentity.Scan(json, custom, ref counting); // first call compiles

        var before = GC.GetAllocatedBytesForCurrentThread();
        EventIdentity.Scan(json, custom, ref counting);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(12, counting.Seen); // six identifiers, twice
        Assert.Equal(0, allocated);
    }

    private struct Counting : IIdentifierVisitor
    {
        public int Seen { get; private set; }

        public bool Visit(string type, ReadOnlySpan<byte> normalUtf8)
        {
            Seen++;
            return true;
        }
    }
}
