using Tandem.Trust;

namespace Tandem.Storage;

/// <summary>What is kept of a member's local account beside the member: never shown, read only to check a password.</summary>
/// <param name="PasswordHash">The salted hash; null when the row has none.</param>
/// <param name="FailedSignIns">Wrong passwords in a row, from all addresses.</param>
/// <param name="LockedUntil">Until when the account is locked for everyone; null when it is not.</param>
public readonly record struct MemberSecrets(string? PasswordHash, int FailedSignIns, DateTimeOffset? LockedUntil);

/// <summary>
/// The members' storage port: one row per member and its local account. The rules (unique email,
/// last admin, lockout) are <c>MemberRegistry</c>'s; each method here is one write.
/// </summary>
public interface IMemberStore
{
    IReadOnlyList<Member> LoadAll();

    void Insert(Member member, string passwordHash);

    /// <summary>Writes name, roles, disabled and the update time.</summary>
    void Update(Member member);

    /// <summary>False when there was no such member.</summary>
    bool Delete(string id);

    /// <summary>A new password: the hash replaced, failures and lock cleared.</summary>
    void ResetPassword(string id, string passwordHash);

    /// <summary>The same password hashed again (a newer hasher): nothing else changes.</summary>
    void Rehash(string id, string passwordHash);

    void SetSessionStamp(string id, string stamp);

    /// <summary>The account's secrets; empty ones when there is no such member.</summary>
    MemberSecrets ReadSecrets(string id);

    void WriteFailures(string id, int failed, DateTimeOffset? lockedUntil);
}
