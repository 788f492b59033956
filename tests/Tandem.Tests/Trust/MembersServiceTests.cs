using Tandem.Hosting;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The member rules without HTTP, as the API and the console both rely on them: an admin adds and
/// changes members, a caller never grants more than it holds, and the workspace always keeps an admin.
/// </summary>
[Collection(nameof(TrustWorkspace))]
public sealed class MembersServiceTests : IDisposable
{
    private readonly TrustWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void Create_WithoutPassword_GeneratesOneThatSignsInAndAuditsTheMember()
    {
        var admin = _workspace.FirstAdminToken();

        var created = _workspace.Members.Create(admin, new NewMember(" ada@example.com ", " Ada ", [Roles.Marketer, Roles.Marketer], null));

        var member = created.Value!.Member;
        Assert.Equal(("ada@example.com", "Ada"), (member.Email, member.Name));
        Assert.Equal([Roles.Marketer], member.Roles);
        Assert.Equal(20, created.Value.GeneratedPassword!.Length);
        Assert.True(_workspace.Sessions.SignIn("ada@example.com", created.Value.GeneratedPassword, "10.0.0.1").Succeeded);
        var record = Assert.Single(_workspace.Audited("member.create"));
        Assert.Equal(("token:tok_admin", "member:" + member.Id), (record.Actor, record.Target));
        Assert.Equal("ada@example.com", (string?)record.After!["email"]);
    }

    [Fact]
    public void Create_EmailOfAnotherMember_IsRefusedAsAConflictAndNotAudited()
    {
        var admin = _workspace.FirstAdminToken();
        _workspace.AddMember("ada@example.com", Roles.Viewer);

        var refusal = _workspace.Members.Create(admin, new NewMember("ADA@example.com", "Ada again", [Roles.Viewer], null)).Refusal;

        Assert.Equal((RefusalKind.Conflict, "email_taken", "email"), (refusal!.Kind, refusal.Code, refusal.Field));
        Assert.Empty(_workspace.Audited("member.create"));
    }

    [Theory]
    [InlineData("not an email", "Ada", "viewer", "invalid_email", "email")]
    [InlineData("ada@example.com", " ", "viewer", "invalid_name", "name")]
    [InlineData("ada@example.com", "Ada", "", "roles_required", "roles")]
    [InlineData("ada@example.com", "Ada", "owner", "unknown_role", "roles[0]")]
    public void Create_InvalidField_IsRefusedNamingTheField(string email, string name, string role, string code, string field)
    {
        var request = new NewMember(email, name, role.Length == 0 ? [] : [role], null);

        var refusal = _workspace.Members.Create(_workspace.FirstAdminToken(), request).Refusal;

        Assert.Equal((RefusalKind.Invalid, code, field), (refusal!.Kind, refusal.Code, refusal.Field));
        Assert.Empty(_workspace.Registry.All);
    }

    [Fact]
    public void Create_WeakPassword_IsRefusedAndOffersAGeneratedOne()
    {
        var refusal = _workspace.Members.Create(_workspace.FirstAdminToken(), new NewMember("ada@example.com", "Ada", [Roles.Viewer], "password")).Refusal;

        Assert.Equal(("weak_password", "password"), (refusal!.Code, refusal.Field));
        Assert.Contains("leave the password out", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RoleBringingScopesTheCallerLacks_IsForbiddenAndListsThem()
    {
        var caller = TrustWorkspace.TokenCaller("tok_hr", Scopes.MembersRead, Scopes.MembersWrite);

        var refusal = _workspace.Members.Create(caller, new NewMember("ada@example.com", "Ada", [Roles.Marketer], null)).Refusal;

        Assert.Equal((RefusalKind.Forbidden, "role_not_held"), (refusal!.Kind, refusal.Code));
        var lacking = Roles.ScopesFor([Roles.Marketer]).Where(s => !caller.Holds(s)).Order(StringComparer.Ordinal);
        Assert.Equal(lacking, Assert.IsType<string[]>(refusal.Extensions!["scopes"]));
        Assert.Empty(_workspace.Registry.All);
    }

    [Fact]
    public void Update_TheCallerDemotingThemselvesAsLastAdmin_IsRefusedAndChangesNothing()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);

        var refusal = _workspace.Members.Update(TrustWorkspace.SessionOf(ada), ada.Id, new MemberPatch(null, [Roles.Viewer], null)).Refusal;

        Assert.Equal((RefusalKind.Conflict, "last_admin"), (refusal!.Kind, refusal.Code));
        Assert.Contains("yourself", refusal.Detail, StringComparison.Ordinal);
        Assert.True(_workspace.Registry.Find(ada.Id)!.IsActiveAdmin);
    }

