namespace Tandem.Trust;

/// <summary>A person who works in the workspace, with the roles that decide what they may do.</summary>
/// <param name="SessionStamp">Changes when every console session of the member must end (sign-out, new password).</param>
public sealed record Member(string Id, string Email, string Name, IReadOnlyList<string> Roles, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    string SessionStamp = "")
{
    public IReadOnlySet<string> Scopes => Trust.Roles.ScopesFor(Roles);

    /// <summary>Can administer the workspace now: the last one may not be removed, demoted or disabled.</summary>
    public bool IsActiveAdmin => !Disabled && Roles.Contains(Trust.Roles.Admin);
}
