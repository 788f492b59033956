using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>
/// The workspace always keeps a way to be managed: an active admin member or, without one, an active
/// owner-less admin token. Every change that could remove the last of them (a member demoted, disabled
/// or removed; a token revoked) decides and writes under <see cref="Changes"/>, one at a time, so two
/// such changes at once cannot both pass. One instance per workspace, shared by the members and tokens
/// services.
/// </summary>
internal sealed class AdminContinuity
{
    /// <summary>Held across the read, the check and the write of every change that can remove an admin.</summary>
    public Lock Changes { get; } = new();

    /// <summary>True when <paramref name="before"/> is the last active admin member and <paramref name="after"/> (null: removed) is not one.</summary>
    public static bool LeavesNoAdmin(IReadOnlyList<Member> members, Member before, Member? after) =>
        before.IsActiveAdmin && after?.IsActiveAdmin != true && !members.Any(m => m.Id != before.Id && m.IsActiveAdmin);

    /// <summary>
    /// Without an admin member, an owner-less all-scopes token (the first admin token) is the only way
    /// left to manage the workspace. Revoking takes the token's whole lineage with it, so an admin token
    /// minted from it does not count as another.
    /// </summary>
    public static bool IsLastAdminToken(ApiToken token, IReadOnlySet<string> lineage, IReadOnlyList<Member> members, IReadOnlyList<ApiToken> tokens, DateTimeOffset now) =>
        TokenRegistry.IsActiveAdmin(token, now)
        && !members.Any(m => m.IsActiveAdmin)
        && !tokens.Any(t => !lineage.Contains(t.Id) && TokenRegistry.IsActiveAdmin(t, now));

    public static Refusal LastAdminMember(string who) =>
        new(RefusalKind.Conflict, "last_admin", "This would leave no admin",
            $"This change would leave the workspace without an active admin member ({who} is the last one). Give another member the admin role first.", "roles");

    public static readonly Refusal LastAdminToken =
        new(RefusalKind.Conflict, "last_admin", "This would leave no admin",
            "This is the last admin token (with those it minted) and no member has the admin role. Add an admin member first (POST /api/v1/members with \"roles\":[\"admin\"]).", "id");
}
