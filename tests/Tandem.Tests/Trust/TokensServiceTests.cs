using Tandem.Hosting;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The token rules without HTTP: a token never holds more than its maker nor outlives a token that made
/// it, revoking takes what it minted, others' tokens need members:write, and the last way to manage the
/// workspace is never revoked.
/// </summary>
[Collection(nameof(TrustWorkspace))]
public sealed class TokensServiceTests : IDisposable
{
    private readonly TrustWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void Create_InSession_BelongsToTheMemberAndIsAudited()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);

        var issued = _workspace.TokensService.Create(TrustWorkspace.SessionOf(ada), new NewToken(" notebook ", [Scopes.ProfilesRead, Scopes.ProfilesRead], null, null)).Value!;

        Assert.Equal(("notebook", ada.Id, ada.Id), (issued.Token.Name, issued.Token.OwnerId, issued.Token.MakerId));
        Assert.Equal([Scopes.ProfilesRead], issued.Token.Scopes);
        Assert.Equal("active", issued.View.Status);
        Assert.StartsWith("tdm_", issued.Secret, StringComparison.Ordinal);
        Assert.Equal("token:" + issued.Token.Id, Assert.Single(_workspace.Audited("token.create")).Target);
    }

    [Fact]
    public void Create_ScopeTheCallerLacks_IsForbiddenAndListsIt()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);

        var refusal = _workspace.TokensService.Create(TrustWorkspace.SessionOf(ada), new NewToken("t", [Scopes.ProfilesRead, Scopes.MembersWrite], null, null)).Refusal;

        Assert.Equal((RefusalKind.Forbidden, "scope_not_held"), (refusal!.Kind, refusal.Code));
        Assert.Equal([Scopes.MembersWrite], Assert.IsType<string[]>(refusal.Extensions!["scopes"]));
        Assert.Empty(_workspace.Tokens.List(ada.Id));
    }

    [Fact]
    public void Create_ByATokenThatExpires_CannotOutliveIt()
    {
        var expiry = _workspace.Clock.GetUtcNow().AddHours(1);
        var caller = TrustWorkspace.TokenCaller("tok_parent", Scopes.All) with { TokenExpiry = expiry };

        var token = _workspace.TokensService.Create(caller, new NewToken("child", [Scopes.ProfilesRead], _workspace.Clock.GetUtcNow().AddDays(30), null)).Value!.Token;

        Assert.Equal(expiry, token.ExpiresAt);
        Assert.Equal("tok_parent", token.ParentId);
        Assert.Null(token.MakerId);
    }

    [Fact]
    public void Create_ExpiryAlreadyPassed_IsRefused()
    {
        var admin = _workspace.FirstAdminToken();
        var past = _workspace.Clock.GetUtcNow();

        var refusal = _workspace.TokensService.Create(admin, new NewToken("t", [Scopes.ProfilesRead], past, null)).Refusal;

        Assert.Equal(("expiry_in_past", "expiresAt"), (refusal!.Code, refusal.Field));
    }

    [Theory]
    [InlineData(null, "scopes_required", "scopes")]
    [InlineData("profiles:read,profiles:everything", "unknown_scope", "scopes[1]")]
    public void Create_ScopesMissingOrUnknown_IsRefusedNamingTheField(string? scopes, string code, string field)
    {
        var refusal = _workspace.TokensService.Create(_workspace.FirstAdminToken(), new NewToken("t", scopes?.Split(','), null, null)).Refusal;

        Assert.Equal((RefusalKind.Invalid, code, field), (refusal!.Kind, refusal.Code, refusal.Field));
    }

    [Fact]
    public void Create_ForAnotherMember_NeedsMembersWriteAndAnExistingMember()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        var grace = _workspace.AddMember("grace@example.com", Roles.Analyst);

        var forGrace = _workspace.TokensService.Create(TrustWorkspace.SessionOf(ada), new NewToken("t", [Scopes.ProfilesRead], null, grace.Id)).Refusal;
        var forNobody = _workspace.TokensService.Create(_workspace.FirstAdminToken(), new NewToken("t", [Scopes.ProfilesRead], null, "mbr_nobody")).Refusal;

        Assert.Equal((RefusalKind.Forbidden, "missing_scope"), (forGrace!.Kind, forGrace.Code));
        Assert.Equal((RefusalKind.Invalid, "unknown_owner"), (forNobody!.Kind, forNobody.Code));
    }

    [Fact]
    public void List_WithoutOwner_IsTheCallersOwnAndOthersNeedMembersWrite()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        var grace = _workspace.AddMember("grace@example.com", Roles.Analyst);
        _workspace.Tokens.Create("ada's", ada.Id, [Scopes.ProfilesRead], null);
        _workspace.Tokens.Create("grace's", grace.Id, [Scopes.ProfilesRead], null);

        var own = _workspace.TokensService.List(TrustWorkspace.SessionOf(ada), null).Value!;
        var all = _workspace.TokensService.List(TrustWorkspace.SessionOf(ada), "all").Refusal;

        Assert.Equal("ada's", Assert.Single(own).Name);
        Assert.Equal("missing_scope", all!.Code);
        Assert.Equal(2, _workspace.TokensService.List(_workspace.FirstAdminToken(), "all").Value!.Count(t => t.OwnerId is not null));
    }

    [Fact]
    public void Revoke_ATokenThatMintedOthers_RevokesThemAllAndSaysSoInTheAudit()
    {
        var admin = _workspace.FirstAdminToken();
        _workspace.AddMember("ada@example.com", Roles.Admin);
        var parent = _workspace.TokensService.Create(admin, new NewToken("parent", [Scopes.ProfilesRead], null, null)).Value!.Token;
        var child = _workspace.TokensService.Create(TrustWorkspace.TokenCaller(parent.Id, Scopes.ProfilesRead), new NewToken("child", [Scopes.ProfilesRead], null, null)).Value!.Token;

        var revoked = _workspace.TokensService.Revoke(admin, parent.Id).Value!;

        Assert.Equal("revoked", revoked.Status);
        Assert.NotNull(_workspace.Tokens.Find(child.Id)!.RevokedAt);
        Assert.Equal($"with 1 token(s) it minted: {child.Id}", Assert.Single(_workspace.Audited("token.revoke")).Detail);
    }

    [Fact]
    public void Revoke_AnotherMembersTokenWithoutMembersWrite_IsForbidden()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        var grace = _workspace.AddMember("grace@example.com", Roles.Analyst);
        var (token, _) = _workspace.Tokens.Create("grace's", grace.Id, [Scopes.ProfilesRead], null);

        var refusal = _workspace.TokensService.Revoke(TrustWorkspace.SessionOf(ada), token.Id).Refusal;

        Assert.Equal("missing_scope", refusal!.Code);
        Assert.Null(_workspace.Tokens.Find(token.Id)!.RevokedAt);
    }

    [Fact]
    public void Revoke_TheLastAdminTokenWithNoAdminMember_IsRefused()
    {
        var admin = _workspace.FirstAdminToken();

        var refusal = _workspace.TokensService.Revoke(admin, TokenRegistry.FirstAdminTokenId).Refusal;

        Assert.Equal((RefusalKind.Conflict, "last_admin", "id"), (refusal!.Kind, refusal.Code, refusal.Field));
        Assert.Null(_workspace.Tokens.Find(TokenRegistry.FirstAdminTokenId)!.RevokedAt);
    }

    [Fact]
    public void Revoke_TheFirstAdminTokenWhoseAdminChildWouldGoWithIt_IsRefused()
    {
        var admin = _workspace.FirstAdminToken();
        var child = _workspace.TokensService.Create(admin, new NewToken("spare admin", [Scopes.All], null, null)).Value!.Token;

        var refusal = _workspace.TokensService.Revoke(admin, TokenRegistry.FirstAdminTokenId).Refusal;

        Assert.Equal("last_admin", refusal!.Code);
        Assert.Equal("tok_admin", child.ParentId);
    }

    [Fact]
    public void Revoke_TheFirstAdminTokenOnceAnAdminMemberExists_Succeeds()
    {
        var admin = _workspace.FirstAdminToken();
        _workspace.AddMember("ada@example.com", Roles.Admin);

        Assert.True(_workspace.TokensService.Revoke(admin, TokenRegistry.FirstAdminTokenId).Succeeded);
    }

    [Fact]
    public void Revoke_TheFirstAdminTokenWhileAnotherOwnerlessAdminTokenWorks_Succeeds()
    {
        var admin = _workspace.FirstAdminToken();
        var (spare, _) = _workspace.Tokens.Create("spare admin", null, [Scopes.All], null);

        Assert.True(_workspace.TokensService.Revoke(admin, TokenRegistry.FirstAdminTokenId).Succeeded);
        Assert.Equal("last_admin", _workspace.TokensService.Revoke(admin, spare.Id).Refusal!.Code);
    }
}
