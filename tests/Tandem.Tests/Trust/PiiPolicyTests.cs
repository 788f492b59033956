using System.Text.Json;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>The access policy: the default matrix as docs/pii.md prints it, how roles combine, changes, and the stored JSON form.</summary>
public sealed class PiiPolicyTests
{
    private const string DefaultJson = """
        {"admin":{"green":"full","yellow":"full","red":"masked"},"marketer":{"green":"full","yellow":"masked","red":"hidden"},"it_steward":{"green":"full","yellow":"masked","red":"hidden"},"privacy_officer":{"green":"full","yellow":"full","red":"full"},"analyst":{"green":"full","yellow":"masked","red":"hidden"},"liaison":{"green":"full","yellow":"masked","red":"hidden"},"viewer":{"green":"full","yellow":"hidden","red":"hidden"}}
        """;

    public static TheoryData<string, Exposure, Exposure, Exposure> DefaultMatrix => new()
    {
        { "admin", Exposure.Full, Exposure.Full, Exposure.Masked },
        { "privacy_officer", Exposure.Full, Exposure.Full, Exposure.Full },
        { "it_steward", Exposure.Full, Exposure.Masked, Exposure.Hidden },
        { "marketer", Exposure.Full, Exposure.Masked, Exposure.Hidden },
        { "analyst", Exposure.Full, Exposure.Masked, Exposure.Hidden },
        { "liaison", Exposure.Full, Exposure.Masked, Exposure.Hidden },
        { "viewer", Exposure.Full, Exposure.Hidden, Exposure.Hidden },
    };

    [Theory]
    [MemberData(nameof(DefaultMatrix))]
    public void For_DefaultPolicy_GivesEachRoleItsDocumentedExposure(string role, Exposure green, Exposure yellow, Exposure red)
    {
        var policy = AccessPolicy.Default;
        Assert.Equal(green, policy.For([role], PiiClass.Green));
        Assert.Equal(yellow, policy.For([role], PiiClass.Yellow));
        Assert.Equal(red, policy.For([role], PiiClass.Red));
    }

