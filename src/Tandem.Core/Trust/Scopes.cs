using System.Collections.Frozen;

namespace Tandem.Trust;

/// <summary>
/// What a caller may do, one scope per kind of act. Every route names exactly one scope (or says it
/// is public, or open to anyone signed in); a member holds the scopes of their roles, and an API token
/// holds the scopes it was given, never more than its owner's.
/// </summary>
public static class Scopes
{
    /// <summary>Every scope: held only by the first admin token and by members with the admin role.</summary>
    public const string All = "*";

    public const string SourcesRead = "sources:read";
    public const string SourcesWrite = "sources:write";
    public const string EventsRead = "events:read";
    public const string ProfilesRead = "profiles:read";
    public const string ProfilesWrite = "profiles:write";
    public const string IdentityRead = "identity:read";
    public const string IdentityWrite = "identity:write";
    public const string TraitsRead = "traits:read";
    public const string TraitsWrite = "traits:write";
    public const string MembersRead = "members:read";
    public const string MembersWrite = "members:write";
    public const string TokensWrite = "tokens:write";
    public const string AuditRead = "audit:read";
    public const string PolicyWrite = "policy:write";
    public const string PrivacyAdmin = "privacy:admin";
    public const string PlanApprove = "plan:approve";

    /// <summary>The catalog, with what each scope allows (served at <c>GET /api/v1/scopes</c>).</summary>
    public static readonly FrozenDictionary<string, string> Catalog = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [SourcesRead] = "List sources and their settings",
        [SourcesWrite] = "Create, rename, disable sources and rotate their write keys",
        [EventsRead] = "Read stored events and refused events of a source (the live debugger)",
        [ProfilesRead] = "Read customer profiles: the Profile API, search, merges, accounts",
        [ProfilesWrite] = "Record consent on a profile",
        [IdentityRead] = "Read identifier types and the profile processor's status",
        [IdentityWrite] = "Change identifier types: limits, priorities, blocked values",
        [TraitsRead] = "Read computed trait definitions",
        [TraitsWrite] = "Define and remove computed traits",
        [MembersRead] = "List members and their roles",
        [MembersWrite] = "Add, change and remove members; manage anyone's API tokens",
        [TokensWrite] = "Create and revoke one's own API tokens",
        [AuditRead] = "Read and verify the audit log",
        [PolicyWrite] = "Change the PII access policy and consent purposes",
        [PrivacyAdmin] = "File and run privacy requests (export, delete, suppress) and retention",
        [PlanApprove] = "Approve or reject tracking-plan changes",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool IsKnown(string scope) => scope == All || Catalog.ContainsKey(scope);
}

/// <summary>The roles a member can hold, and the scopes each role brings.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Marketer = "marketer";
    public const string ItSteward = "it_steward";
    public const string PrivacyOfficer = "privacy_officer";
    public const string Analyst = "analyst";
    public const string Liaison = "liaison";
    public const string Viewer = "viewer";

    /// <summary>Every role, in the order documents and answers list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Admin, Marketer, ItSteward, PrivacyOfficer, Analyst, Liaison, Viewer];

    private static readonly string[] Everyone = [Scopes.SourcesRead, Scopes.IdentityRead, Scopes.TraitsRead, Scopes.MembersRead];

    /// <summary>
    /// Marketing reads customers and shapes traits; IT runs sources and identity rules; the privacy
    /// officer handles consent and privacy requests; only an admin changes members or the policy.
    /// </summary>
    public static readonly FrozenDictionary<string, FrozenSet<string>> ScopesOf = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [Admin] = [Scopes.All],
        [Marketer] = [.. Everyone, Scopes.EventsRead, Scopes.ProfilesRead, Scopes.TraitsWrite, Scopes.TokensWrite, Scopes.PlanApprove],
        [ItSteward] = [.. Everyone, Scopes.SourcesWrite, Scopes.EventsRead, Scopes.ProfilesRead, Scopes.IdentityWrite, Scopes.TokensWrite, Scopes.AuditRead, Scopes.PlanApprove],
        [PrivacyOfficer] = [.. Everyone, Scopes.EventsRead, Scopes.ProfilesRead, Scopes.ProfilesWrite, Scopes.TokensWrite, Scopes.AuditRead, Scopes.PrivacyAdmin],
        [Analyst] = [.. Everyone, Scopes.EventsRead, Scopes.ProfilesRead, Scopes.TokensWrite],
        [Liaison] = [.. Everyone, Scopes.ProfilesRead, Scopes.TokensWrite],
        [Viewer] = Everyone,
    }.ToFrozenDictionary(pair => pair.Key, pair => pair.Value.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);

    public static bool IsKnown(string role) => ScopesOf.ContainsKey(role);

    /// <summary>The union of the roles' scopes.</summary>
    public static IReadOnlySet<string> ScopesFor(IEnumerable<string> roles)
    {
        var scopes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var role in roles)
        {
            if (ScopesOf.TryGetValue(role, out var granted))
            {
                scopes.UnionWith(granted);
            }
        }

        return scopes;
    }
}
