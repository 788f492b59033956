namespace Tandem.Trust;

/// <summary>
/// The sign-in counts kept in memory: per unknown email, per account-and-address pair, and per address.
/// The account-wide count of a real member is in <c>tandem.db</c> (see <see cref="MemberRegistry"/>).
/// Each map is bounded: made-up emails and addresses are free to send.
/// </summary>
internal sealed class SignInThrottle
{
    private const int MaxRemembered = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (int Failed, DateTimeOffset? LockedUntil)> _unknown = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Failed, DateTimeOffset? LockedUntil)> _pairs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Failed, DateTimeOffset Since, DateTimeOffset? LockedUntil)> _addresses = new(StringComparer.Ordinal);

    public static string Pair(string email, string address) => email.ToLowerInvariant() + "\n" + address;

    /// <summary>The lock an address, a pair or an unknown email is under now, or null: checked before any hashing.</summary>
    public SignInResult? Refusal(string pair, string address, string? unknownEmail, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_addresses.TryGetValue(address, out var byAddress) && byAddress.LockedUntil > now)
            {
                return new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: byAddress.LockedUntil);
            }

            if (_pairs.TryGetValue(pair, out var byPair) && byPair.LockedUntil > now)
            {
                return new SignInResult(SignInOutcome.LockedOut, LockedUntil: byPair.LockedUntil);
            }

            return unknownEmail is not null && _unknown.TryGetValue(unknownEmail.ToLowerInvariant(), out var byEmail) && byEmail.LockedUntil > now
                ? new SignInResult(SignInOutcome.LockedOut, LockedUntil: byEmail.LockedUntil)
                : null;
        }
    }

    /// <summary>One more failure against an email no member has: counted and locked like a member's account.</summary>
    public SignInResult CountUnknown(string email, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_unknown.Count > MaxRemembered)
            {
                _unknown.Clear();
            }

            var key = email.ToLowerInvariant();
            var counted = CountFailure(_unknown.GetValueOrDefault(key), MemberRegistry.MaxFailedSignInsPerAccount, now);
            _unknown[key] = counted;
            return Outcome(counted);
        }
    }

    /// <summary>
    /// Counts a failed attempt against the pair and the address, and answers the strictest outcome:
    /// the address stopped, then a lock (the account's or the pair's), then a plain wrong password.
    /// </summary>
    public SignInResult Failed(string pair, string address, SignInResult account, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_pairs.Count > MaxRemembered)
            {
                _pairs.Clear(); // the account-wide count still holds
            }

            if (_addresses.Count > MaxRemembered)
            {
                _addresses.Clear();
            }

            var byPair = CountFailure(_pairs.GetValueOrDefault(pair), MemberRegistry.MaxFailedSignIns, now);
            _pairs[pair] = byPair;

            var (failed, since, addressLock) = _addresses.GetValueOrDefault(address, (0, now, null));
            if (addressLock > now)
            {
                // Hashed while the lock began: it stands, and this attempt did not start it.
                return new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: addressLock);
            }

            if (addressLock is not null || now - since >= MemberRegistry.LockoutDuration)
            {
                (failed, since) = (0, now); // a lock that has run out, or a quiet window, starts a fresh count
            }

            failed++;
            DateTimeOffset? stopAddress = failed >= MemberRegistry.MaxFailedSignInsPerAddress ? now + MemberRegistry.LockoutDuration : null;
            _addresses[address] = (stopAddress is null ? failed : 0, since, stopAddress);
            if (stopAddress is not null)
            {
                return new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: stopAddress);
            }

            return account.Outcome == SignInOutcome.LockedOut ? account : Outcome(byPair);
        }
    }

    public void Succeeded(string pair)
    {
        lock (_gate)
        {
            _pairs.Remove(pair);
        }
    }

    /// <summary>Lifts every address's lock on the account (a password reset).</summary>
    public void ForgetPairs(string email)
    {
        var prefix = email.ToLowerInvariant() + "\n";
        lock (_gate)
        {
            foreach (var key in _pairs.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                _pairs.Remove(key);
            }
        }
    }

    /// <summary>
    /// One more wrong password against a count: the <paramref name="max"/>th in a row locks for
    /// <see cref="MemberRegistry.LockoutDuration"/> (and the count starts again), and a lock that has run
    /// out starts a fresh count. A lock still running stays as it is: the attempt was hashed while it began.
    /// </summary>
    public static (int Failed, DateTimeOffset? LockedUntil) CountFailure((int Failed, DateTimeOffset? LockedUntil) before, int max, DateTimeOffset now)
    {
        if (before.LockedUntil > now)
        {
            return before;
        }

        var failed = before.LockedUntil is null ? before.Failed + 1 : 1;
        return failed >= max ? (0, now + MemberRegistry.LockoutDuration) : (failed, null);
    }

    /// <summary>What a count just updated answers: locked, or a plain wrong password.</summary>
    public static SignInResult Outcome((int Failed, DateTimeOffset? LockedUntil) counted) =>
        counted.LockedUntil is { } until
            ? new SignInResult(SignInOutcome.LockedOut, LockedUntil: until)
            : new SignInResult(SignInOutcome.InvalidCredentials);
}
