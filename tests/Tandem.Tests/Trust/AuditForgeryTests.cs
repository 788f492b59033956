using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// Forgery by someone who can write the data folder and knows how records are hashed, but not the
/// audit key: each attack passes a check by hashes alone, and fails one with the key or a checkpoint.
/// </summary>
public sealed class AuditForgeryTests : IDisposable
{
    private const string Key = "a-test-audit-key-of-forty-characters-123";
    private readonly string _root = Directory.CreateTempSubdirectory("tandem-forgery-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    private string Data => Path.Combine(_root, "data");

    private string KeyFile => Path.Combine(_root, "audit.key");

    private string AnchorPath => Path.Combine(Data, AuditLog.AnchorFile);

    private AuditKey TheKey => AuditKey.Load(KeyFile, null, Data)!;

    public AuditForgeryTests()
    {
        Directory.CreateDirectory(Data);
        File.WriteAllText(KeyFile, Key);
    }

    private AuditLog Open(string? key = Key) =>
        TestAudit.Open(new TandemOptions { DataDirectory = Data, AuditKey = key }, _clock);

    private void AppendFive(string? key = Key)
    {
        using var log = Open(key);
        for (var i = 1; i <= 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            log.Append("member:mbr_" + i, "source.update", "source:src_1", after: new JsonObject { ["n"] = i });
        }
    }

    [Fact]
    public void SignedLog_Untouched_VerifiesWithTheKey_AndTheHeadCarriesTheAnchorMac()
    {
        AppendFive();
        using (var log = Open())
        {
            Assert.Equal(TheKey.AnchorMac(log.Head.Seq, log.Head.Hash), log.Head.Mac);
        }

        var verified = AuditLog.Verify(Data, TheKey);
        Assert.True(verified.Intact, verified.Problem);
        Assert.True(verified.Signed);
    }

    [Fact]
    public async Task ForgedRecordAppended_PassesHashesAlone_FailsWithTheKey()
    {
        AppendFive();
        var (seq, hash) = Forge(6);
        WriteAnchor(seq, hash, mac: null);

        Assert.True(AuditLog.Verify(Data).Intact);
        AssertBroken(AuditLog.Verify(Data, TheKey), 6, AuditChain.Unsigned);
        var cli = await AuditLogTests.RunCliAsync("audit", "verify", "--data", Data, "--audit-key-file", KeyFile);
        Assert.Equal(2, cli.Code);
        Assert.Contains("TAMPERED at record #6", cli.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TailCutAndAnchorRewritten_PassesHashesAlone_FailsWithTheKey()
    {
        AppendFive();
        Tamper("DELETE FROM audit WHERE seq = 5");
        WriteAnchor(4, HashOf(4), mac: TheKeyless());

        Assert.True(AuditLog.Verify(Data).Intact);
        AssertBroken(AuditLog.Verify(Data, TheKey), 4, AuditChain.Forged);
    }

    [Fact]
    public void RecordEditedAndChainRecomputed_PassesHashesAlone_FailsWithTheKey()
    {
        AppendFive();
        Tamper("UPDATE audit SET actor = 'member:mbr_9' WHERE seq = 2");
        var previous = HashOf(1);
        for (var seq = 2; seq <= 5; seq++)
        {
            previous = Rehash(seq, previous);
        }

        WriteAnchor(5, previous, mac: null);

        Assert.True(AuditLog.Verify(Data).Intact);
        AssertBroken(AuditLog.Verify(Data, TheKey), 2, AuditChain.Forged);
    }

    [Fact]
    public void LogEmptied_PassesHashesAlone_FailsWithTheKey()
    {
        AppendFive();
        Tamper("DELETE FROM audit");
        File.Delete(AnchorPath);

        Assert.True(AuditLog.Verify(Data).Intact);
        AssertBroken(AuditLog.Verify(Data, TheKey), null, AuditChain.AnchorMissing);
    }

    [Fact]
    public void LogEmptied_ThenTheServerRestartedWithTheKey_RecordsTheFinding()
    {
        AppendFive();
        Tamper("DELETE FROM audit");
        File.Delete(AnchorPath);

        using var log = Open();

        var first = log.Query(new AuditQuery()).Records.Single();
        Assert.Equal("audit.tail_mismatch", first.Action);
        Assert.Contains("emptied", first.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TailCutAndAnOlderGenuineAnchorPutBack_PassesTheKey_FailsAgainstACheckpoint()
    {
        AppendFive();
        var checkpoint = Path.Combine(_root, "checkpoint.json");
        var made = await AuditLogTests.RunCliAsync("audit", "checkpoint", "--data", Data, "--audit-key-file", KeyFile, "--out", checkpoint);
        Assert.Equal(0, made.Code);
        Assert.Contains("\"mac\"", File.ReadAllText(checkpoint), StringComparison.Ordinal);

        // The attacker kept the genuine anchor of an earlier moment, and cuts the log back to it.
        using (var log = Open())
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            log.Append("member:mbr_6", "source.update", "source:src_1");
        }

        var anchorAtSix = File.ReadAllBytes(AnchorPath);
        using (var log = Open())
        {
            log.Append("member:mbr_7", "token.create", "token:tok_7");
        }

        Tamper("DELETE FROM audit WHERE seq = 7");
        File.WriteAllBytes(AnchorPath, anchorAtSix);
        Assert.True(AuditLog.Verify(Data, TheKey).Intact); // the key alone cannot tell an old anchor from the newest

        var extends = await AuditLogTests.RunCliAsync("audit", "verify", "--data", Data, "--audit-key-file", KeyFile, "--checkpoint", checkpoint);
        Assert.Equal(0, extends.Code); // the checkpoint was taken at #5: the log still extends it

        Tamper("DELETE FROM audit WHERE seq >= 4");
        File.WriteAllText(AnchorPath, $$"""{"seq":3,"hash":"{{HashOf(3)}}","at":null,"mac":"{{TheKey.AnchorMac(3, HashOf(3))}}"}""");
        Assert.True(AuditLog.Verify(Data, TheKey).Intact); // as if the attacker had kept the genuine anchor of #3
        var cut = await AuditLogTests.RunCliAsync("audit", "verify", "--data", Data, "--audit-key-file", KeyFile, "--checkpoint", checkpoint);
        Assert.Equal(2, cut.Code);
        Assert.Contains("TAMPERED", cut.Error, StringComparison.Ordinal);
        Assert.Contains("checkpoint", cut.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckpointEdited_IsRefusedWithTheKey()
    {
        AppendFive();
        var checkpoint = Path.Combine(_root, "checkpoint.json");
        Assert.Equal(0, (await AuditLogTests.RunCliAsync("audit", "checkpoint", "--data", Data, "--audit-key-file", KeyFile, "--out", checkpoint)).Code);
        File.WriteAllText(checkpoint, File.ReadAllText(checkpoint).Replace("\"headSeq\": 5", "\"headSeq\": 4", StringComparison.Ordinal));

        var verified = await AuditLogTests.RunCliAsync("audit", "verify", "--data", Data, "--audit-key-file", KeyFile, "--checkpoint", checkpoint);

        Assert.Equal(2, verified.Code);
        Assert.Contains("checkpoint", verified.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyAddedToAnUnsignedLog_SignsFromThereOn_AndRecordsWhere()
    {
        AppendFive(key: null);
        using (var log = Open())
        {
            log.Append("member:mbr_6", "source.update", "source:src_1");
        }

        var verified = AuditLog.Verify(Data, TheKey);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(7, verified.Records);

        // A record without a MAC after signed ones is a forgery.
        var (seq, hash) = Forge(8);
        WriteAnchor(seq, hash, TheKey.AnchorMac(seq, hash)); // even with a genuine-looking anchor (as if the key leaked for the anchor only)
        AssertBroken(AuditLog.Verify(Data, TheKey), 8, AuditChain.Unsigned);
    }

    [Fact]
    public async Task Serve_WithAKeyFileInsideTheDataFolder_IsRefusedWithExit2()
    {
        var inside = Path.Combine(Data, "audit.key");
        File.WriteAllText(inside, Key);

        var (code, _, error) = await AuditLogTests.RunCliAsync("serve", "--data", Data, "--urls", "http://127.0.0.1:0", "--audit-key-file", inside);

        Assert.Equal(2, code);
        Assert.Contains("inside the data folder", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Data, AuditLog.DatabaseFile)));
    }

    [Fact]
    public async Task Serve_WithAShortKey_IsRefusedWithExit2()
    {
        File.WriteAllText(KeyFile, "too-short");

        var (code, _, error) = await AuditLogTests.RunCliAsync("serve", "--data", Data, "--urls", "http://127.0.0.1:0", "--audit-key-file", KeyFile);

        Assert.Equal(2, code);
        Assert.Contains("at least 32", error, StringComparison.Ordinal);
    }

    private static string TheKeyless() => new('0', 64);

    private static void AssertBroken(AuditVerification verification, long? seq, string kind)
    {
        Assert.False(verification.Intact);
        Assert.Equal(kind, verification.Kind);
        Assert.Equal(seq, verification.Seq);
    }

    private void WriteAnchor(long seq, string hash, string? mac) =>
        File.WriteAllText(AnchorPath, mac is null
            ? $$"""{"seq":{{seq}},"hash":"{{hash}}","at":null}"""
            : $$"""{"seq":{{seq}},"hash":"{{hash}}","at":null,"mac":"{{mac}}"}""");

    /// <summary>Appends a record as the server would, hash and link correct, without the key.</summary>
    private (long Seq, string Hash) Forge(long seq)
    {
        var previous = HashOf(seq - 1);
        var hash = AuditChain.Hash(previous, seq, 0, "member:mbr_1", "token.create", "token:tok_evil", null, null, null);
        Tamper($"INSERT INTO audit(seq, at, actor, action, target, prev_hash, hash) VALUES ({seq}, 0, 'member:mbr_1', 'token.create', 'token:tok_evil', '{previous}', '{hash}')");
        return (seq, hash);
    }

    private string Rehash(long seq, string previous)
    {
        using var connection = Connect();
        var hash = AuditFile.RecomputedHash(connection, seq, previous);
        AuditFile.Execute(connection, $"UPDATE audit SET prev_hash = '{previous}', hash = '{hash}' WHERE seq = {seq}");
        return hash;
    }

    private string HashOf(long seq)
    {
        if (seq == 0)
        {
            return AuditChain.GenesisHash;
        }

        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT hash FROM audit WHERE seq = {seq}";
        return (string)command.ExecuteScalar()!;
    }

    private void Tamper(string sql) => AuditFile.Execute(Data, sql);

    private SqliteConnection Connect() => AuditFile.Open(Data);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
