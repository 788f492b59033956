using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// How a caller names a customer, <c>type:value</c> (docs/unify.md, Profile API; docs/privacy.md,
/// privacy requests): read once here for the Profile API, privacy requests and consent.
/// </summary>
public sealed class ProfileKeyTests
{
    private static readonly IdentityRules Rules = new([
        .. IdentityRules.DefaultTypes,
        new IdentifierType("crm_id", 5, 5, BlockedValues: ["test-account"]),
    ]);

    [Theory]
    [InlineData("user_id:42", "user_id", "42")]
    [InlineData("email:ada@example.com", "email", "ada@example.com")]
    [InlineData("crm_id:a:b", "crm_id", "a:b")]
    [InlineData("profile_id:prf_00000001", "profile_id", "prf_00000001")]
    public void TryParse_SplitsAtTheFirstColon(string text, string type, string value)
    {
        Assert.True(ProfileKey.TryParse(text, out var key));
        Assert.Equal(new ProfileKey(type, value), key);
        Assert.Equal(text, key.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ada@example.com")]
    [InlineData(":42")]
    [InlineData("user_id:")]
    [InlineData(":")]
    public void TryParse_WithoutBothParts_IsRefused_AndLeavesBothEmpty(string text)
    {
        Assert.False(ProfileKey.TryParse(text, out var key));
        Assert.Equal(new ProfileKey("", ""), key);
    }

    [Theory]
    [InlineData("user_id:a%2Fb", "a/b")]
    [InlineData("user_id:a%2fb%2F", "a/b/")]
    [InlineData("user_id:a/b", "a/b")]
    [InlineData("user_id:100%", "100%")]
    public void TryParsePathSegment_TurnsTheEncodedSlashThatRoutingLeaves_IntoASlash(string segment, string value)
    {
        Assert.True(ProfileKey.TryParsePathSegment(segment, out var key));
        Assert.Equal(new ProfileKey("user_id", value), key);
    }

    [Fact]
    public void TryParse_OfABodyValue_KeepsAnEncodedSlashAsSent()
    {
        Assert.True(ProfileKey.TryParse("user_id:a%2Fb", out var key));
        Assert.Equal("a%2Fb", key.Value);
    }

    [Fact]
    public void AProfileId_IsNoIdentifierType_AndPassesTheRulesAsItIs()
    {
        var key = ProfileKey.ForProfileId("prf_00000007");

        Assert.True(key.IsProfileId);
        Assert.Equal("profile_id:prf_00000007", key.ToString());
        Assert.Null(Rules.Find("profile_id"));
        Assert.Equal(KeyCheck.Ok, key.Check(Rules, out var identifier));
        Assert.Equal(new Identifier("profile_id", "prf_00000007"), identifier);
    }

    [Fact]
    public void Check_GivesTheIdentifierAsProfilesKeepIt()
    {
        Assert.Equal(KeyCheck.Ok, new ProfileKey("email", " Ada@Example.COM ").Check(Rules, out var email));
        Assert.Equal(new Identifier("email", "ada@example.com"), email);
        Assert.Equal(KeyCheck.Ok, new ProfileKey("crm_id", "003XYZ").Check(Rules, out var crm));
        Assert.Equal(new Identifier("crm_id", "003XYZ"), crm);
    }

    [Fact]
    public void Check_OfATypeTheWorkspaceDoesNotHave_IsUnknownType()
    {
        Assert.Equal(KeyCheck.UnknownType, new ProfileKey("hubspot_id", "1").Check(Rules, out _));
        Assert.Equal(KeyCheck.UnknownType, new ProfileKey("Email", "ada@example.com").Check(Rules, out _));
    }

    [Theory]
    [InlineData("user_id", "null")]
    [InlineData("email", " Unknown ")]
    [InlineData("crm_id", "test-account")]
    [InlineData("user_id", "line\nbreak")]
    public void Check_OfAValueNoIdentifierMayTake_IsBlocked(string type, string value)
    {
        Assert.Equal(KeyCheck.Blocked, new ProfileKey(type, value).Check(Rules, out _));
    }

    [Fact]
    public void Masked_ShowsEnoughToRecogniseThePerson_AndAProfileIdAsItIs()
    {
        Assert.Equal("email:j***@example.com", new ProfileKey("email", "jane@example.com").Masked());
        Assert.Equal("user_id:a***", new ProfileKey("user_id", "ada-1").Masked());
        Assert.Equal("profile_id:prf_00000007", ProfileKey.ForProfileId("prf_00000007").Masked());
    }
}
