using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>A policy document whose rule is not a string says what it got, in the words docs/pii.md's errors use.</summary>
public sealed class PolicyDocumentTests
{
    [Theory]
    [InlineData("""{"marketer":{"yellow":{}}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got an object.")]
    [InlineData("""{"marketer":{"yellow":[]}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got an array.")]
    [InlineData("""{"marketer":{"yellow":true}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got a boolean.")]
    [InlineData("""{"marketer":{"yellow":false}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got a boolean.")]
    [InlineData("""{"marketer":{"yellow":3}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got a number.")]
    [InlineData("""{"marketer":{"yellow":null}}""", "Set marketer.yellow to \"full\", \"masked\" or \"hidden\"; got null.")]
    public void Rule_OfTheWrongKind_SaysWhatItGot(string json, string detail)
    {
        Assert.False(AccessPolicy.TryParse(json, out _, out var errors));
        var error = Assert.Single(errors);
        Assert.Equal("marketer.yellow", error.Field);
        Assert.Equal(detail, error.Detail);
    }
}
