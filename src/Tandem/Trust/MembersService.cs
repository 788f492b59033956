using Tandem.Hosting;
using static Tandem.Trust.TrustApi;

namespace Tandem.Trust;

/// <summary>A member as requested; each field is checked by the service, so any may be missing.</summary>
internal sealed record NewMember(string? Email, string? Name, string[]? Roles, string? Password);

/// <summary>The fields of a member to change; null leaves one as it is.</summary>
internal sealed record MemberPatch(string? Name, string[]? Roles, bool? Disabled);

/// <param name="GeneratedPassword">Set when none was sent: shown once to the caller, never stored in clear.</param>
internal sealed record CreatedMember(Member Member, string? GeneratedPassword);

/// <summary>
/// The rules of a workspace's members, whoever asks (the API today, the console next): what a member's
/// fields must be, that a caller grants or touches only roles whose scopes it holds, that the last
/// admin stays, and what the audit log records of each change.
/// </summary>
internal sealed class MembersService(MemberRegistry members, TokenRegistry tokens, AdminContinuity admins, AuditLog audit)
{
    public IReadOnlyList<Member> List() => members.All;

    public Member? Find(string id) => members.Find(id);

    public Outcome<CreatedMember> Create(Caller caller, NewMember request)
    {
        if ((MemberFields.Email(request.Email) ?? MemberFields.Name(request.Name, required: true) ?? MemberFields.RoleList(request.Roles, required: true)
            ?? (request.Password is null ? null : MemberFields.Password(request.Password, "password"))) is { } invalid)
        {
            return invalid;
        }

        if (MemberFields.RoleCeiling(caller, request.Roles!) is { } beyond)
        {
            return beyond;
        }

        var generated = request.Password is null ? MemberFields.NewPassword() : null;
        if (members.Add(request.Email!.Trim(), request.Name!.Trim(), MemberFields.Distinct(request.Roles!), request.Password ?? generated!) is not { } member)
        {
            return new Refusal(RefusalKind.Conflict, "email_taken", "A member has this email",
                $"'{request.Email}' already belongs to a member. Change that member's roles with PATCH /api/v1/members/{{id}} instead.", "email");
        }

        audit.Record(caller.Actor, "member.create", "member:" + member.Id, after: MemberView.From(member));
        return new CreatedMember(member, generated);
    }

    public Outcome<Member> Update(Caller caller, string id, MemberPatch patch)
    {
        if (patch.Name is null && patch.Roles is null && patch.Disabled is null)
        {
            return new Refusal(RefusalKind.Invalid, "nothing_to_change", "Nothing to change",
                "Send \"name\", \"roles\" (a list) and/or \"disabled\" (true or false).", "body");
        }

        if (((patch.Name is null ? null : MemberFields.Name(patch.Name, required: true)) ?? (patch.Roles is null ? null : MemberFields.RoleList(patch.Roles, required: true))) is { } invalid)
        {
            return invalid;
        }

        if (members.Find(id) is not { } member)
        {
            return Refusal.NotFound("Member", id);
        }

        if ((MemberFields.RoleCeiling(caller, member.Roles) ?? MemberFields.RoleCeiling(caller, patch.Roles ?? [])) is { } beyond)
        {
            return beyond;
        }

        Member updated;
        lock (admins.Changes)
        {
            // Read again under the lock: the check must see every change recorded before this one.
            member = members.Find(id) ?? member;
            var changed = member with
            {
                Name = patch.Name?.Trim() ?? member.Name,
                Roles = patch.Roles is null ? member.Roles : MemberFields.Distinct(patch.Roles),
                Disabled = patch.Disabled ?? member.Disabled,
            };
            if (AdminContinuity.LeavesNoAdmin(members.All, member, changed))
            {
                return AdminContinuity.LastAdminMember(member.Id == caller.MemberId ? "yourself" : member.Email);
            }

            updated = members.Update(changed);
        }

        audit.Record(caller.Actor, "member.update", "member:" + id, MemberView.From(member), MemberView.From(updated));
        return updated;
    }

    /// <summary>Removes a member and revokes their API tokens; answers how many tokens were revoked.</summary>
    public Outcome<int> Remove(Caller caller, string id)
    {
        if (members.Find(id) is not { } member)
        {
            return Refusal.NotFound("Member", id);
        }

        if (MemberFields.RoleCeiling(caller, member.Roles) is { } beyond)
        {
            return beyond;
        }

        int revoked;
        lock (admins.Changes)
        {
            if (AdminContinuity.LeavesNoAdmin(members.All, member, null))
            {
                return AdminContinuity.LastAdminMember(member.Id == caller.MemberId ? "yourself" : member.Email);
            }

            // Tokens first: a crash between the two leaves a member without tokens, not tokens without a member.
            revoked = tokens.RevokeAllOf(id);
            members.Remove(id);
        }

        audit.Record(caller.Actor, "member.remove", "member:" + id, before: MemberView.From(member), detail: $"{revoked} API token(s) revoked with the member");
        return revoked;
    }

    /// <summary>Sets a member's password (generated when <paramref name="password"/> is null, and answered) and lifts a lockout.</summary>
    public Outcome<PasswordReset> ResetPassword(Caller caller, string id, string? password)
    {
        if (password is not null && MemberFields.Password(password, "password") is { } invalid)
        {
            return invalid;
        }

        if (members.Find(id) is not { } member)
        {
            return Refusal.NotFound("Member", id);
        }

        // Setting someone's password is signing in as them: only for callers who hold all they hold.
        if (MemberFields.RoleCeiling(caller, member.Roles) is { } beyond)
        {
            return beyond;
        }

        var generated = password is null ? MemberFields.NewPassword() : null;
        members.SetPassword(id, password ?? generated!);
        audit.Record(caller.Actor, "member.password_reset", "member:" + id, detail: generated is null ? "set by the caller" : "generated");
        return new PasswordReset(generated);
    }
}

/// <param name="GeneratedPassword">The password the service chose, to show once; null when the caller sent one.</param>
internal sealed record PasswordReset(string? GeneratedPassword);
