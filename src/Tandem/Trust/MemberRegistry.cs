using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Tandem.Storage;

namespace Tandem.Trust;

/// <summary>How a sign-in attempt ended. Unknown email and wrong password read the same to the caller.</summary>
internal enum SignInOutcome
{
    SignedIn,
    InvalidCredentials,
    LockedOut,

    /// <summary>The right password of a disabled member: answered and counted as a wrong one; only the audit log tells.</summary>
    Disabled,

    /// <summary>The caller's address failed too often, across accounts: it is refused for a while.</summary>
    AddressThrottled,
}

internal sealed record SignInResult(SignInOutcome Outcome, Member? Member = null, DateTimeOffset? LockedUntil = null);

/// <summary>
/// Members and their local accounts, kept through <see cref="IMemberStore"/>. Passwords are kept as salted PBKDF2 hashes
/// from ASP.NET Core Identity's hasher. Wrong passwords are counted three ways, so a password cannot
/// be guessed through the sign-in endpoint and one address cannot lock a member out:
/// <list type="bullet">
/// <item>five in a row from one address lock that address out of that account for 15 minutes;</item>
/// <item>twenty in a row from any addresses lock the account for everyone (kept across restarts);</item>
/// <item>twenty from one address within 15 minutes, whatever the accounts, refuse that address's sign-ins
/// for 15 minutes (one guess at many accounts).</item>
/// </list>
/// </summary>
internal sealed class MemberRegistry
{
    /// <summary>Wrong passwords in a row from one address that lock the address out of the account.</summary>
    public const int MaxFailedSignIns = 5;

    /// <summary>Wrong passwords in a row, from all addresses, that lock the account for everyone.</summary>
    public const int MaxFailedSignInsPerAccount = 20;

    /// <summary>Failed sign-ins from one address, any accounts, within <see cref="LockoutDuration"/> that stop the address.</summary>
    public const int MaxFailedSignInsPerAddress = 20;

    public const int MinPasswordLength = PasswordRules.MinLength;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private readonly IMemberStore _store;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly IPasswordHasher<Member> _hasher;
    private readonly ConcurrentDictionary<string, Member> _byId = new(StringComparer.Ordinal);

    // Unknown emails, account-and-address pairs, addresses: kept in memory, bounded.
    private readonly SignInThrottle _throttle = new();

    // Hashed once so that a sign-in for an unknown email costs as much as one for a known email.
    private readonly string _decoyHash;

    /// <param name="hasher">ASP.NET Core Identity's PBKDF2 hasher unless a test counts or holds its computations.</param>
    public MemberRegistry(IMemberStore store, TimeProvider time, IPasswordHasher<Member>? hasher = null)
    {
        _time = time;
        _store = store;
        _hasher = hasher ?? new PasswordHasher<Member>();
        _decoyHash = _hasher.HashPassword(null!, RandomNumberGenerator.GetHexString(32));
        foreach (var member in store.LoadAll())
        {
            _byId[member.Id] = member;
        }
    }

    public IReadOnlyList<Member> All => [.. _byId.Values.OrderBy(m => m.CreatedAt).ThenBy(m => m.Id, StringComparer.Ordinal)];

    public Member? Find(string id) => _byId.GetValueOrDefault(id);