    [Fact]
    public void RoleNames_AreTheSevenRolesInTheDefaultMatrix()
    {
        Assert.Equal(["admin", "marketer", "it_steward", "privacy_officer", "analyst", "liaison", "viewer"], AccessPolicy.RoleNames);
        Assert.Equal(AccessPolicy.RoleNames.Order(StringComparer.Ordinal), DefaultMatrix.Select(row => (string)row.Data.Item1).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void For_SeveralRoles_TakesTheMostPermissivePerClass()
    {
        var policy = AccessPolicy.Default;
        Assert.Equal(Exposure.Masked, policy.For(["viewer", "marketer"], PiiClass.Yellow));
        Assert.Equal(Exposure.Hidden, policy.For(["viewer", "marketer"], PiiClass.Red));
        Assert.Equal(Exposure.Full, policy.For(["marketer", "admin"], PiiClass.Yellow));
        Assert.Equal(Exposure.Masked, policy.For(["marketer", "admin"], PiiClass.Red));
        Assert.Equal(Exposure.Full, policy.For(["admin", "privacy_officer"], PiiClass.Red));
        Assert.Equal(Exposure.Full, policy.For(["privacy_officer", "viewer"], PiiClass.Red));
    }

    [Fact]
    public void For_NoKnownRole_ShowsGreenOnly()
    {
        var policy = AccessPolicy.Default;
        foreach (string[] roles in new[] { Array.Empty<string>(), ["intern"], ["Admin"], ["ADMIN", "owner"] })
        {
            Assert.Equal(Exposure.Full, policy.For(roles, PiiClass.Green));
            Assert.Equal(Exposure.Hidden, policy.For(roles, PiiClass.Yellow));
            Assert.Equal(Exposure.Hidden, policy.For(roles, PiiClass.Red));
        }
    }

    [Fact]
    public void For_UnknownRoleBesideAKnownOne_IsIgnored()
    {
        Assert.Equal(Exposure.Masked, AccessPolicy.Default.For(["intern", "marketer"], PiiClass.Yellow));
    }

    [Fact]
    public void With_ChangesOneCell_AndLeavesTheOriginalAlone()
    {
        var changed = AccessPolicy.Default.With("marketer", PiiClass.Yellow, Exposure.Full);

        Assert.Equal(Exposure.Full, changed.For(["marketer"], PiiClass.Yellow));
        Assert.Equal(Exposure.Hidden, changed.For(["marketer"], PiiClass.Red));
        Assert.Equal(Exposure.Masked, changed.For(["analyst"], PiiClass.Yellow));
        Assert.Equal(Exposure.Masked, AccessPolicy.Default.For(["marketer"], PiiClass.Yellow));
        Assert.Equal(DefaultJson, AccessPolicy.Default.ToJson());
    }

    [Fact]
    public void With_RaiseYellowThenRed_LetsAViewerSeeEverything()
    {
        var changed = AccessPolicy.Default
            .With("viewer", PiiClass.Yellow, Exposure.Full)
            .With("viewer", PiiClass.Red, Exposure.Full);

        Assert.Equal(Exposure.Full, changed.For(["viewer"], PiiClass.Red));
    }

    [Fact]
    public void With_UnknownRole_SaysWhichRolesExist()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("intern", PiiClass.Yellow, Exposure.Full));
        Assert.Equal("role", ex.ParamName);
        Assert.StartsWith("Unknown role \"intern\". The roles are admin, marketer, it_steward, privacy_officer, analyst, liaison and viewer.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_RoleInTheWrongCase_SuggestsTheRightName()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("Privacy-Officer", PiiClass.Red, Exposure.Full));
        Assert.StartsWith("Unknown role \"Privacy-Officer\" (did you mean \"privacy_officer\"?).", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_GreenNotFull_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("viewer", PiiClass.Green, Exposure.Hidden));
        Assert.StartsWith("Set viewer.green to \"full\" or leave it out: green data is not personal", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_RedAboveYellow_IsRefusedNamingTheRedCell()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("marketer", PiiClass.Red, Exposure.Full));
        Assert.StartsWith(
            "marketer.red (\"full\") shows more than marketer.yellow (\"masked\"), and red data is never shown more than yellow. Set marketer.red to \"masked\" or \"hidden\", or raise marketer.yellow first.",
            ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_YellowBelowRed_IsRefusedNamingTheYellowCell()
    {
        var ex = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("admin", PiiClass.Yellow, Exposure.Hidden));
        Assert.StartsWith(
            "admin.yellow (\"hidden\") shows less than admin.red (\"masked\"), and red data is never shown more than yellow. Set admin.yellow to \"full\" or \"masked\", or lower admin.red first.",
            ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_UndefinedClassOrExposure_IsRefused()
    {
        var pii = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("admin", (PiiClass)7, Exposure.Full));
        Assert.Equal("pii", pii.ParamName);
        Assert.StartsWith("PII class 7 is not defined; use green, yellow or red.", pii.Message, StringComparison.Ordinal);

        var exposure = Assert.Throws<ArgumentException>(() => AccessPolicy.Default.With("admin", PiiClass.Red, (Exposure)9));
        Assert.Equal("exposure", exposure.ParamName);
        Assert.StartsWith("Exposure 9 is not defined; set admin.red to \"full\", \"masked\" or \"hidden\".", exposure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_DefaultPolicy_ListsEveryRoleAndClass()
    {
        Assert.Equal(DefaultJson, AccessPolicy.Default.ToJson());
    }

    [Fact]
    public void TryParse_ItsOwnJson_RoundTrips()
    {
        var changed = AccessPolicy.Default.With("liaison", PiiClass.Yellow, Exposure.Hidden).With("admin", PiiClass.Red, Exposure.Full);

        Assert.True(AccessPolicy.TryParse(changed.ToJson(), out var parsed, out var errors));
        Assert.Empty(errors);
        Assert.Equal(changed.ToJson(), parsed.ToJson());
        Assert.Equal(Exposure.Hidden, parsed.For(["liaison"], PiiClass.Yellow));
        Assert.Equal(Exposure.Full, parsed.For(["admin"], PiiClass.Red));
    }

    [Fact]
    public void TryParse_PartialDocument_FillsTheRestFromTheDefaults()
    {
        Assert.True(AccessPolicy.TryParse("""{"marketer":{"yellow":"full"},"viewer":{}}""", out var parsed, out _));

        Assert.Equal(AccessPolicy.Default.With("marketer", PiiClass.Yellow, Exposure.Full).ToJson(), parsed.ToJson());
    }

    [Fact]
    public void TryParse_EmptyObject_IsTheDefaultPolicy()
    {
        Assert.True(AccessPolicy.TryParse("{}", out var parsed, out _));
        Assert.Equal(DefaultJson, parsed.ToJson());
    }

    public static TheoryData<string, string, string> BadDocuments => new()
    {
        { """{"admin":""", "$", "The policy is not valid JSON (line 1, byte 10). Send an object keyed by role" },
        { "", "$", "The policy is not valid JSON" },
        { "[]", "$", "The policy is a JSON object keyed by role, such as {\"marketer\":{\"yellow\":\"masked\",\"red\":\"hidden\"}}; got an array." },
        { "null", "$", "The policy is a JSON object keyed by role, such as {\"marketer\":{\"yellow\":\"masked\",\"red\":\"hidden\"}}; got null." },
        { """{"intern":{}}""", "intern", "Unknown role \"intern\". The roles are admin, marketer, it_steward, privacy_officer, analyst, liaison and viewer." },
        { """{"Marketer":{}}""", "Marketer", "Unknown role \"Marketer\" (did you mean \"marketer\"?). The roles are" },
        { """{"admin":{},"admin":{}}""", "admin", "\"admin\" appears more than once; keep one." },
        { """{"marketer":"masked"}""", "marketer", "Give the marketer rules as an object, such as {\"green\":\"full\",\"yellow\":\"masked\",\"red\":\"hidden\"}; got a string." },
        { """{"marketer":{"purple":"full"}}""", "marketer.purple", "Unknown class \"purple\". The classes are green, yellow and red." },
        { """{"marketer":{"Red":"hidden"}}""", "marketer.Red", "Unknown class \"Red\" (did you mean \"red\"?). The classes are green, yellow and red." },
        { """{"marketer":{"red":"hidden","red":"masked"}}""", "marketer.red", "\"red\" appears more than once in marketer; keep one." },
        { """{"marketer":{"red":0}}""", "marketer.red", "Set marketer.red to \"full\", \"masked\" or \"hidden\"; got a number." },
        { """{"marketer":{"red":"visible"}}""", "marketer.red", "Unknown exposure \"visible\". Set marketer.red to \"full\", \"masked\" or \"hidden\"." },
        { """{"marketer":{"red":"Hidden"}}""", "marketer.red", "Unknown exposure \"Hidden\" (did you mean \"hidden\"?). Set marketer.red to" },
        { """{"viewer":{"green":"masked"}}""", "viewer.green", "Set viewer.green to \"full\" or leave it out: green data is not personal and every role sees it in full. To restrict a field, classify it yellow or red." },
        { """{"marketer":{"red":"full"}}""", "marketer.red", "marketer.red (\"full\") shows more than marketer.yellow (\"masked\")" },
        { """{"viewer":{"yellow":"masked","red":"full"}}""", "viewer.red", "viewer.red (\"full\") shows more than viewer.yellow (\"masked\"), and red data is never shown more than yellow. Set viewer.red to \"masked\" or \"hidden\", or raise viewer.yellow first." },
        { """{"admin":{"yellow":"hidden"}}""", "admin.yellow", "admin.yellow (\"hidden\") shows less than admin.red (\"masked\"), and red data is never shown more than yellow. Set admin.yellow to \"full\" or \"masked\", or lower admin.red first." },
    };

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void TryParse_BadDocument_NamesTheFieldAndTheFix(string json, string field, string detailStart)
    {
        Assert.False(AccessPolicy.TryParse(json, out var policy, out var errors));
        Assert.Null(policy);
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        Assert.StartsWith(detailStart, error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsEveryOne()
    {
        const string json = """
            {
              "admin": {"red": "full"},
              "marketer": {"yellow": "visible", "red": 1},
              "intern": {"red": "full"},
              "analyst": {"purple": "full", "green": "hidden"},
              "viewer": {"yellow": "masked", "red": "full"},
              "liaison": []
            }
            """;

        Assert.False(AccessPolicy.TryParse(json, out _, out var errors));

        Assert.Equal(
            ["marketer.yellow", "marketer.red", "intern", "analyst.purple", "analyst.green", "viewer.red", "liaison"],
            errors.Select(e => e.Field));
    }

    [Fact]
    public void Enums_SerializeWithLowercaseNames()
    {
        Assert.Equal("\"green\"", JsonSerializer.Serialize(PiiClass.Green));
        Assert.Equal("\"yellow\"", JsonSerializer.Serialize(PiiClass.Yellow));
        Assert.Equal("\"red\"", JsonSerializer.Serialize(PiiClass.Red));
        Assert.Equal("\"hidden\"", JsonSerializer.Serialize(Exposure.Hidden));
        Assert.Equal("\"masked\"", JsonSerializer.Serialize(Exposure.Masked));
        Assert.Equal("\"full\"", JsonSerializer.Serialize(Exposure.Full));
        Assert.Equal(PiiClass.Red, JsonSerializer.Deserialize<PiiClass>("\"red\""));
        Assert.Equal(Exposure.Masked, JsonSerializer.Deserialize<Exposure>("\"masked\"", JsonSerializerOptions.Web));
    }

    [Fact]
    public void Exposure_IsOrderedFromHiddenToFull()
    {
        Assert.True(Exposure.Hidden < Exposure.Masked);
        Assert.True(Exposure.Masked < Exposure.Full);
        Assert.True(PiiClass.Green < PiiClass.Yellow);
        Assert.True(PiiClass.Yellow < PiiClass.Red);
    }
}
