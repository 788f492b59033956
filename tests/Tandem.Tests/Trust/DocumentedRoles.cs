namespace Tandem.Tests.Trust;

/// <summary>
/// The role table of docs/trust.md "Members and roles", written out by hand. It is the oracle for the
/// role tests on purpose: taken from <c>Roles.ScopesOf</c>, a role that quietly gained a scope would be
/// expected to hold it. Change it only together with the doc.
/// </summary>
internal static class DocumentedRoles
{
    public static readonly IReadOnlyDictionary<string, string[]> ScopesOf = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["admin"] = ["*"],
        ["it_steward"] =
        [
            "sources:read", "sources:write", "events:read", "profiles:read", "identity:read", "identity:write",
            "traits:read", "members:read", "tokens:write", "audit:read", "plan:approve",
        ],
        ["marketer"] =
        [
            "sources:read", "events:read", "profiles:read", "identity:read", "traits:read", "traits:write",
            "members:read", "tokens:write", "plan:approve",
        ],
        ["privacy_officer"] =
        [
            "sources:read", "events:read", "profiles:read", "profiles:write", "identity:read", "traits:read",
            "members:read", "tokens:write", "audit:read", "privacy:admin",
        ],
        ["analyst"] = ["sources:read", "events:read", "profiles:read", "identity:read", "traits:read", "members:read", "tokens:write"],
        ["liaison"] = ["sources:read", "profiles:read", "identity:read", "traits:read", "members:read", "tokens:write"],
        ["viewer"] = ["sources:read", "identity:read", "traits:read", "members:read"],
    };

    /// <summary>A role's scopes in ordinal order, as the API lists them.</summary>
    public static string[] Sorted(string role) => [.. ScopesOf[role].Order(StringComparer.Ordinal)];
}