    public Member? FindByEmail(string email) =>
        _byId.Values.FirstOrDefault(m => string.Equals(m.Email, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>Adds a member; null when the email is taken.</summary>
    public Member? Add(string email, string name, IReadOnlyList<string> roles, string password)
    {
        var now = _time.GetUtcNow();
        var member = new Member("mbr_" + RandomNumberGenerator.GetHexString(12, lowercase: true), email, name, roles, false, now, now, NewStamp());
        lock (_gate)
        {
            if (FindByEmail(email) is not null)
            {
                return null;
            }

            _store.Insert(member, _hasher.HashPassword(member, password));
            _byId[member.Id] = member;
        }

        return member;
    }

    /// <summary>Writes a changed member (name, roles, disabled); the caller has validated it.</summary>
    public Member Update(Member member)
    {
        Member updated;
        lock (_gate)
        {
            // The stamp is not the caller's to change here; keep the one in force.
            updated = member with { UpdatedAt = _time.GetUtcNow(), SessionStamp = Find(member.Id)?.SessionStamp ?? member.SessionStamp };
            _store.Update(updated);
            _byId[updated.Id] = updated;
        }

        return updated;
    }

    public bool Remove(string id)
    {
        lock (_gate)
        {
            if (!_store.Delete(id))
            {
                return false;
            }

            _byId.TryRemove(id, out _);
        }

        return true;
    }

    /// <summary>Sets a new password, lifts any lockout, and ends every console session of the member.</summary>
    public void SetPassword(string id, string password)
    {
        var member = Find(id) ?? throw new InvalidOperationException($"No member {id}.");
        lock (_gate)
        {
            _store.ResetPassword(id, _hasher.HashPassword(member, password));
        }

        _throttle.ForgetPairs(member.Email);
        EndSessions(id);
    }

    /// <summary>
    /// Ends every console session of the member. A session cookie is sealed, not stored, so it cannot
    /// be deleted; instead it carries the member's stamp from sign-in, and a new stamp refuses it.
    /// </summary>
    public void EndSessions(string id)
    {
        lock (_gate)
        {
            if (Find(id) is not { } member)
            {
                return;
            }

            var renewed = member with { SessionStamp = NewStamp() };
            _store.SetSessionStamp(id, renewed.SessionStamp);
            _byId[id] = renewed;
        }
    }

    private static string NewStamp() => RandomNumberGenerator.GetHexString(32, lowercase: true);

    /// <summary>
    /// Checks a password. Every answer but a lock costs exactly one PBKDF2 verification, whether the
    /// email is a member's or not, so neither answer nor time tells whether an account exists. A lock is
    /// refused before any hashing (guessing while locked costs nothing), and no lock is held while
    /// hashing: sign-ins of different members run side by side.
    /// </summary>
    /// <param name="address">Where the attempt comes from (the connection's address); failures are counted per address too.</param>
    public SignInResult SignIn(string email, string password, string? address)
    {
        var now = _time.GetUtcNow();
        var from = address ?? "";
        var pair = SignInThrottle.Pair(email, from);
        var member = FindByEmail(email);
        if (_throttle.Refusal(pair, from, member is null ? email : null, now) is { } refused)
        {
            return refused;
        }

        if (member is null)
        {
            _hasher.VerifyHashedPassword(null!, _decoyHash, password);
            return _throttle.Failed(pair, from, _throttle.CountUnknown(email, now), now);
        }

        string? hash;
        lock (_gate)
        {
            var (stored, _, lockedUntil) = _store.ReadSecrets(member.Id);
            if (lockedUntil > now)
            {
                return new SignInResult(SignInOutcome.LockedOut, LockedUntil: lockedUntil);
            }

            hash = stored;
        }

        var verdict = _hasher.VerifyHashedPassword(member, hash ?? _decoyHash, password);
        // A disabled member with the right password is told what a wrong password is told, and counted
        // like one: a different answer, or a count that does not move, would confirm the password.
        if (verdict == PasswordVerificationResult.Failed || hash is null || member.Disabled)
        {
            SignInResult account;
            lock (_gate)
            {
                var (_, failed, lockedUntil) = _store.ReadSecrets(member.Id); // read again: others may have failed meanwhile
                var counted = SignInThrottle.CountFailure((failed, lockedUntil), MaxFailedSignInsPerAccount, now);
                if (counted != (failed, lockedUntil))
                {
                    _store.WriteFailures(member.Id, counted.Failed, counted.LockedUntil);
                }

                account = SignInThrottle.Outcome(counted);
            }

            var result = _throttle.Failed(pair, from, account, now);
            return member.Disabled && result.Outcome == SignInOutcome.InvalidCredentials ? result with { Outcome = SignInOutcome.Disabled } : result;
        }

        var rehashed = verdict == PasswordVerificationResult.SuccessRehashNeeded ? _hasher.HashPassword(member, password) : null;
        lock (_gate)
        {
            _store.WriteFailures(member.Id, 0, null);
            if (rehashed is not null)
            {
                _store.Rehash(member.Id, rehashed);
            }
        }

        _throttle.Succeeded(pair);
        return new SignInResult(SignInOutcome.SignedIn, member);
    }
}
