namespace Tandem.Trust;

/// <summary>
/// What a token may do now, taking in everything above it: its owner's roles, the member who made it,
/// and the token that minted it (and that token's own standing, up to the first). A minted token never
/// exceeds its parent: its scopes are narrowed to the parent's, and its view of personal data too.
/// </summary>
/// <param name="Scopes">The scopes it holds now (possibly <c>*</c>).</param>
/// <param name="ReadsAs">The roles whose PII view applies to it: its owner's, <c>admin</c> for an admin token's machine token, <c>viewer</c> for a machine token's.</param>
/// <param name="Owner">The owner, when there is one and it is active.</param>
/// <param name="Failure">Why it is refused (token_revoked, token_expired, owner_inactive, maker_inactive); null when it works.</param>
internal sealed record TokenStanding(IReadOnlySet<string> Scopes, IReadOnlyList<string> ReadsAs, Member? Owner, AuthFailure? Failure)
{
    /// <summary>A chain longer than this is refused: tokens are minted by hand, not in loops.</summary>
    public const int MaxDepth = 32;

    public static TokenStanding Of(ApiToken token, TokenRegistry tokens, MemberRegistry members, DateTimeOffset now) => Of(token, tokens, members, now, 0);

    private static TokenStanding Of(ApiToken token, TokenRegistry tokens, MemberRegistry members, DateTimeOffset now, int depth)
    {
        // Every authenticated request comes here: the token's name is only formatted into a refusal.
        string Name() => $"The API token '{token.Name}' ({token.Id})";
        AuthFailure? failure = token.RevokedAt is { } revoked ? new("token_revoked", $"{Name()} was revoked on {revoked:u}. Create a new one.")
            : token.ExpiresAt is { } expires && expires <= now ? new("token_expired", $"{Name()} expired on {expires:u}. Create a new one.")
            : null;

        var owner = token.OwnerId is { } ownerId ? members.Find(ownerId) : null;
        if (token.OwnerId is not null && owner is not { Disabled: false })
        {
            failure ??= new("owner_inactive", $"{Name()} belongs to a member who was removed or disabled, so it no longer works.");
            owner = null;
        }

        if (token.MakerId is { } makerId && members.Find(makerId) is not { Disabled: false })
        {
            failure ??= MakerInactive(Name(), "the member who made it was removed or disabled");
        }

        var parent = token.ParentId is { } parentId ? tokens.FindCached(parentId) : null;
        TokenStanding? above = null;
        if (token.ParentId is not null)
        {
            above = parent is null || depth >= MaxDepth ? null : Of(parent, tokens, members, now, depth + 1);
            if (above is null || above.Failure is not null)
            {
                failure ??= MakerInactive(Name(), $"the token that minted it ({token.ParentId}) no longer works");
            }
        }

        IReadOnlySet<string> scopes = token.Scopes.ToHashSet(StringComparer.Ordinal);
        if (owner is not null)
        {
            scopes = Narrow(scopes, owner.Scopes);
        }

        if (above is not null)
        {
            scopes = Narrow(scopes, above.Scopes);
        }

        return new TokenStanding(scopes, ReadingRoles(token, owner, parent, above), owner, failure);
    }

    /// <summary>
    /// An owned token reads as its owner, unless a machine token that reads as less minted it for
    /// someone else. An ownerless token reads as admin only when it is the first (or has no parent) or
    /// an admin token minted it; a machine token's ownerless child reads as a viewer, never as admin.
    /// </summary>
    private static IReadOnlyList<string> ReadingRoles(ApiToken token, Member? owner, ApiToken? parent, TokenStanding? above)
    {
        var parentReadsAsAdmin = above is not null && above.ReadsAs.Contains(Roles.Admin);
        if (token.OwnerId is not null)
        {
            return owner is null ? []
                : token.ParentId is null || parentReadsAsAdmin || parent?.OwnerId == token.OwnerId ? owner.Roles
                : [Roles.Viewer];
        }

        return token.ParentId is null || parentReadsAsAdmin && parent?.OwnerId is null && above!.Scopes.Contains(Trust.Scopes.All)
            ? [Roles.Admin]
            : [Roles.Viewer];
    }

    private static IReadOnlySet<string> Narrow(IReadOnlySet<string> scopes, IReadOnlySet<string> bound) =>
        bound.Contains(Trust.Scopes.All) ? scopes
        : scopes.Contains(Trust.Scopes.All) ? bound
        : scopes.Where(bound.Contains).ToHashSet(StringComparer.Ordinal);

    private static AuthFailure MakerInactive(string name, string why) =>
        new("maker_inactive", $"{name} no longer works: {why}. A token lives no longer than whoever made it. Create a new one.");
}
