using System.Text;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// A value no Profile API path could carry (too long, or holding a control character) never becomes an
/// identifier: the event still reaches its customer by the identifiers that can.
/// </summary>
public sealed class UnaddressableIdentifierTests
{
    public static TheoryData<string> Emails => new()
    {
        new string('x', 1100) + "@example.com",
        new string('é', 507) + "@example.com", // 1,026 bytes of UTF-8 in 519 characters
        "ada\\u0000@example.com",
        "ada\\n@example.com",
    };

    [Theory]
    [MemberData(nameof(Emails))]
    public void Apply_EmailTraitNoPathCanCarry_IsNotLinkedButTheEventIsApplied(string email)
    {
        var engine = new ProfileEngine();

        var result = engine.Apply(1, 1, Encoding.UTF8.GetBytes($$"""{"type":"identify","userId":"u-1","traits":{"email":"{{email}}"},"messageId":"m"}"""));

        Assert.True(result.Attributed);
        var profile = engine.Find(new Identifier("user_id", "u-1"));
        Assert.NotNull(profile);
        Assert.DoesNotContain(profile.Identifiers, i => i.Identifier.Type == "email");
    }

    [Fact]
    public void Apply_EmailOfExactlyTheLimit_IsLinked()
    {
        var engine = new ProfileEngine();
        // The documented limit is 1,024 bytes of UTF-8: 506 two-byte characters and the 12 of "@example.com".
        var email = new string('é', 506) + "@example.com";
        Assert.Equal(1024, System.Text.Encoding.UTF8.GetByteCount(email));

        engine.Apply(1, 1, Encoding.UTF8.GetBytes($$"""{"type":"identify","userId":"u-1","traits":{"email":"{{email}}"},"messageId":"m"}"""));

        Assert.NotNull(engine.Find(new Identifier("email", email)));
    }
}