    [Fact]
    public void Update_DisablingTheLastAdmin_IsRefusedNamingThem()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);

        var refusal = _workspace.Members.Update(_workspace.FirstAdminToken(), ada.Id, new MemberPatch(null, null, Disabled: true)).Refusal;

        Assert.Equal("last_admin", refusal!.Code);
        Assert.Contains("ada@example.com", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_AdminDemotedWhileAnotherRemains_IsSavedAndAuditedWithBeforeAndAfter()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);
        _workspace.AddMember("grace@example.com", Roles.Admin);

        var updated = _workspace.Members.Update(TrustWorkspace.SessionOf(ada), ada.Id, new MemberPatch("Ada L.", [Roles.Analyst], null)).Value!;

        Assert.Equal(("Ada L.", Roles.Analyst), (updated.Name, Assert.Single(updated.Roles)));
        var record = Assert.Single(_workspace.Audited("member.update"));
        Assert.Equal("admin", (string?)record.Before!["roles"]![0]);
        Assert.Equal("analyst", (string?)record.After!["roles"]![0]);
    }

    [Fact]
    public void Update_NothingSent_IsRefusedBeforeTheMemberIsLookedUp()
    {
        var refusal = _workspace.Members.Update(_workspace.FirstAdminToken(), "mbr_nobody", new MemberPatch(null, null, null)).Refusal;

        Assert.Equal((RefusalKind.Invalid, "nothing_to_change"), (refusal!.Kind, refusal.Code));
    }

    [Fact]
    public void Update_UnknownMember_IsNotFound()
    {
        var refusal = _workspace.Members.Update(_workspace.FirstAdminToken(), "mbr_nobody", new MemberPatch("X", null, null)).Refusal;

        Assert.Equal((RefusalKind.NotFound, "Member not found"), (refusal!.Kind, refusal.Title));
    }

    [Fact]
    public void Update_TwoAdminsDemotingEachOtherAtOnce_LeavesOneAdmin()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);
        var grace = _workspace.AddMember("grace@example.com", Roles.Admin);
        using var start = new Barrier(2);

        var outcomes = new[] { (ada, grace), (grace, ada) }.AsParallel().WithDegreeOfParallelism(2).Select(pair =>
        {
            start.SignalAndWait();
            return _workspace.Members.Update(TrustWorkspace.SessionOf(pair.Item1), pair.Item2.Id, new MemberPatch(null, [Roles.Viewer], null));
        }).ToArray();

        Assert.Single(outcomes, o => o.Succeeded);
        Assert.Single(_workspace.Registry.All, m => m.IsActiveAdmin);
    }

    [Fact]
    public void Remove_Member_RevokesTheirTokensAndAuditsHowMany()
    {
        var admin = _workspace.FirstAdminToken();
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        _workspace.Tokens.Create("laptop", ada.Id, [Scopes.ProfilesRead], null);
        _workspace.Tokens.Create("notebook", ada.Id, [Scopes.ProfilesRead], null);

        var revoked = _workspace.Members.Remove(admin, ada.Id);

        Assert.Equal(2, revoked.Value);
        Assert.Null(_workspace.Registry.Find(ada.Id));
        Assert.All(_workspace.Tokens.List(ada.Id), t => Assert.NotNull(t.RevokedAt));
        Assert.Equal("2 API token(s) revoked with the member", Assert.Single(_workspace.Audited("member.remove")).Detail);
    }

    [Fact]
    public void Remove_LastAdmin_IsRefusedAndKeepsTheirTokens()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);
        _workspace.Tokens.Create("laptop", ada.Id, [Scopes.All], null);

        var refusal = _workspace.Members.Remove(_workspace.FirstAdminToken(), ada.Id).Refusal;

        Assert.Equal("last_admin", refusal!.Code);
        Assert.NotNull(_workspace.Registry.Find(ada.Id));
        Assert.All(_workspace.Tokens.List(ada.Id), t => Assert.Null(t.RevokedAt));
    }

    [Fact]
    public void ResetPassword_WithoutOne_GeneratesAPasswordThatLiftsALockout()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Viewer);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            _workspace.Sessions.SignIn("ada@example.com", "wrong password " + i, "10.0.0.1");
        }

        var reset = _workspace.Members.ResetPassword(_workspace.FirstAdminToken(), ada.Id, null);

        Assert.True(_workspace.Sessions.SignIn("ada@example.com", reset.Value!.GeneratedPassword, "10.0.0.1").Succeeded);
        Assert.Equal("generated", Assert.Single(_workspace.Audited("member.password_reset")).Detail);
    }

    [Fact]
    public void ResetPassword_OfAnAdminByACallerWithoutTheirScopes_IsForbidden()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Admin);
        var caller = TrustWorkspace.TokenCaller("tok_hr", Scopes.MembersWrite);

        var refusal = _workspace.Members.ResetPassword(caller, ada.Id, "a new passphrase of words").Refusal;

        Assert.Equal("role_not_held", refusal!.Code);
        Assert.True(_workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, "10.0.0.1").Succeeded);
    }
}
