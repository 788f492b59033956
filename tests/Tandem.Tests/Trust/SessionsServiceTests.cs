using Tandem.Hosting;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// Console sign-in without HTTP: the right password signs in and is audited, a wrong one (or a disabled
/// member's right one) reads the same, guessing locks the account to the address for a while, and
/// signing out or changing one's password ends every session.
/// </summary>
[Collection(nameof(TrustWorkspace))]
public sealed class SessionsServiceTests : IDisposable
{
    private const string Address = "203.0.113.7";
    private readonly TrustWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void SignIn_RightPassword_AnswersTheMemberAndAuditsFromWhere()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);

        var signedIn = _workspace.Sessions.SignIn(" ADA@example.com ", TrustWorkspace.Password, Address);

        Assert.Equal(ada.Id, signedIn.Value!.Id);
        var record = Assert.Single(_workspace.Audited("session.sign_in"));
        Assert.Equal(("member:" + ada.Id, $"from {Address}"), (record.Actor, record.Detail));
    }

    [Theory]
    [InlineData(null, "secret", "email")]
    [InlineData("  ", "secret", "email")]
    [InlineData("ada@example.com", "", "password")]
    public void SignIn_MissingCredentials_IsRefusedAndNotRecorded(string? email, string password, string field)
    {
        var refusal = _workspace.Sessions.SignIn(email, password, Address).Refusal;

        Assert.Equal((RefusalKind.Invalid, "credentials_required", field), (refusal!.Kind, refusal.Code, refusal.Field));
        Assert.Empty(_workspace.Audit.Query(new AuditQuery()).Records);
    }

    [Fact]
    public void SignIn_WrongPasswordAndDisabledMember_ReadTheSame()
    {
        _workspace.AddMember("ada@example.com", Roles.Analyst);
        var grace = _workspace.AddMember("grace@example.com", Roles.Analyst);
        _workspace.Registry.Update(grace with { Disabled = true });

        var wrong = _workspace.Sessions.SignIn("ada@example.com", "not the password", Address).Refusal!;
        var disabled = _workspace.Sessions.SignIn("grace@example.com", TrustWorkspace.Password, Address).Refusal!;

        Assert.Equal((RefusalKind.Unauthorized, "invalid_credentials"), (wrong.Kind, wrong.Code));
        Assert.Equal((wrong.Kind, wrong.Code, wrong.Title, wrong.Detail), (disabled.Kind, disabled.Code, disabled.Title, disabled.Detail));
        Assert.Equal(2, _workspace.Audited("session.sign_in_failed").Count);
    }

    [Fact]
    public void SignIn_AfterFiveWrongPasswordsFromOneAddress_IsLockedForFifteenMinutesThenWorks()
    {
        _workspace.AddMember("ada@example.com", Roles.Analyst);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            _workspace.Sessions.SignIn("ada@example.com", "guess " + i, Address);
        }

        var locked = _workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, Address).Refusal!;

        Assert.Equal((RefusalKind.Throttled, "account_locked"), (locked.Kind, locked.Code));
        Assert.Equal(_workspace.Clock.GetUtcNow() + MemberRegistry.LockoutDuration, locked.RetryAfter);
        _workspace.Clock.Advance(MemberRegistry.LockoutDuration);
        Assert.True(_workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, Address).Succeeded);
    }

    [Fact]
    public void SignIn_LockedToOneAddress_StillWorksFromAnother()
    {
        _workspace.AddMember("ada@example.com", Roles.Analyst);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            _workspace.Sessions.SignIn("ada@example.com", "guess " + i, Address);
        }

        Assert.True(_workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, "198.51.100.1").Succeeded);
    }

    [Fact]
    public void SignOut_Member_EndsEverySessionAndIsAudited()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        var stamp = _workspace.Registry.Find(ada.Id)!.SessionStamp;

        _workspace.Sessions.SignOut(TrustWorkspace.SessionOf(ada));

        Assert.NotEqual(stamp, _workspace.Registry.Find(ada.Id)!.SessionStamp);
        Assert.Equal("member:" + ada.Id, Assert.Single(_workspace.Audited("session.sign_out")).Target);
    }

    [Fact]
    public void ChangePassword_RightCurrentPassword_ReplacesItAndEndsSessions()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);
        var stamp = _workspace.Registry.Find(ada.Id)!.SessionStamp;

        var changed = _workspace.Sessions.ChangePassword(TrustWorkspace.SessionOf(ada), TrustWorkspace.Password, "a brand new passphrase here", Address);

        Assert.True(changed.Succeeded);
        Assert.NotEqual(stamp, _workspace.Registry.Find(ada.Id)!.SessionStamp);
        Assert.False(_workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, Address).Succeeded);
        Assert.True(_workspace.Sessions.SignIn("ada@example.com", "a brand new passphrase here", Address).Succeeded);
        Assert.Single(_workspace.Audited("member.password_change"));
    }

    [Fact]
    public void ChangePassword_WrongCurrentPassword_IsRefusedAndKeepsTheOldOne()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);

        var refusal = _workspace.Sessions.ChangePassword(TrustWorkspace.SessionOf(ada), "not it", "a brand new passphrase here", Address).Refusal;

        Assert.Equal(("wrong_current_password", "currentPassword"), (refusal!.Code, refusal.Field));
        Assert.True(_workspace.Sessions.SignIn("ada@example.com", TrustWorkspace.Password, Address).Succeeded);
    }

    [Fact]
    public void ChangePassword_WeakNewPassword_IsRefusedWithoutOfferingAGeneratedOne()
    {
        var ada = _workspace.AddMember("ada@example.com", Roles.Analyst);

        var refusal = _workspace.Sessions.ChangePassword(TrustWorkspace.SessionOf(ada), TrustWorkspace.Password, "short", Address).Refusal;

        Assert.Equal(("weak_password", "newPassword"), (refusal!.Code, refusal.Field));
        Assert.DoesNotContain("generated", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangePassword_TokenWithoutOwner_IsToldOnlyMembersHavePasswords()
    {
        var refusal = _workspace.Sessions.ChangePassword(_workspace.FirstAdminToken(), "x", "a brand new passphrase here", Address).Refusal;

        Assert.Equal(("not_a_member", "Authorization"), (refusal!.Code, refusal.Field));
    }
}
