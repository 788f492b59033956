using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Tandem.Storage;

namespace Tandem.Trust;

/// <summary>
/// API tokens, kept through <see cref="ITokenStore"/>. A token is shown once when created and kept as a SHA-256 digest, so
/// a stolen data folder yields no usable token. Lookups are cached by digest: the Profile API checks
/// one token per request at thousands of requests a second.
/// </summary>
internal sealed class TokenRegistry
{
    public const string FirstAdminTokenId = "tok_admin";
    private const int MaxCachedTokens = 10_000;
    private static readonly ApiToken Unknown = new("", "", null, [], default, null, null);

    private readonly ITokenStore _store;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ApiToken> _byDigest = new(StringComparer.Ordinal);

    // Parents are looked up on every request a minted token makes; cleared with the digest cache.
    private readonly ConcurrentDictionary<string, ApiToken?> _byId = new(StringComparer.Ordinal);

    public TokenRegistry(ITokenStore store, TimeProvider time)
    {
        _time = time;
        _store = store;
    }

    /// <summary>Creates a token and returns it with its secret, which is not kept and cannot be shown again.</summary>
    /// <param name="parentId">The calling token, when a token mints this one: revoking it revokes this one too.</param>
    /// <param name="makerId">The calling member, when made in a console session.</param>
    public (ApiToken Token, string Secret) Create(string name, string? ownerId, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt,
        string? parentId = null, string? makerId = null)
    {
        var secret = "tdm_" + RandomNumberGenerator.GetHexString(40, lowercase: true);
        var token = new ApiToken("tok_" + RandomNumberGenerator.GetHexString(12, lowercase: true), name, ownerId, scopes, _time.GetUtcNow(), expiresAt, null,
            parentId, makerId);
        Insert(token, secret);
        return (token, secret);
    }

    /// <summary>The first admin token of a new workspace, with a secret chosen by the operator or generated.</summary>
    public void CreateFirstAdminToken(string secret) =>
        Insert(new ApiToken(FirstAdminTokenId, "First admin token", null, [Scopes.All], _time.GetUtcNow(), null, null), secret);

    /// <summary>The token with this secret, revoked and expired ones included (the caller says why they fail); null when none.</summary>
    public ApiToken? FindBySecret(string secret)
    {
        var digest = Digest(secret);
        if (_byDigest.TryGetValue(digest, out var cached))
        {
            return ReferenceEquals(cached, Unknown) ? null : cached;
        }

        lock (_gate)
        {
            var token = _store.FindByDigest(digest);
            if (_byDigest.Count > MaxCachedTokens)
            {
                _byDigest.Clear(); // a flood of made-up tokens must not grow memory without bound
            }

            // Unknown secrets are remembered too, so a flood of bad ones costs no database reads.
            _byDigest[digest] = token ?? Unknown;
            return token;
        }
    }

    public ApiToken? Find(string id) => _store.Find(id);

    /// <summary>Like <see cref="Find"/>, from memory after the first read: for walking a token's parents on every request.</summary>
    public ApiToken? FindCached(string id)
    {
        if (_byId.TryGetValue(id, out var cached))
        {
            return cached;
        }

        var token = Find(id);
        if (_byId.Count > MaxCachedTokens)
        {
            _byId.Clear();
        }

        _byId[id] = token;
        return token;
    }

    /// <summary>The token and every token minted from it, at any depth (ids), in one read.</summary>
    public IReadOnlyList<string> Lineage(string id) => _store.Lineage(id);

    /// <summary>Tokens of one member, or every token when <paramref name="ownerId"/> is null.</summary>
    public IReadOnlyList<ApiToken> List(string? ownerId) => _store.List(ownerId);

    /// <summary>
    /// Revokes a token at once, and every token minted from it at any depth (one statement): a leaked
    /// token's offspring must not outlive it. Returns the token as revoked and the descendants that were
    /// still active, or null when there is no such token.
    /// </summary>
    public (ApiToken Token, IReadOnlyList<string> Descendants)? Revoke(string id)
    {
        var descendants = Lineage(id).Where(d => d != id && Find(d) is { RevokedAt: null }).ToList();
        lock (_gate)
        {
            if (!_store.RevokeLineage(id, _time.GetUtcNow()))
            {
                return null;
            }

            ForgetCached();
        }

        return (Find(id)!, descendants);
    }

    private void ForgetCached()
    {
        _byDigest.Clear();
        _byId.Clear();
    }

    /// <summary>Revokes every token of a member (when the member is removed).</summary>
    public int RevokeAllOf(string ownerId)
    {
        var revoked = 0;
        foreach (var token in List(ownerId).Where(t => t.RevokedAt is null))
        {
            Revoke(token.Id);
            revoked++;
        }

        return revoked;
    }

    /// <summary>Whether a token is an admin token: no owner to bound it, every scope, usable now.</summary>
    public static bool IsActiveAdmin(ApiToken token, DateTimeOffset now) =>
        token.OwnerId is null && token.Scopes.Contains(Scopes.All) && token.RevokedAt is null && !(token.ExpiresAt <= now);

    /// <summary>
    /// Makes <paramref name="secret"/> the workspace's admin token: a new token without owner and with
    /// every scope, and every other active admin token revoked, in one transaction. It is used when the
    /// admin token is lost or may have leaked, so no old one is left working.
    /// </summary>
    /// <exception cref="ArgumentException">The secret already belongs to a token (active, expired or revoked).</exception>
    public (ApiToken Token, IReadOnlyList<ApiToken> Revoked) ResetAdmin(string secret)
    {
        lock (_gate)
        {
            if (FindBySecret(secret) is { } existing)
            {
                throw new ArgumentException($"This secret already belongs to token {existing.Id}; a secret is never reused. Choose a new one.", nameof(secret));
            }

            var now = _time.GetUtcNow();
            var revoked = List(null).Where(t => IsActiveAdmin(t, now)).Select(t => t with { RevokedAt = now }).ToList();
            var token = new ApiToken("tok_" + RandomNumberGenerator.GetHexString(12, lowercase: true), "Admin token (tokens reset-admin)", null, [Scopes.All], now, null, null);
            // Tokens the old admin tokens minted are kept, and listed by the command for checking: an
            // admin token lost (not leaked) must not take every machine's token with it. They stand on
            // their own from now on.
            _store.ReplaceAdmins([.. revoked.Select(t => t.Id)], now, token, Digest(secret));
            ForgetCached();
            return (token, revoked);
        }
    }

    private void Insert(ApiToken token, string secret)
    {
        lock (_gate)
        {
            _store.Insert(token, Digest(secret));
            ForgetCached();
        }
    }

    private static string Digest(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
