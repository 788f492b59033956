using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>API tokens: listing, minting and revoking (with everything they minted).</summary>
internal static partial class TrustApi
{
    private static IResult ListTokens(string? owner, ClaimsPrincipal user, TokenRegistry tokens, MemberRegistry members, TimeProvider time)
    {
        string? ownerFilter;
        if (owner is null)
        {
            // A member sees their own tokens; a token without an owner sees itself (owner=all shows the rest).
            ownerFilter = user.MemberId();
            var own = ownerFilter is null ? tokens.List(null).Where(t => IsOwn(t, user)) : tokens.List(ownerFilter);
            return TypedResults.Ok(own.Select(t => TokenView.From(t, time.GetUtcNow(), tokens, members)).ToArray());
        }

        if (!user.Holds(Scopes.MembersWrite) && owner != user.MemberId())
        {
            return OthersTokens();
        }

        var listed = owner == "all" ? tokens.List(null) : tokens.List(owner);
        return TypedResults.Ok(listed.Select(t => TokenView.From(t, time.GetUtcNow(), tokens, members)).ToArray());
    }

    private static async Task<IResult> CreateTokenAsync(HttpRequest request, ClaimsPrincipal user, TokenRegistry tokens, MemberRegistry members, AuditLog audit, TimeProvider time)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateTokenRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (ValidateName(body!.Name, required: true) is { } badName)
        {
            return badName;
        }

        if (body.Scopes is not { Length: > 0 })
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "scopes_required", "A token needs scopes",
                "Send \"scopes\": a list such as [\"profiles:read\"]. GET /api/v1/scopes lists them all.", "scopes");
        }

        for (var i = 0; i < body.Scopes.Length; i++)
        {
            if (body.Scopes[i] is not { } scope || !Scopes.IsKnown(scope))
            {
                return Problems.Create(StatusCodes.Status400BadRequest, "unknown_scope", "Unknown scope",
                    $"'{body.Scopes[i]}' is not a scope. Known scopes: {string.Join(", ", Scopes.Catalog.Keys.Order(StringComparer.Ordinal))}.", $"scopes[{i}]");
            }
        }

        if (body.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "expiry_in_past", "The expiry is in the past",
                $"\"expiresAt\" ({expires:O}) has already passed. Send a future time, or leave it out for a token that lasts until revoked.", "expiresAt");
        }

        var ownerId = body.OwnerId ?? user.MemberId();
        if (ownerId != user.MemberId())
        {
            if (!user.Holds(Scopes.MembersWrite))
            {
                return OthersTokens();
            }

            if (members.Find(ownerId!) is null)
            {
                return Problems.Create(StatusCodes.Status400BadRequest, "unknown_owner", "No such member",
                    $"No member has the id '{ownerId}'. GET /api/v1/members lists them.", "ownerId");
            }
        }

        // A caller hands on only what it holds itself, whatever the owner's roles would allow.
        var scopes = Distinct(body.Scopes!);
        var beyond = scopes.Where(s => !user.Holds(s)).ToArray();
        if (beyond.Length > 0)
        {
            return Problems.Create(StatusCodes.Status403Forbidden, "scope_not_held", "A token cannot hold more than its creator",
                $"You do not hold {string.Join(", ", beyond.Select(s => $"'{s}'"))}, so you cannot give it to a token.", "scopes",
                new Dictionary<string, object?> { ["scopes"] = beyond });
        }

        // A token made by a token that expires cannot outlive it.
        var expiresAt = body.ExpiresAt;
        if (user.TokenExpiry() is { } callerExpiry && (expiresAt is null || expiresAt > callerExpiry))
        {
            expiresAt = callerExpiry;
        }

        // The maker is remembered: a token minted by a token dies with it (revoked or no longer working),
        // and one made in a session stops working when its member is removed or disabled.
        var parentId = user.IsToken() && user.Actor().StartsWith("token:", StringComparison.Ordinal) ? user.Actor()["token:".Length..] : null;
        var makerId = parentId is null ? user.MemberId() : null;
        var (token, secret) = tokens.Create(body.Name!.Trim(), ownerId, scopes, expiresAt, parentId, makerId);
        var view = TokenView.From(token, time.GetUtcNow(), tokens, members);
        audit.Record(user, "token.create", "token:" + token.Id, after: view);
        return TypedResults.Created($"/api/v1/tokens/{token.Id}",
            new CreatedTokenView(token.Id, secret, token.Name, token.OwnerId, token.Scopes, token.ExpiresAt, token.ParentId, view.ReadsAs));
    }

    private static IResult RevokeToken(string id, ClaimsPrincipal user, TokenRegistry tokens, MemberRegistry members, AuditLog audit, TimeProvider time)
    {
        if (tokens.Find(id) is not { } token)
        {
            return Problems.NotFound("Token", id);
        }

        if (!IsOwn(token, user) && !user.Holds(Scopes.MembersWrite))
        {
            return OthersTokens();
        }

        // Without an admin member, an owner-less all-scopes token (the first admin token) is the only
        // way left to manage the workspace: revoking the last one would lock everyone out. Revoking
        // takes the token's whole lineage with it, so an admin token minted from it does not count.
        var now = time.GetUtcNow();
        var lineage = tokens.Lineage(id).ToHashSet(StringComparer.Ordinal);
        if (TokenRegistry.IsActiveAdmin(token, now)
            && !members.All.Any(m => m.IsActiveAdmin)
            && !tokens.List(null).Any(t => !lineage.Contains(t.Id) && TokenRegistry.IsActiveAdmin(t, now)))
        {
            return Problems.Create(StatusCodes.Status409Conflict, "last_admin", "This would leave no admin",
                "This is the last admin token (with those it minted) and no member has the admin role. Add an admin member first (POST /api/v1/members with \"roles\":[\"admin\"]).", "id");
        }

        var before = TokenView.From(token, now, tokens, members);
        var (revokedToken, descendants) = tokens.Revoke(id)!.Value;
        var revoked = TokenView.From(revokedToken, now, tokens, members);
        audit.Record(user, "token.revoke", "token:" + id, before, revoked,
            descendants.Count == 0 ? null : $"with {descendants.Count} token(s) it minted: {string.Join(", ", descendants.Take(20))}{(descendants.Count > 20 ? ", …" : "")}");
        return TypedResults.Ok(revoked);
    }
}
