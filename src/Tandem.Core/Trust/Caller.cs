namespace Tandem.Trust;

/// <summary>
/// Who asks a service for a change: a member's session or an API token. Services decide with it and
/// name it in the audit log, so they need nothing of the request it came in.
/// </summary>
/// <param name="Actor">How the audit log names the caller: <c>member:mbr_…</c> or <c>token:tok_…</c>.</param>
/// <param name="TokenExpiry">When the calling token expires; null for sessions and tokens without expiry.</param>
public sealed record Caller(string Actor, string? MemberId, IReadOnlySet<string> Scopes, bool IsToken, DateTimeOffset? TokenExpiry)
{
    public bool Holds(string scope) => Scopes.Contains(Trust.Scopes.All) || Scopes.Contains(scope);

    /// <summary>The token the caller is, when it is one (what a token it mints descends from).</summary>
    public string? TokenId => IsToken && Actor.StartsWith("token:", StringComparison.Ordinal) ? Actor["token:".Length..] : null;
}
