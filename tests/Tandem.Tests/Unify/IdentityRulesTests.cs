using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>The identity rules on their own, as docs/unify.md states them ("Identifier types", "Blocked values").</summary>
public sealed class IdentityRulesTests
{
    // docs/unify.md: "Always blocked, whatever the type, compared without case: empty, null, undefined,
    // anonymous, 0, -1, nan, none, unknown."
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData("undefined")]
    [InlineData("anonymous")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("nan")]
    [InlineData("none")]
    [InlineData("unknown")]
    [InlineData(" NULL ")]
    [InlineData("Undefined")]
    [InlineData("NaN")]
    public void Normalize_AnAlwaysBlockedValue_IsNoIdentifier_ForEveryType(string value)
    {
        foreach (var type in new[] { "user_id", "anonymous_id", "email", "phone" })
        {
            Assert.Null(IdentityRules.Default.Normalize(type, value));
        }
    }

    [Fact]
    public void Normalize_AValueThatMerelyContainsABlockedWord_IsAnIdentifier()
    {
        Assert.Equal(new Identifier("user_id", "unknown-42"), IdentityRules.Default.Normalize("user_id", " unknown-42 "));
        Assert.Equal(new Identifier("email", "none@example.com"), IdentityRules.Default.Normalize("email", "None@Example.com"));
    }

    [Theory]
    [InlineData("\u0001ada")]
    [InlineData("ada\u0001")]
    [InlineData("a\u001fda")]
    public void Normalize_AValueHoldingAControlCharacter_IsNoIdentifier(string value)
    {
        Assert.Null(IdentityRules.Default.Normalize("user_id", value));
    }

    // docs/unify.md, Routes: "built-in ones can be changed but not removed (409)"; the built-in ones are the four defaults.
    [Theory]
    [InlineData("user_id", true)]
    [InlineData("anonymous_id", true)]
    [InlineData("email", true)]
    [InlineData("phone", true)]
    [InlineData("customer_id", false)]
    [InlineData("crm_id", false)]
    public void BuiltIn_IsExactlyTheFourDefaultTypes(string name, bool builtIn)
    {
        Assert.Equal(builtIn, new IdentifierType(name, 1, 1).BuiltIn);
    }

    [Fact]
    public void Types_AreListedStrongestPriorityFirst_ThenByName()
    {
        var rules = new IdentityRules(
        [
            new("zeta_id", 1, 20),
            new("anonymous_id", 5, 10),
            new("alpha_id", 1, 20),
            new("user_id", 1, 1),
        ]);

        Assert.Equal(["user_id", "anonymous_id", "alpha_id", "zeta_id"], rules.Types.Select(t => t.Name));
    }
}
