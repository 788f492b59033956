using System.Text.Json.Nodes;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The policy applied to real payloads: one order event and one profile's traits, read by each kind
/// of member, with the exact JSON each one gets back and what the host must audit.
/// </summary>
public sealed class PiiViewTests
{
    private const string OrderEvent = """
        {
          "type": "track",
          "event": "Order Completed",
          "userId": "u-42",
          "anonymousId": "a-7",
          "context": {
            "ip": "203.0.113.195",
            "userAgent": "Mozilla/5.0",
            "traits": {"email": "jane.doe@example.com", "name": "Jane Doe", "plan": "pro"}
          },
          "properties": {
            "order_id": "o-1001",
            "revenue": 42.5,
            "shipping_address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"},
            "payment": {"card_number": "4242 4242 4242 4242", "cvv": "123"},
            "items": [
              {"sku": "gift-50", "name": "Gift card", "card_number": "4000056655665556"},
              {"sku": "mug", "name": "Blue mug", "card_number": null}
            ]
          }
        }
        """;

    private static PiiViewResult ReadEvent(params string[] roles) =>
        new PiiView(PiiClassifier.Default, AccessPolicy.Default, roles).Event(JsonNode.Parse(OrderEvent)!.AsObject());

    private static void AssertJson(string expected, JsonNode actual) =>
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), actual.ToJsonString());

    [Fact]
    public void Event_Marketer_MasksYellowAndHidesRed()
    {
        var result = ReadEvent("marketer");

        AssertJson("""
            {
              "type": "track", "event": "Order Completed", "userId": "u-42", "anonymousId": "a-7",
              "context": {"ip": "203.0.113.0", "userAgent": "Mozilla/5.0", "traits": {"email": "j***@example.com", "name": "J***", "plan": "pro"}},
              "properties": {
                "order_id": "o-1001", "revenue": 42.5,
                "shipping_address": {"street": "1***", "city": "S***", "zip": "1***"},
                "payment": {},
                "items": [{"sku": "gift-50", "name": "Gift card"}, {"sku": "mug", "name": "Blue mug"}]
              }
            }
            """, result.Json);
        Assert.Equal(
            ["context.ip", "context.traits.email", "context.traits.name", "properties.shipping_address.street", "properties.shipping_address.city", "properties.shipping_address.zip"],
            result.Masked);
        Assert.Equal(["properties.payment.card_number", "properties.payment.cvv", "properties.items[0].card_number", "properties.items[1].card_number"], result.Hidden);
        Assert.Empty(result.RedInFull);
        Assert.False(result.MustAudit);
    }

    [Fact]
    public void Event_Admin_SeesYellowInFullAndRedMasked()
    {
        var result = ReadEvent("admin");

        AssertJson("""
            {
              "type": "track", "event": "Order Completed", "userId": "u-42", "anonymousId": "a-7",
              "context": {"ip": "203.0.113.195", "userAgent": "Mozilla/5.0", "traits": {"email": "jane.doe@example.com", "name": "Jane Doe", "plan": "pro"}},
              "properties": {
                "order_id": "o-1001", "revenue": 42.5,
                "shipping_address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"},
                "payment": {"card_number": "**** **** **** 4242", "cvv": "***"},
                "items": [
                  {"sku": "gift-50", "name": "Gift card", "card_number": "**** **** **** 5556"},
                  {"sku": "mug", "name": "Blue mug", "card_number": null}
                ]
              }
            }
            """, result.Json);
        Assert.Equal(["properties.payment.card_number", "properties.payment.cvv", "properties.items[0].card_number"], result.Masked);
        Assert.Empty(result.Hidden);
        Assert.False(result.MustAudit);
    }

    [Fact]
    public void Event_PrivacyOfficer_SeesEverything_AndTheRedReadsAreFlaggedForAudit()
    {
        var result = ReadEvent("privacy_officer");

        AssertJson(OrderEvent, result.Json);
        Assert.Empty(result.Masked);
        Assert.Empty(result.Hidden);
        Assert.Equal(["properties.payment.card_number", "properties.payment.cvv", "properties.items[0].card_number"], result.RedInFull);
        Assert.True(result.MustAudit);
    }

    [Fact]
    public void Event_Viewer_GetsNoPersonalDataAtAll()
    {
        var result = ReadEvent("viewer");

        AssertJson("""
            {
              "type": "track", "event": "Order Completed", "userId": "u-42", "anonymousId": "a-7",
              "context": {"userAgent": "Mozilla/5.0", "traits": {"plan": "pro"}},
              "properties": {
                "order_id": "o-1001", "revenue": 42.5,
                "payment": {},
                "items": [{"sku": "gift-50", "name": "Gift card"}, {"sku": "mug", "name": "Blue mug"}]
              }
            }
            """, result.Json);
        Assert.Empty(result.Masked);
        Assert.Equal(
            ["context.ip", "context.traits.email", "context.traits.name", "properties.shipping_address", "properties.payment.card_number",
             "properties.payment.cvv", "properties.items[0].card_number", "properties.items[1].card_number"],
            result.Hidden);
        Assert.False(result.MustAudit);
    }

    [Fact]
    public void Event_ViewerWhoIsAlsoPrivacyOfficer_SeesWhatThePrivacyOfficerSees()
    {
        var result = ReadEvent("viewer", "privacy_officer");

        AssertJson(OrderEvent, result.Json);
        Assert.True(result.MustAudit);
    }

    [Fact]
    public void Event_NoKnownRole_SeesGreenOnly()
    {
        Assert.Equal(ReadEvent("viewer").Json.ToJsonString(), ReadEvent("intern").Json.ToJsonString());
        Assert.Equal(ReadEvent("viewer").Json.ToJsonString(), ReadEvent().Json.ToJsonString());
    }

    [Fact]
    public void Event_LeavesTheInputUnchanged()
    {
        var source = JsonNode.Parse(OrderEvent)!.AsObject();
        var before = source.ToJsonString();

        var result = new PiiView(PiiClassifier.Default, AccessPolicy.Default, ["viewer"]).Event(source);

        Assert.Equal(before, source.ToJsonString());
        Assert.NotSame(source, result.Json);
    }

    [Fact]
    public void Event_ChangedPolicyAndOverrides_AreBothApplied()
    {
        var policy = AccessPolicy.Default.With("admin", PiiClass.Red, Exposure.Full);
        var classifier = new PiiClassifier(eventPaths: new Dictionary<string, PiiClass> { ["properties.items"] = PiiClass.Green, ["properties.order_id"] = PiiClass.Red });

        var result = new PiiView(classifier, policy, ["admin"]).Event(JsonNode.Parse(OrderEvent)!.AsObject());

        Assert.Equal(["properties.order_id", "properties.payment.card_number", "properties.payment.cvv"], result.RedInFull);
        Assert.Equal("4000056655665556", result.Json["properties"]!["items"]![0]!["card_number"]!.GetValue<string>());
        Assert.Empty(result.Masked);
    }

    [Fact]
    public void Event_RedInFullIsFlagged_ForAnyRoleThePolicyLetsSeeIt()
    {
        var policy = AccessPolicy.Default.With("marketer", PiiClass.Yellow, Exposure.Full).With("marketer", PiiClass.Red, Exposure.Full);

        var result = new PiiView(PiiClassifier.Default, policy, ["marketer"]).Event(JsonNode.Parse(OrderEvent)!.AsObject());

        Assert.True(result.MustAudit);
        Assert.Equal(3, result.RedInFull.Count);
    }

    [Fact]
    public void Traits_Marketer_MasksEachKindOfValue()
    {
        var traits = JsonNode.Parse("""
            {"email": "ada@example.com", "phone": "+44 20 7946 0958", "firstName": "Ada", "plan": "pro", "age": 36,
             "emails": ["ada@example.com", "ada@work.example"], "address": {"city": "London", "country": "UK"},
             "company": {"name": "Analytical Engines"}, "ssn": "078-05-1120", "fax": null}
            """)!.AsObject();

        var result = new PiiView(PiiClassifier.Default, AccessPolicy.Default, ["marketer"]).Traits(traits);

        AssertJson("""
            {"email": "a***@example.com", "phone": "+** ** **** **58", "firstName": "A***", "plan": "pro", "age": 36,
             "emails": ["a***@example.com", "a***@work.example"], "address": {"city": "L***", "country": "***"},
             "company": {"name": "Analytical Engines"}, "fax": null}
            """, result.Json);
        Assert.Equal(["email", "phone", "firstName", "emails[0]", "emails[1]", "address.city", "address.country"], result.Masked);
        Assert.Equal(["ssn"], result.Hidden);
    }

    [Fact]
    public void Traits_YellowNumber_IsMaskedToStars()
    {
        var classifier = new PiiClassifier(traits: new Dictionary<string, PiiClass> { ["age"] = PiiClass.Yellow });

        var result = new PiiView(classifier, AccessPolicy.Default, ["analyst"]).Traits(JsonNode.Parse("""{"age": 36, "vip": true}""")!.AsObject());

        AssertJson("""{"age": "***", "vip": true}""", result.Json);
    }

    [Theory]
    [InlineData("marketer", "email", "ada@example.com", PiiClass.Yellow, Exposure.Masked, "a***@example.com")]
    [InlineData("marketer", "phone", "+1 415 555 0142", PiiClass.Yellow, Exposure.Masked, "+* *** *** **42")]
    [InlineData("marketer", "user_id", "42", PiiClass.Green, Exposure.Full, "42")]
    [InlineData("viewer", "email", "ada@example.com", PiiClass.Yellow, Exposure.Hidden, null)]
    [InlineData("viewer", "anonymous_id", "a-7", PiiClass.Green, Exposure.Full, "a-7")]
    [InlineData("admin", "email", "ada@example.com", PiiClass.Yellow, Exposure.Full, "ada@example.com")]
    [InlineData("admin", "passport_number", "X1234567", PiiClass.Red, Exposure.Masked, "X***")]
    public void Identifier_ByRole_IsShownMaskedOrHidden(string role, string type, string value, PiiClass pii, Exposure exposure, string? shown)
    {
        var result = new PiiView(PiiClassifier.Default, AccessPolicy.Default, [role]).Identifier(type, value);

        Assert.Equal(new PiiValue(pii, exposure, shown), result);
        Assert.False(result.MustAudit);
    }

    [Fact]
    public void Identifier_RedInFull_MustBeAudited()
    {
        var classifier = new PiiClassifier(identifiers: new Dictionary<string, PiiClass> { ["tax_ref"] = PiiClass.Red });

        var result = new PiiView(classifier, AccessPolicy.Default, ["privacy_officer"]).Identifier("tax_ref", "DE123");

        Assert.Equal(new PiiValue(PiiClass.Red, Exposure.Full, "DE123"), result);
        Assert.True(result.MustAudit);
    }

    [Fact]
    public void ExposureOf_CombinesTheRolesOnce()
    {
        var view = new PiiView(PiiClassifier.Default, AccessPolicy.Default, ["viewer", "admin"]);

        Assert.Equal(Exposure.Full, view.ExposureOf(PiiClass.Yellow));
        Assert.Equal(Exposure.Masked, view.ExposureOf(PiiClass.Red));
    }
}
