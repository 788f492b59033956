using Tandem.Trust;

namespace Tandem.Storage;

/// <summary>
/// The API tokens' storage port. Tokens are found by the digest of their secret; the secret is never
/// passed here. Caching, lineage rules and the admin-token reset are <c>TokenRegistry</c>'s.
/// </summary>
public interface ITokenStore
{
    ApiToken? FindByDigest(string digest);

    ApiToken? Find(string id);

    /// <summary>Tokens of one member, or every token when <paramref name="ownerId"/> is null, oldest first.</summary>
    IReadOnlyList<ApiToken> List(string? ownerId);

    /// <summary>The token and every token minted from it, at any depth (ids).</summary>
    IReadOnlyList<string> Lineage(string id);

    /// <summary>Revokes the token and its lineage in one statement (revocation times already set are kept); false when there is no such token.</summary>
    bool RevokeLineage(string id, DateTimeOffset at);

    /// <summary>Adds a token (or replaces one with the same id) kept under <paramref name="digest"/>.</summary>
    void Insert(ApiToken token, string digest);

    /// <summary>
    /// In one transaction: revokes <paramref name="revokedIds"/> at <paramref name="at"/>, lets the tokens they
    /// minted stand on their own, and adds <paramref name="token"/> under <paramref name="digest"/>.
    /// </summary>
    void ReplaceAdmins(IReadOnlyList<string> revokedIds, DateTimeOffset at, ApiToken token, string digest);
}
