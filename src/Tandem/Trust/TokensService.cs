using Tandem.Hosting;
using static Tandem.Trust.TrustApi;

namespace Tandem.Trust;

/// <summary>A token as requested; each field is checked by the service, so any may be missing.</summary>
/// <param name="OwnerId">The member it belongs to; null: the caller's own member (none for an owner-less token).</param>
internal sealed record NewToken(string? Name, string[]? Scopes, DateTimeOffset? ExpiresAt, string? OwnerId);

/// <param name="Secret">The token itself: shown once, only its digest is kept.</param>
internal sealed record IssuedToken(ApiToken Token, string Secret, TokenView View);

/// <summary>
/// The rules of API tokens: a caller sees, makes and revokes its own (others' need members:write), a
/// token never holds more than its maker nor outlives a token that made it, revoking takes everything it
/// minted, and the last way to manage the workspace is not revoked.
/// </summary>
internal sealed class TokensService(TokenRegistry tokens, MemberRegistry members, AdminContinuity admins, AuditLog audit, TimeProvider time)
{
    private static readonly Refusal OthersTokens = new(RefusalKind.Forbidden, "missing_scope", "Other members' tokens need members:write",
        "Only callers with the 'members:write' scope see, create or revoke tokens of other members.", "Authorization",
        new Dictionary<string, object?> { ["scope"] = Scopes.MembersWrite });

    /// <summary>
    /// The caller's own tokens when <paramref name="owner"/> is null; "all" or a member's id lists others',
    /// which needs members:write unless the id is the caller's.
    /// </summary>
    public Outcome<IReadOnlyList<TokenView>> List(Caller caller, string? owner)
    {
        IEnumerable<ApiToken> listed;
        if (owner is null)
        {
            // A member sees their own tokens; a token without an owner sees itself (owner=all shows the rest).
            listed = caller.MemberId is null ? tokens.List(null).Where(t => IsOwn(t, caller)) : tokens.List(caller.MemberId);
        }
        else if (!caller.Holds(Scopes.MembersWrite) && owner != caller.MemberId)
        {
            return OthersTokens;
        }
        else
        {
            listed = owner == "all" ? tokens.List(null) : tokens.List(owner);
        }

        var now = time.GetUtcNow();
        return listed.Select(t => TokenView.From(t, now, tokens, members)).ToArray();
    }

    public Outcome<IssuedToken> Create(Caller caller, NewToken request)
    {
        if (MemberFields.Name(request.Name, required: true) is { } badName)
        {
            return badName;
        }

        if (request.Scopes is not { Length: > 0 })
        {
            return new Refusal(RefusalKind.Invalid, "scopes_required", "A token needs scopes",
                "Send \"scopes\": a list such as [\"profiles:read\"]. GET /api/v1/scopes lists them all.", "scopes");
        }

        for (var i = 0; i < request.Scopes.Length; i++)
        {
            if (request.Scopes[i] is not { } scope || !Scopes.IsKnown(scope))
            {
                return new Refusal(RefusalKind.Invalid, "unknown_scope", "Unknown scope",
                    $"'{request.Scopes[i]}' is not a scope. Known scopes: {string.Join(", ", Scopes.Catalog.Keys.Order(StringComparer.Ordinal))}.", $"scopes[{i}]");
            }
        }

        if (request.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return new Refusal(RefusalKind.Invalid, "expiry_in_past", "The expiry is in the past",
                $"\"expiresAt\" ({expires:O}) has already passed. Send a future time, or leave it out for a token that lasts until revoked.", "expiresAt");
        }

        var ownerId = request.OwnerId ?? caller.MemberId;
        if (ownerId != caller.MemberId)
        {
            if (!caller.Holds(Scopes.MembersWrite))
            {
                return OthersTokens;
            }

            if (members.Find(ownerId!) is null)
            {
                return new Refusal(RefusalKind.Invalid, "unknown_owner", "No such member",
                    $"No member has the id '{ownerId}'. GET /api/v1/members lists them.", "ownerId");
            }
        }

        // A caller hands on only what it holds itself, whatever the owner's roles would allow.
        var scopes = MemberFields.Distinct(request.Scopes);
        var beyond = scopes.Where(s => !caller.Holds(s)).ToArray();
        if (beyond.Length > 0)
        {
            return new Refusal(RefusalKind.Forbidden, "scope_not_held", "A token cannot hold more than its creator",
                $"You do not hold {string.Join(", ", beyond.Select(s => $"'{s}'"))}, so you cannot give it to a token.", "scopes",
                new Dictionary<string, object?> { ["scopes"] = beyond });
        }

        // A token made by a token that expires cannot outlive it.
        var expiresAt = request.ExpiresAt;
        if (caller.TokenExpiry is { } callerExpiry && (expiresAt is null || expiresAt > callerExpiry))
        {
            expiresAt = callerExpiry;
        }

        // The maker is remembered: a token minted by a token dies with it (revoked or no longer working),
        // and one made in a session stops working when its member is removed or disabled.
        var parentId = caller.TokenId;
        var makerId = parentId is null ? caller.MemberId : null;
        var (token, secret) = tokens.Create(request.Name!.Trim(), ownerId, scopes, expiresAt, parentId, makerId);
        var view = TokenView.From(token, time.GetUtcNow(), tokens, members);
        audit.Record(caller.Actor, "token.create", "token:" + token.Id, after: view);
        return new IssuedToken(token, secret, view);
    }

    /// <summary>Revokes a token and every token minted from it; answers the revoked token as it now stands.</summary>
    public Outcome<TokenView> Revoke(Caller caller, string id)
    {
        if (tokens.Find(id) is not { } token)
        {
            return Refusal.NotFound("Token", id);
        }

        if (!IsOwn(token, caller) && !caller.Holds(Scopes.MembersWrite))
        {
            return OthersTokens;
        }

        TokenView before, revoked;
        IReadOnlyList<string> descendants;
        // Under the members' lock: a demotion of the last admin member and a revocation of the last
        // admin token at the same moment would each see the other's way out still there.
        lock (admins.Changes)
        {
            var now = time.GetUtcNow();
            var lineage = tokens.Lineage(id).ToHashSet(StringComparer.Ordinal);
            if (AdminContinuity.IsLastAdminToken(token, lineage, members.All, tokens.List(null), now))
            {
                return AdminContinuity.LastAdminToken;
            }

            before = TokenView.From(token, now, tokens, members);
            (var revokedToken, descendants) = tokens.Revoke(id)!.Value;
            revoked = TokenView.From(revokedToken, now, tokens, members);
        }

        audit.Record(caller.Actor, "token.revoke", "token:" + id, before, revoked,
            descendants.Count == 0 ? null : $"with {descendants.Count} token(s) it minted: {string.Join(", ", descendants.Take(20))}{(descendants.Count > 20 ? ", …" : "")}");
        return revoked;
    }

    /// <summary>A token is the caller's own when it belongs to the caller's member, or, without an owner, when it is the caller.</summary>
    private static bool IsOwn(ApiToken token, Caller caller) =>
        token.OwnerId is not null ? token.OwnerId == caller.MemberId : caller.Actor == "token:" + token.Id;
}
