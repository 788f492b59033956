using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Time.Testing;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The member store on its own: what an admin's change, a removal, a password reset and a sign-in
/// leave in <c>tandem.db</c>, read back by a new registry as a restart would. Found by mutation testing:
/// these paths were reached only through HTTP tests that never reopened the store.
/// </summary>
public sealed class MemberRegistryTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("tandem-members-");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private readonly List<SqliteMemberStore> _stores = [];

    /// <summary>A registry on its own store, as a restart opens it.</summary>
    private MemberRegistry Open(IPasswordHasher<Member>? hasher = null)
    {
        var store = SqliteMemberStore.Open(_data.FullName);
        _stores.Add(store);
        return new MemberRegistry(store, _clock, hasher ?? new PlainPasswordHasher("v2"));
    }

    [Fact]
    public void Update_NameRolesAndDisabled_AreKeptAcrossARestart()
    {
        string id;
        {
            var members = Open();
            var ada = members.Add("ada@example.com", "Ada", ["marketer"], Password)!;
            id = ada.Id;
            members.Update(ada with { Name = "Ada L.", Roles = ["analyst", "viewer"], Disabled = true });
        }

        {
            var members = Open();
            var ada = members.Find(id)!;
            Assert.Equal(("Ada L.", true), (ada.Name, ada.Disabled));
            Assert.Equal(["analyst", "viewer"], ada.Roles);
            members.Update(ada with { Disabled = false });
        }

        {
            var members = Open();
            Assert.False(members.Find(id)!.Disabled);
        }
    }

    [Fact]
    public void Add_AnEmailTakenInAnyCase_IsRefused()
    {
        var members = Open();
        Assert.NotNull(members.Add("ada@example.com", "Ada", ["admin"], Password));
        Assert.Null(members.Add("ADA@Example.com", "Other Ada", ["viewer"], Password));
        Assert.Single(members.All);
    }

    [Fact]
    public void All_IsOldestFirst_ThenById()
    {
        var members = Open();
        var first = members.Add("first@example.com", "First", ["admin"], Password)!;
        _clock.Advance(TimeSpan.FromSeconds(1));
        var second = members.Add("second@example.com", "Second", ["viewer"], Password)!;
        var third = members.Add("third@example.com", "Third", ["viewer"], Password)!;

        var sameTime = new[] { second.Id, third.Id }.Order(StringComparer.Ordinal);
        Assert.Equal([first.Id, .. sameTime], members.All.Select(m => m.Id));
    }

    [Fact]
    public void Remove_TakesTheMemberOutForGood_AndSaysWhenThereWasNone()
    {
        string id;
        {
            var members = Open();
            id = members.Add("ada@example.com", "Ada", ["admin"], Password)!.Id;
            Assert.True(members.Remove(id));
            Assert.False(members.Remove(id));
            Assert.Null(members.Find(id));
        }

        {
            var members = Open();
            Assert.Null(members.Find(id));
            Assert.Equal(SignInOutcome.InvalidCredentials, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        }
    }

    [Fact]
    public void SetPassword_ReplacesTheOldOne_LiftsTheLockout_AndEndsSessions()
    {
        var members = Open();
        var ada = members.Add("ada@example.com", "Ada", ["admin"], Password)!;
        for (var i = 0; i < 5; i++)
        {
            members.SignIn("ada@example.com", "wrong password", "10.0.0.1");
        }

        Assert.Equal(SignInOutcome.LockedOut, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);

        members.SetPassword(ada.Id, "a brand new passphrase");

        Assert.NotEqual(ada.SessionStamp, members.Find(ada.Id)!.SessionStamp);
        Assert.Equal(SignInOutcome.InvalidCredentials, members.SignIn("ada@example.com", Password, "10.0.0.2").Outcome);
        Assert.Equal(SignInOutcome.SignedIn, members.SignIn("ada@example.com", "a brand new passphrase", "10.0.0.1").Outcome);
        var missing = Assert.Throws<InvalidOperationException>(() => members.SetPassword("mbr_nobody", "whatever it is"));
        Assert.Equal("No member mbr_nobody.", missing.Message);
    }

    [Fact]
    public void EndSessions_GivesANewStamp_KeptAcrossARestart()
    {
        string id, stamp;
        {
            var members = Open();
            var ada = members.Add("ada@example.com", "Ada", ["admin"], Password)!;
            id = ada.Id;
            members.EndSessions(id);
            stamp = members.Find(id)!.SessionStamp;
            Assert.NotEqual(ada.SessionStamp, stamp);
            members.EndSessions("mbr_nobody");
        }

        {
            var members = Open();
            Assert.Equal(stamp, members.Find(id)!.SessionStamp);
        }
    }

    [Fact]
    public void SignIn_WithAnOutdatedHash_StoresTheNewHash()
    {
        {
            var members = Open(new PlainPasswordHasher("v1"));
            members.Add("ada@example.com", "Ada", ["admin"], Password);
        }

        // This hasher verifies v1 hashes but asks for a rehash; the next one knows only v2.
        {
            var members = Open(new PlainPasswordHasher("v2", accepts: "v1"));
            Assert.Equal(SignInOutcome.SignedIn, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        }

        {
            var members = Open(new PlainPasswordHasher("v2"));
            Assert.Equal(SignInOutcome.SignedIn, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        }
    }

    [Fact]
    public void Update_FromACopyReadBeforeSessionsEnded_KeepsThemEnded()
    {
        var members = Open();
        var before = members.Add("ada@example.com", "Ada", ["admin"], Password)!;
        members.EndSessions(before.Id);
        var ended = members.Find(before.Id)!.SessionStamp;

        // An admin's rename, made from a copy read before the sessions ended, must not bring the old stamp back.
        members.Update(before with { Name = "Ada L." });

        Assert.Equal(ended, members.Find(before.Id)!.SessionStamp);
        Assert.NotEqual(before.SessionStamp, ended);
    }

    [Fact]
    public void AnEmailLockedWhileNoMemberHadIt_DoesNotLockTheMemberCreatedWithItLater()
    {
        var members = Open();
        for (var i = 0; i < 20; i++)
        {
            members.SignIn("newcomer@example.com", "a guess", $"10.0.{i}.1");
        }

        Assert.Equal(SignInOutcome.LockedOut, members.SignIn("newcomer@example.com", "a guess", "10.0.99.1").Outcome);

        members.Add("newcomer@example.com", "Newcomer", ["viewer"], Password);

        Assert.Equal(SignInOutcome.SignedIn, members.SignIn("newcomer@example.com", Password, "10.0.99.2").Outcome);
    }

    [Fact]
    public void AnUnknownEmail_CostsOnePasswordCheck_AsAMembersEmailDoes()
    {
        var hasher = new CountingHasher();
        var members = Open(hasher);
        members.Add("ada@example.com", "Ada", ["admin"], Password);

        members.SignIn("ada@example.com", "wrong password", "10.0.0.1");
        Assert.Equal(1, hasher.Verified);
        members.SignIn("nobody@example.com", "wrong password", "10.0.0.1");
        Assert.Equal(2, hasher.Verified);
    }

    [Fact]
    public void SignIn_WithAHashThatNeedsNoUpdate_DoesNotHashAgain()
    {
        var hasher = new CountingHasher();
        var members = Open(hasher);
        members.Add("ada@example.com", "Ada", ["admin"], Password);
        var hashedBefore = hasher.Hashed; // the store hashes a decoy when it opens, and Ada's password once

        Assert.Equal(SignInOutcome.SignedIn, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        Assert.Equal(hashedBefore, hasher.Hashed);
    }

    [Fact]
    public void ADisabledMember_IsToldDisabled_WithTheRightPasswordOrAWrongOne()
    {
        var members = Open();
        var ada = members.Add("ada@example.com", "Ada", ["marketer"], Password)!;
        members.Update(ada with { Disabled = true });

        Assert.Equal(SignInOutcome.Disabled, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        Assert.Equal(SignInOutcome.Disabled, members.SignIn("ada@example.com", "wrong password", "10.0.0.1").Outcome);
    }

    [Fact]
    public void ASuccessfulSignIn_StartsTheAddressCountAgain()
    {
        var members = Open();
        members.Add("ada@example.com", "Ada", ["admin"], Password);
        for (var i = 0; i < 4; i++)
        {
            members.SignIn("ada@example.com", "wrong password", "10.0.0.1");
        }

        Assert.Equal(SignInOutcome.SignedIn, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(SignInOutcome.InvalidCredentials, members.SignIn("ada@example.com", "wrong password", "10.0.0.1").Outcome);
        }

        Assert.Equal(SignInOutcome.LockedOut, members.SignIn("ada@example.com", "wrong password", "10.0.0.1").Outcome);
    }

    [Fact]
    public void AMemberWithoutAPasswordHash_AsAHandEditedFileLeavesIt_CannotSignIn()
    {
        string id;
        {
            var members = Open();
            id = members.Add("ada@example.com", "Ada", ["admin"], Password)!.Id;
        }

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_data.FullName, "tandem.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE members SET password_hash = NULL WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        {
            var members = Open();
            Assert.Equal(SignInOutcome.InvalidCredentials, members.SignIn("ada@example.com", Password, "10.0.0.1").Outcome);
        }
    }

    /// <summary>Counts the expensive calls; verifies as <see cref="PlainPasswordHasher"/> does.</summary>
    private sealed class CountingHasher : IPasswordHasher<Member>
    {
        private readonly PlainPasswordHasher _inner = new("v2");

        public int Hashed { get; private set; }

        public int Verified { get; private set; }

        public string HashPassword(Member user, string password)
        {
            Hashed++;
            return _inner.HashPassword(user, password);
        }

        public PasswordVerificationResult VerifyHashedPassword(Member user, string hashedPassword, string providedPassword)
        {
            Verified++;
            return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}
