using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Time.Testing;
using Tandem.Storage.Sqlite;
using Tandem.Trust;
using SignInResult = Tandem.Trust.SignInResult;

namespace Tandem.Tests.Trust;

/// <summary>
/// What an attacker learns, and what they cost the server, through password sign-in: the registry on
/// its own, with a hasher that counts (or holds) its PBKDF2 computations instead of timing them.
/// </summary>
public sealed class SignInAttackTests : IDisposable
{
    private const string Password = "correct horse battery";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tandem-signin-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    public SignInAttackTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public void WrongPassword_KnownAndUnknownEmail_CostTheSameNumberOfHashes()
    {
        var hasher = new CountingHasher();
        var members = Open(hasher);
        members.Add("ada@example.com", "Ada", [Roles.Marketer], Password);
        var noPassword = members.Add("bob@example.com", "Bob", [Roles.Marketer], Password)!;

        var known = Hashes(hasher, () => members.SignIn("ada@example.com", "not the password", "10.0.0.1"));
        var unknown = Hashes(hasher, () => members.SignIn("eve@example.com", "not the password", "10.0.0.2"));
        var disabled = Hashes(hasher, () =>
        {
            members.Update(noPassword with { Disabled = true });
            return members.SignIn("bob@example.com", Password, "10.0.0.3");
        });

        Assert.Equal(1, known);
        Assert.Equal(known, unknown);
        Assert.Equal(known, disabled);
    }

    [Fact]
    public void ThrottledSignIn_IsRefusedBeforeHashing()
    {
        var hasher = new CountingHasher();
        var members = Open(hasher);
        members.Add("ada@example.com", "Ada", [Roles.Marketer], Password);
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            members.SignIn("ada@example.com", "guess " + i, "10.0.0.1");
        }

        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            members.SignIn("eve@example.com", "guess " + i, "10.0.0.2");
        }

        var lockedKnown = Hashes(hasher, () => members.SignIn("ada@example.com", Password, "10.0.0.1"));
        var lockedUnknown = Hashes(hasher, () => members.SignIn("eve@example.com", "guess again", "10.0.0.2"));

        Assert.Equal(0, lockedKnown);
        Assert.Equal(0, lockedUnknown);
        Assert.Equal(SignInOutcome.LockedOut, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
    }

    [Fact]
    public void FifthWrongPassword_Locks_AndLaterAttemptsMeetThatSameLock()
    {
        // Refused before hashing, the later attempts neither lift the lock nor start a new one.
        var members = Open(new CountingHasher());
        members.Add("ada@example.com", "Ada", [Roles.Marketer], Password);
        var results = Enumerable.Range(0, MemberRegistry.MaxFailedSignIns + 3).Select(i => members.SignIn("ada@example.com", "guess " + i, "10.0.0.1")).ToList();

        Assert.All(results.Take(MemberRegistry.MaxFailedSignIns - 1), r => Assert.Equal(SignInOutcome.InvalidCredentials, r.Outcome));
        Assert.All(results.Skip(MemberRegistry.MaxFailedSignIns - 1), r => Assert.Equal(SignInOutcome.LockedOut, r.Outcome));
        Assert.Equal(results[MemberRegistry.MaxFailedSignIns - 1].LockedUntil, results[^1].LockedUntil);
    }

    [Fact]
    public void DisabledMember_RightPassword_IsCountedLikeAWrongOne()
    {
        // A right password that never moved the count towards a lock would confirm itself.
        var members = Open(new CountingHasher());
        var ada = members.Add("ada@example.com", "Ada", [Roles.Marketer], Password)!;
        members.Update(ada with { Disabled = true });
        var results = Enumerable.Range(0, MemberRegistry.MaxFailedSignIns).Select(_ => members.SignIn("ada@example.com", Password, "10.0.0.1")).ToList();

        Assert.All(results.SkipLast(1), r => Assert.Equal(SignInOutcome.Disabled, r.Outcome));
        Assert.Equal(SignInOutcome.LockedOut, results[^1].Outcome);
    }

    [Fact]
    public async Task TwoSignIns_HashAtTheSameTime_NoLockIsHeldWhileHashing()
    {
        // Each verification waits until the other has started: that can only happen when neither
        // holds a lock the other needs while it hashes. A lock held across hashing times out here.
        using var hasher = new MeetingHasher(2);
        var members = Open(hasher);
        members.Add("ada@example.com", "Ada", [Roles.Marketer], Password);
        members.Add("bob@example.com", "Bob", [Roles.Marketer], Password);

        var both = await Task.WhenAll(
            Task.Run(() => members.SignIn("ada@example.com", "wrong password 1", "10.0.0.1")),
            Task.Run(() => members.SignIn("bob@example.com", Password, "10.0.0.2")));

        Assert.Equal(SignInOutcome.InvalidCredentials, both[0].Outcome);
        Assert.Equal(SignInOutcome.SignedIn, both[1].Outcome);
        Assert.True(hasher.AllMet, "a sign-in hashed while the other waited on a lock");
    }

    private readonly List<SqliteMemberStore> _stores = [];

    private MemberRegistry Open(IPasswordHasher<Member> hasher)
    {
        var store = SqliteMemberStore.Open(_directory);
        _stores.Add(store);
        return new MemberRegistry(store, _clock, hasher);
    }

    private static long Hashes(CountingHasher hasher, Func<SignInResult> signIn)
    {
        var before = hasher.Verifications;
        signIn();
        return hasher.Verifications - before;
    }

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    /// <summary>The real hasher, counting its verifications (each one full PBKDF2).</summary>
    private sealed class CountingHasher : IPasswordHasher<Member>
    {
        private readonly PasswordHasher<Member> _real = new();
        private long _verifications;

        public long Verifications => Interlocked.Read(ref _verifications);

        public string HashPassword(Member user, string password) => _real.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(Member user, string hashedPassword, string providedPassword)
        {
            Interlocked.Increment(ref _verifications);
            return _real.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    /// <summary>The real hasher, whose verifications each wait (bounded) until all the expected ones have begun.</summary>
    private sealed class MeetingHasher(int expected) : IPasswordHasher<Member>, IDisposable
    {
        private readonly PasswordHasher<Member> _real = new();
        private readonly CountdownEvent _arrived = new(expected);
        private int _missed;

        public bool AllMet => Volatile.Read(ref _missed) == 0;

        public string HashPassword(Member user, string password) => _real.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(Member user, string hashedPassword, string providedPassword)
        {
            if (!_arrived.IsSet)
            {
                _arrived.Signal();
            }

            if (!_arrived.Wait(TimeSpan.FromSeconds(10)))
            {
                Interlocked.Increment(ref _missed);
            }

            return _real.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }

        public void Dispose() => _arrived.Dispose();
    }
}
