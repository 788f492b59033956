using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>
/// Console sign-in and what hangs on it: the checks on the credentials typed, the lockouts that bound
/// guessing (counted by <see cref="MemberRegistry"/>), the audit of each attempt, sign-out and one's own
/// password. Issuing and clearing the cookie stay with the API: they are the web framework's.
/// </summary>
internal sealed class SessionsService(MemberRegistry members, AuditLog audit, TrustMetrics metrics)
{
    /// <summary>Checks an email and password typed at sign-in; a success is audited, a refusal says why and, when locked, until when.</summary>
    /// <param name="address">The client's address: the lockouts count per address as well as per account.</param>
    public Outcome<Member> SignIn(string? email, string? password, string? address)
    {
        // Bounded before anything is hashed or recorded: the audit log keeps a keyed hash of each attempt's email.
        if (string.IsNullOrWhiteSpace(email) || email.Length > 254 || string.IsNullOrEmpty(password) || password.Length > PasswordRules.MaxLength)
        {
            return new Refusal(RefusalKind.Invalid, "credentials_required", "Email and password are required",
                "Send {\"email\": \"…\", \"password\": \"…\"}.", string.IsNullOrWhiteSpace(email) ? "email" : "password");
        }

        var result = members.SignIn(email.Trim(), password, address);
        if (result.Outcome == SignInOutcome.SignedIn)
        {
            var member = result.Member!;
            audit.Append("member:" + member.Id, "session.sign_in", "member:" + member.Id, detail: $"from {address}");
            return member;
        }

        // Wrong passwords are written one by one (the locks bound them); refusals while a lock holds
        // cost no hashing and are sampled per address, so the first, the lock's start, is written.
        audit.SignInRefused(result.Outcome, email, address);
        switch (result.Outcome)
        {
            case SignInOutcome.LockedOut:
                metrics.Throttled("account_locked");
                return new Refusal(RefusalKind.Throttled, "account_locked", "The account is locked",
                    $"Too many wrong passwords for this account ({MemberRegistry.MaxFailedSignIns} in a row from one address, or {MemberRegistry.MaxFailedSignInsPerAccount} from any). Try again after {result.LockedUntil:u}, or ask an admin to reset the password.",
                    "password", RetryAfter: result.LockedUntil);
            case SignInOutcome.AddressThrottled:
                metrics.Throttled("too_many_sign_in_attempts");
                return new Refusal(RefusalKind.Throttled, "too_many_sign_in_attempts", "Too many failed sign-ins from this address",
                    $"{MemberRegistry.MaxFailedSignInsPerAddress} sign-ins from your address failed within {MemberRegistry.LockoutDuration.TotalMinutes:N0} minutes, so it may not sign in to any account until {result.LockedUntil:u}.",
                    "email", RetryAfter: result.LockedUntil);
            default:
                // A disabled member is answered as a wrong password: the answer must not tell who exists.
                return new Refusal(RefusalKind.Unauthorized, "invalid_credentials", "Wrong email or password",
                    $"The email and password do not match an active member. After {MemberRegistry.MaxFailedSignIns} wrong passwords in a row from one address the account is locked to it for {MemberRegistry.LockoutDuration.TotalMinutes:N0} minutes.",
                    "password");
        }
    }

    /// <summary>The caller's member, when the caller is one (a token without an owner is not).</summary>
    public Member? MemberOf(Caller caller) => caller.MemberId is { } id ? members.Find(id) : null;

    /// <summary>
    /// Ends every session of the caller's member, not just the one asking: a copied cookie must not
    /// outlive a sign-out. A token signing out ends nothing, and is audited all the same.
    /// </summary>
    public void SignOut(Caller caller)
    {
        if (!caller.IsToken && caller.MemberId is { } id)
        {
            members.EndSessions(id);
        }

        audit.Record(caller.Actor, "session.sign_out", caller.Actor);
    }

    /// <summary>Who may change their own password: a member; a token without an owner has none.</summary>
    public Outcome<Member> PasswordHolder(Caller caller) =>
        MemberOf(caller) is { } member ? member
            : new Refusal(RefusalKind.Invalid, "not_a_member", "Only members have passwords",
                "This caller is an API token without an owner. Sign in as a member to change a password.", "Authorization");

    /// <summary>Changes the caller's own password after checking the current one; a wrong one counts towards the lockout.</summary>
    public Outcome<Member> ChangePassword(Caller caller, string? currentPassword, string? newPassword, string? address)
    {
        var holder = PasswordHolder(caller);
        if (holder.Value is not { } member)
        {
            return holder;
        }

        if (MemberFields.Password(newPassword, "newPassword") is { } invalid)
        {
            return invalid;
        }

        if (members.SignIn(member.Email, currentPassword ?? "", address).Outcome != SignInOutcome.SignedIn)
        {
            return new Refusal(RefusalKind.Invalid, "wrong_current_password", "The current password is wrong",
                "Send the current password as \"currentPassword\". Wrong attempts count towards the lockout.", "currentPassword");
        }

        members.SetPassword(member.Id, newPassword!);
        audit.Record(caller.Actor, "member.password_change", "member:" + member.Id);
        return member;
    }
}
