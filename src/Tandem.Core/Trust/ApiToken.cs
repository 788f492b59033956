namespace Tandem.Trust;

/// <summary>An API token as stored: never the secret itself, only its digest.</summary>
/// <param name="OwnerId">The member whose roles bound the token; null for the workspace's first admin token.</param>
/// <param name="ParentId">The token that minted this one; null when a member (or the server) made it.</param>
/// <param name="MakerId">The member who made it in a console session; null when a token (or the server) made it.</param>
public sealed record ApiToken(string Id, string Name, string? OwnerId, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? ParentId = null, string? MakerId = null);
