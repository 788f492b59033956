using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using Tandem.Hosting;
using Tandem.Storage;

namespace Tandem.Trust;

/// <summary>A person who works in the workspace, with the roles that decide what they may do.</summary>
/// <param name="SessionStamp">Changes when every console session of the member must end (sign-out, new password).</param>
internal sealed record Member(string Id, string Email, string Name, IReadOnlyList<string> Roles, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    string SessionStamp = "")
{
    public IReadOnlySet<string> Scopes => Trust.Roles.ScopesFor(Roles);

    /// <summary>Can administer the workspace now: the last one may not be removed, demoted or disabled.</summary>
    public bool IsActiveAdmin => !Disabled && Roles.Contains(Trust.Roles.Admin);
}

/// <summary>How a sign-in attempt ended. Unknown email and wrong password read the same to the caller.</summary>
internal enum SignInOutcome
{
    SignedIn,
    InvalidCredentials,
    LockedOut,
    Disabled,

    /// <summary>The caller's address failed too often, across accounts: it is refused for a while.</summary>
    AddressThrottled,
}

internal sealed record SignInResult(SignInOutcome Outcome, Member? Member = null, DateTimeOffset? LockedUntil = null);

/// <summary>
/// Members and their local accounts, in <c>tandem.db</c>. Passwords are kept as salted PBKDF2 hashes
/// from ASP.NET Core Identity's hasher. Wrong passwords are counted three ways, so a password cannot
/// be guessed through the sign-in endpoint and one address cannot lock a member out:
/// <list type="bullet">
/// <item>five in a row from one address lock that address out of that account for 15 minutes;</item>
/// <item>twenty in a row from any addresses lock the account for everyone (kept across restarts);</item>
/// <item>twenty from one address within 15 minutes, whatever the accounts, refuse that address's sign-ins
/// for 15 minutes (one guess at many accounts).</item>
/// </list>
/// </summary>
internal sealed class MemberRegistry : IDisposable
{
    /// <summary>Wrong passwords in a row from one address that lock the address out of the account.</summary>
    public const int MaxFailedSignIns = 5;

    /// <summary>Wrong passwords in a row, from all addresses, that lock the account for everyone.</summary>
    public const int MaxFailedSignInsPerAccount = 20;

    /// <summary>Failed sign-ins from one address, any accounts, within <see cref="LockoutDuration"/> that stop the address.</summary>
    public const int MaxFailedSignInsPerAddress = 20;

    public const int MinPasswordLength = 12;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly PasswordHasher<Member> _hasher = new();
    private readonly ConcurrentDictionary<string, Member> _byId = new(StringComparer.Ordinal);

    private const int MaxRememberedUnknown = 10_000;
    // Guards the counts kept in memory: unknown emails, account-and-address pairs, addresses.
    private readonly Lock _countsGate = new();
    private readonly Dictionary<string, (int Failed, DateTimeOffset? LockedUntil)> _unknownFailures = new(StringComparer.Ordinal);

