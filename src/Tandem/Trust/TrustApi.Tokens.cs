using System.Security.Claims;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>API tokens: listing, minting and revoking (with everything they minted).</summary>
internal static partial class TrustApi
{
    private static IResult ListTokens(string? owner, ClaimsPrincipal user, TokensService tokens)
    {
        var listed = tokens.List(user.ToCaller(), owner);
        return listed.Value is { } views ? TypedResults.Ok(views) : Problems.From(listed.Refusal!);
    }

    private static async Task<IResult> CreateTokenAsync(HttpRequest request, ClaimsPrincipal user, TokensService tokens)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateTokenRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var issued = tokens.Create(user.ToCaller(), new NewToken(body!.Name, body.Scopes, body.ExpiresAt, body.OwnerId));
        if (issued.Value is not { Token: var token } done)
        {
            return Problems.From(issued.Refusal!);
        }

        return TypedResults.Created($"/api/v1/tokens/{token.Id}",
            new CreatedTokenView(token.Id, done.Secret, token.Name, token.OwnerId, token.Scopes, token.ExpiresAt, token.ParentId, done.View.ReadsAs));
    }

    private static IResult RevokeToken(string id, ClaimsPrincipal user, TokensService tokens)
    {
        var revoked = tokens.Revoke(user.ToCaller(), id);
        return revoked.Value is { } view ? TypedResults.Ok(view) : Problems.From(revoked.Refusal!);
    }
}