    // Kept in memory (bounded like unknown emails): per account and address, and per address. The
    // account-wide count, the one that locks everyone out, is in tandem.db.
    private readonly Dictionary<string, (int Failed, DateTimeOffset? LockedUntil)> _pairFailures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Failed, DateTimeOffset Since, DateTimeOffset? LockedUntil)> _addressFailures = new(StringComparer.Ordinal);

    // Hashed once so that a sign-in for an unknown email costs as much as one for a known email.
    private readonly string _decoyHash;

    public MemberRegistry(TandemOptions options, TimeProvider time)
    {
        _time = time;
        _connection = SqliteDatabase.Open(Path.Combine(options.DataDirectory, "tandem.db"));
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS members(
                id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
                roles TEXT NOT NULL, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0,
                failed_sign_ins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            """);
        SqliteDatabase.AddMissingColumns(_connection, "members", "session_stamp TEXT NOT NULL DEFAULT ''");
        _decoyHash = _hasher.HashPassword(null!, RandomNumberGenerator.GetHexString(32));
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, email, name, roles, disabled, created_at, updated_at, session_stamp FROM members";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var member = new Member(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries), reader.GetInt64(4) != 0,
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), reader.GetString(7));
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

            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO members(id, email, name, roles, password_hash, created_at, updated_at, session_stamp)
                VALUES ($id, $email, $name, $roles, $hash, $now, $now, $stamp)
                """;
            command.Parameters.AddWithValue("$stamp", member.SessionStamp);
            command.Parameters.AddWithValue("$id", member.Id);
            command.Parameters.AddWithValue("$email", email);
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$roles", string.Join(' ', roles));
            command.Parameters.AddWithValue("$hash", _hasher.HashPassword(member, password));
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
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
            using var command = _connection.CreateCommand();
            command.CommandText = "UPDATE members SET name = $name, roles = $roles, disabled = $disabled, updated_at = $now WHERE id = $id";
            command.Parameters.AddWithValue("$id", updated.Id);
            command.Parameters.AddWithValue("$name", updated.Name);
            command.Parameters.AddWithValue("$roles", string.Join(' ', updated.Roles));
            command.Parameters.AddWithValue("$disabled", updated.Disabled ? 1 : 0);
            command.Parameters.AddWithValue("$now", updated.UpdatedAt.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
            _byId[updated.Id] = updated;
        }

        return updated;
    }

    public bool Remove(string id)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM members WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            if (command.ExecuteNonQuery() == 0)
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
            using var command = _connection.CreateCommand();
            command.CommandText = "UPDATE members SET password_hash = $hash, failed_sign_ins = 0, locked_until = NULL WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$hash", _hasher.HashPassword(member, password));
            command.ExecuteNonQuery();
        }

        ForgetPairs(member.Email);
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
            using var command = _connection.CreateCommand();
            command.CommandText = "UPDATE members SET session_stamp = $stamp WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$stamp", renewed.SessionStamp);
            command.ExecuteNonQuery();
            _byId[id] = renewed;
        }
    }

    private static string NewStamp() => RandomNumberGenerator.GetHexString(32, lowercase: true);

    /// <param name="address">Where the attempt comes from (the connection's address); failures are counted per address too.</param>
    public SignInResult SignIn(string email, string password, string? address)
    {
        var now = _time.GetUtcNow();
        var from = address ?? "";
        var pair = email.ToLowerInvariant() + "\n" + from;
        if (Throttled(pair, from, now) is { } refused)
        {
            _hasher.VerifyHashedPassword(null!, _decoyHash, password); // same cost as any other answer
            return refused;
        }

        var member = FindByEmail(email);
        if (member is null)
        {
            // An unknown email is counted and locked like a known one, so the answers (and their
            // timing) do not tell whether an account exists.
            _hasher.VerifyHashedPassword(null!, _decoyHash, password);
            return Failed(pair, from, CountUnknown(email.ToLowerInvariant(), now), now);
        }

        lock (_gate)
        {
            using var read = _connection.CreateCommand();
            read.CommandText = "SELECT password_hash, failed_sign_ins, locked_until FROM members WHERE id = $id";
            read.Parameters.AddWithValue("$id", member.Id);
            using var reader = read.ExecuteReader();
            if (!reader.Read())
            {
                return new SignInResult(SignInOutcome.InvalidCredentials);
            }

            var hasPassword = !reader.IsDBNull(0);
            var hash = hasPassword ? reader.GetString(0) : _decoyHash;
            var failed = reader.GetInt32(1);
            DateTimeOffset? lockedUntil = reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2));
            reader.Close();
            if (lockedUntil > now)
            {
                _hasher.VerifyHashedPassword(member, _decoyHash, password); // same cost as any other answer
                return new SignInResult(SignInOutcome.LockedOut, LockedUntil: lockedUntil);
            }

            var verdict = _hasher.VerifyHashedPassword(member, hash, password);
            if (verdict == PasswordVerificationResult.Failed || !hasPassword)
            {
                var counted = CountFailure((failed, lockedUntil), MaxFailedSignInsPerAccount, now);
                WriteFailures(member.Id, counted.Failed, counted.LockedUntil);
                return Failed(pair, from, Outcome(counted), now);
            }

            if (member.Disabled)
            {
                return new SignInResult(SignInOutcome.Disabled);
            }

            if (failed != 0 || lockedUntil is not null)
            {
                WriteFailures(member.Id, 0, null);
            }

            lock (_countsGate)
            {
                _pairFailures.Remove(pair);
            }

            if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            {
                using var rehash = _connection.CreateCommand();
                rehash.CommandText = "UPDATE members SET password_hash = $hash WHERE id = $id";
                rehash.Parameters.AddWithValue("$id", member.Id);
                rehash.Parameters.AddWithValue("$hash", _hasher.HashPassword(member, password));
                rehash.ExecuteNonQuery();
            }

            return new SignInResult(SignInOutcome.SignedIn, member);
        }
    }

    /// <summary>The refusal an address or an account-and-address pair is under, or null.</summary>
    private SignInResult? Throttled(string pair, string address, DateTimeOffset now)
    {
        lock (_countsGate)
        {
            if (_addressFailures.TryGetValue(address, out var byAddress) && byAddress.LockedUntil > now)
            {
                return new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: byAddress.LockedUntil);
            }

            return _pairFailures.TryGetValue(pair, out var byPair) && byPair.LockedUntil > now
                ? new SignInResult(SignInOutcome.LockedOut, LockedUntil: byPair.LockedUntil)
                : null;
        }
    }

    /// <summary>
    /// Counts a failed attempt against the pair and the address, and answers the strictest outcome:
    /// the address stopped, then a lock (the account's or the pair's), then a plain wrong password.
    /// </summary>
    private SignInResult Failed(string pair, string address, SignInResult account, DateTimeOffset now)
    {
        lock (_countsGate)
        {
            if (_pairFailures.Count > MaxRememberedUnknown)
            {
                _pairFailures.Clear(); // bounded, as for unknown emails: the account-wide count still holds
            }

            if (_addressFailures.Count > MaxRememberedUnknown)
            {
                _addressFailures.Clear();
            }

            var (failed, since, addressLock) = _addressFailures.GetValueOrDefault(address, (0, now, null));
            if (addressLock is not null || now - since >= LockoutDuration)
            {
                (failed, since) = (0, now); // a lock that has run out, or a quiet window, starts a fresh count
            }

            failed++;
            DateTimeOffset? stopAddress = failed >= MaxFailedSignInsPerAddress ? now + LockoutDuration : null;
            _addressFailures[address] = (stopAddress is null ? failed : 0, since, stopAddress);

            var byPair = _pairFailures[pair] = CountFailure(_pairFailures.GetValueOrDefault(pair), MaxFailedSignIns, now);
            if (stopAddress is not null)
            {
                return new SignInResult(SignInOutcome.AddressThrottled, LockedUntil: stopAddress);
            }

            return account.Outcome == SignInOutcome.LockedOut ? account : Outcome(byPair);
        }
    }

    /// <summary>Lifts every address's lock on the account (a password reset).</summary>
    private void ForgetPairs(string email)
    {
        var prefix = email.ToLowerInvariant() + "\n";
        lock (_countsGate)
        {
            foreach (var key in _pairFailures.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                _pairFailures.Remove(key);
            }
        }
    }

    private SignInResult CountUnknown(string email, DateTimeOffset now)
    {
        lock (_countsGate)
        {
            if (_unknownFailures.Count > MaxRememberedUnknown)
            {
                _unknownFailures.Clear(); // made-up emails are free to send: bound what they can make us hold
            }

            var before = _unknownFailures.GetValueOrDefault(email);
            if (before.LockedUntil > now)
            {
                return new SignInResult(SignInOutcome.LockedOut, LockedUntil: before.LockedUntil);
            }

            return Outcome(_unknownFailures[email] = CountFailure(before, MaxFailedSignInsPerAccount, now));
        }
    }

    /// <summary>
    /// One more wrong password against a count: the <paramref name="max"/>th in a row locks for
    /// <see cref="LockoutDuration"/> (and the count starts again), and a lock that has run out starts a fresh count.
    /// </summary>
    private static (int Failed, DateTimeOffset? LockedUntil) CountFailure((int Failed, DateTimeOffset? LockedUntil) before, int max, DateTimeOffset now)
    {
        var failed = before.LockedUntil is null ? before.Failed + 1 : 1;
        return failed >= max ? (0, now + LockoutDuration) : (failed, null);
    }

    /// <summary>What a count just updated answers: locked, or a plain wrong password.</summary>
    private static SignInResult Outcome((int Failed, DateTimeOffset? LockedUntil) counted) =>
        counted.LockedUntil is { } until
            ? new SignInResult(SignInOutcome.LockedOut, LockedUntil: until)
            : new SignInResult(SignInOutcome.InvalidCredentials);

    private void WriteFailures(string id, int failed, DateTimeOffset? lockedUntil)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "UPDATE members SET failed_sign_ins = $failed, locked_until = $until WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$failed", failed);
        command.Parameters.AddWithValue("$until", lockedUntil is { } until ? until.ToUnixTimeMilliseconds() : DBNull.Value);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
