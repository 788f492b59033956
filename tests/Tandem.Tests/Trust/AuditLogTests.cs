using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Cli;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

public sealed class AuditLogTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tandem-audit-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(Start);
    private AuditLog _log;

    public AuditLogTests()
    {
        Directory.CreateDirectory(_directory);
        _log = Open();
    }

    private AuditLog Open() => TestAudit.Open(new TandemOptions { DataDirectory = _directory }, _clock);

    private string AnchorPath => Path.Combine(_directory, AuditLog.AnchorFile);

    [Fact]
    public void Append_LinksEachRecordToThePreviousOne_AndVerifyFindsTheLogIntact()
    {
        var first = _log.Append("member:mbr_1", "source.create", "source:src_1", after: new JsonObject { ["name"] = "Web" });
        _clock.Advance(TimeSpan.FromSeconds(5));
        var second = _log.Append("token:tok_1", "api.call", "GET /api/v1/sources");

        Assert.Equal(1, first.Seq);
        Assert.Equal(new string('0', 64), first.PrevHash);
        Assert.Equal(first.Hash, second.PrevHash);
        Assert.Matches("^[0-9a-f]{64}$", second.Hash);
        Assert.Equal(Start.AddSeconds(5), second.At);
        Assert.Equal(new AuditHead(2, second.Hash, Start.AddSeconds(5)), _log.Head);
        Assert.Contains($"\"hash\":\"{second.Hash}\"", File.ReadAllText(AnchorPath), StringComparison.Ordinal);
        Assert.Equal(new AuditVerification(true, Records: 2, HeadSeq: 2, HeadHash: second.Hash), AuditLog.Verify(_directory));
    }

    [Fact]
    public void Append_StoresJsonCompactlyExactlyAsHashed()
    {
        var record = _log.Append("system", "privacy.delete", "profile:prf_1",
            before: JsonNode.Parse("""{ "email" : "ada@example.com", "tags": [ 1, 2 ] }"""), after: null, detail: "");

        Assert.Equal("""{"email":"ada@example.com","tags":[1,2]}""", Scalar("SELECT before FROM audit WHERE seq = 1"));
        Assert.Equal(DBNull.Value, ScalarObject("SELECT after FROM audit WHERE seq = 1"));
        Assert.Equal("", Scalar("SELECT detail FROM audit WHERE seq = 1"));
        Assert.Equal("ada@example.com", record.Before!["email"]!.GetValue<string>());
        Assert.Equal(record.Hash, AuditChain.Hash(record.PrevHash, 1, Start.ToUnixTimeMilliseconds(), "system", "privacy.delete", "profile:prf_1",
            """{"email":"ada@example.com","tags":[1,2]}""", null, ""));
    }

    [Fact]
    public void Hash_KeepsFieldBoundariesAndNullApartFromEmpty()
    {
        var genesis = AuditChain.GenesisHash;
        var hash = AuditChain.Hash(genesis, 1, 0, "ab", "c", "t", null, null, null);

        Assert.NotEqual(hash, AuditChain.Hash(genesis, 1, 0, "a", "bc", "t", null, null, null));
        Assert.NotEqual(hash, AuditChain.Hash(genesis, 1, 0, "ab", "c", "t", null, null, ""));
        Assert.NotEqual(hash, AuditChain.Hash(genesis, 1, 0, "ab", "c", "t", null, "", null));
        Assert.NotEqual(hash, AuditChain.Hash(genesis, 2, 0, "ab", "c", "t", null, null, null));
        Assert.Equal(hash, AuditChain.Hash(genesis, 1, 0, "ab", "c", "t", null, null, null));
    }

    [Fact]
    public void Query_EachFilter_ReturnsOnlyMatchingRecordsNewestFirst()
    {
        _log.Append("member:mbr_1", "source.create", "source:src_1");
        _clock.Advance(TimeSpan.FromMinutes(1));
        _log.Append("member:mbr_2", "source.rename", "source:src_1");
        _clock.Advance(TimeSpan.FromMinutes(1));
        _log.Append("member:mbr_1", "token.revoke", "token:tok_9");
        _clock.Advance(TimeSpan.FromMinutes(1));
        _log.Append("token:tok_1", "sources.list", "GET /api/v1/sources");

        Assert.Equal([4, 3, 2, 1], Seqs(new AuditQuery()));
        Assert.Equal([3, 1], Seqs(new AuditQuery(Actor: "member:mbr_1")));
        Assert.Equal([2], Seqs(new AuditQuery(Action: "source.rename")));
        Assert.Equal([2, 1], Seqs(new AuditQuery(Action: "source.*")));
        Assert.Equal([], Seqs(new AuditQuery(Action: "source")));
        Assert.Equal([2, 1], Seqs(new AuditQuery(Target: "source:src_1")));
        Assert.Equal([4, 3], Seqs(new AuditQuery(Since: Start.AddMinutes(2))));
        Assert.Equal([2, 1], Seqs(new AuditQuery(Until: Start.AddMinutes(2))));
        Assert.Equal([3, 2], Seqs(new AuditQuery(Since: Start.AddMinutes(1), Until: Start.AddMinutes(3))));
        Assert.Equal([1], Seqs(new AuditQuery(Actor: "member:mbr_1", Action: "source.*")));
    }

    [Fact]
    public void Query_Cursor_PagesThroughEveryRecordOnce_AndNextIsNullAtTheEnd()
    {
        for (var i = 0; i < 5; i++)
        {
            _log.Append("system", "api.call", $"call {i}");
        }

        var first = _log.Query(new AuditQuery(Limit: 2));
        var second = _log.Query(new AuditQuery(Limit: 2, Before: first.Next));
        var third = _log.Query(new AuditQuery(Limit: 2, Before: second.Next));

        Assert.Equal([5, 4], first.Records.Select(r => r.Seq));
        Assert.Equal(4, first.Next);
        Assert.Equal([3, 2], second.Records.Select(r => r.Seq));
        Assert.Equal([1], third.Records.Select(r => r.Seq));
        Assert.Null(third.Next);
        Assert.Null(_log.Query(new AuditQuery(Limit: 5)).Next);
    }

    [Fact]
    public void Append_AfterReopening_ContinuesTheChain()
    {
        var before = _log.Append("system", "workspace.create", "workspace:ws_1");
        Reopen();

        var after = _log.Append("member:mbr_1", "source.create", "source:src_1");

        Assert.Equal(2, after.Seq);
        Assert.Equal(before.Hash, after.PrevHash);
        Assert.True(AuditLog.Verify(_directory).Intact);
        Assert.Equal(2, _log.Query(new AuditQuery()).Records.Count);
    }

    [Fact]
    public async Task Append_FromManyThreads_KeepsSeqDenseAndTheChainIntact()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                _log.Append($"token:tok_{t}", "api.call", $"GET /api/v1/sources?{i}");
            }
        }, TestContext.Current.CancellationToken)));

        var verification = AuditLog.Verify(_directory);
        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(40, verification.Records);
    }

    [Fact]
    public void Verify_RecordAfterEditedWithSqlite_ReportsThatRecordEdited()
    {
        AppendFive();
        Tamper("""UPDATE audit SET after = '{"role":"owner"}' WHERE seq = 3""");

        AssertBroken(3, AuditChain.Edited, "Record #3 was edited");
    }

    [Fact]
    public void Verify_RecordDeletedInTheMiddle_ReportsItMissing()
    {
        AppendFive();
        Tamper("DELETE FROM audit WHERE seq = 2");

        AssertBroken(2, AuditChain.Missing, "Record #2 is missing");
    }

    [Fact]
    public void Verify_FirstRecordsDeleted_ReportsThemMissing()
    {
        AppendFive();
        Tamper("DELETE FROM audit WHERE seq <= 2");

        AssertBroken(1, AuditChain.Missing, "Records #1 to #2 are missing");
    }

    [Fact]
    public void Verify_NewestRecordsDeleted_ReportsTheRemovalFromTheAnchor()
    {
        AppendFive();
        Tamper("DELETE FROM audit WHERE seq >= 4");

        AssertBroken(4, AuditChain.Removed, "records #4 to #5 were removed");
    }

    [Fact]
    public void Verify_EveryRecordDeleted_ReportsTheRemovalFromTheAnchor()
    {
        AppendFive();
        Tamper("DELETE FROM audit");

        AssertBroken(1, AuditChain.Removed, "records #1 to #5 were removed");
    }

    [Fact]
    public void Verify_RecordRewrittenWithARecomputedHash_ReportsTheChainBrokenAtTheNextRecord()
    {
        AppendFive();
        RewriteWithRecomputedHash(2, """{"role":"viewer"}""");

        AssertBroken(3, AuditChain.ChainBroken, "record #3");
    }

    [Fact]
    public void Verify_NewestRecordRewrittenWithARecomputedHash_ReportsTheAnchorMismatch()
    {
        AppendFive();
        RewriteWithRecomputedHash(5, """{"role":"viewer"}""");

        AssertBroken(5, AuditChain.AnchorMismatch, "Record #5 does not match the anchor");
    }

    [Fact]
    public void Verify_TwoRecordsContentsSwapped_ReportsTheFirstOfThem()
    {
        AppendFive();
        Tamper("""
            UPDATE audit SET seq = -1 WHERE seq = 2;
            UPDATE audit SET seq = 2 WHERE seq = 4;
            UPDATE audit SET seq = 4 WHERE seq = -1;
            """);

        AssertBroken(2, AuditChain.Edited, "Record #2 was edited");
    }

    [Fact]
    public void Verify_RecordsSwappedAndEveryHashRecomputed_ReportsTheAnchorMismatch()
    {
        AppendFive();
        Tamper("UPDATE audit SET actor = CASE seq WHEN 2 THEN 'member:mbr_4' WHEN 4 THEN 'member:mbr_2' ELSE actor END");
        for (var seq = 1; seq <= 5; seq++)
        {
            RewriteWithRecomputedHash(seq, after: null, relink: true);
        }

        AssertBroken(5, AuditChain.AnchorMismatch, "Record #5 does not match the anchor");
    }

    [Fact]
    public void Verify_AnchorDeleted_ReportsThatRemovalCannotBeRuledOut()
    {
        AppendFive();
        _log.Dispose();
        File.Delete(AnchorPath);

        AssertBroken(null, AuditChain.AnchorMissing, "audit.head is missing");
    }

    [Fact]
    public void Verify_AnchorUnreadable_SaysSo()
    {
        AppendFive();
        _log.Dispose();
        File.WriteAllText(AnchorPath, "head is 5");

        AssertBroken(null, AuditChain.AnchorMissing, "audit.head cannot be read");
    }

    [Fact]
    public void Verify_DatabaseMissing_SaysSo()
    {
        AppendFive();
        _log.Dispose();
        SqliteConnection.ClearAllPools();
        File.Delete(Path.Combine(_directory, AuditLog.DatabaseFile));

        AssertBroken(null, AuditChain.Unreadable, "audit.db is missing");
    }

    [Fact]
    public void Verify_AnchorOneRecordBehind_IsIntact_AsAfterACrashBetweenCommitAndAnchor()
    {
        AppendFive();
        var anchorAtFour = File.ReadAllBytes(AnchorPath);
        var sixth = _log.Append("system", "api.call", "late");
        _log.Dispose();
        File.WriteAllBytes(AnchorPath, anchorAtFour);
        Assert.True(AuditLog.Verify(_directory).Intact);

        _log = Open();

        Assert.Equal(sixth.Hash, _log.Head.Hash);
        Assert.Contains(sixth.Hash, File.ReadAllText(AnchorPath), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_RecordsAddedBehindAnOlderAnchor_ReportsThemUncovered()
    {
        AppendFive();
        var anchorAtFive = File.ReadAllBytes(AnchorPath);
        _log.Append("system", "api.call", "six");
        _log.Append("system", "api.call", "seven");
        _log.Dispose();
        File.WriteAllBytes(AnchorPath, anchorAtFive);

        AssertBroken(6, AuditChain.Unanchored, "Records #6 to #7 are not covered by the anchor");
    }

    [Fact]
    public void Reopen_AfterTheNewestRecordsWereRemoved_RecordsTheFinding_AndKeepsTheGapVisible()
    {
        AppendFive();
        Tamper("DELETE FROM audit WHERE seq >= 4");

        Reopen();

        var finding = Assert.Single(_log.Query(new AuditQuery(Action: "audit.tail_mismatch")).Records);
        Assert.Equal(6, finding.Seq);
        Assert.Equal("system", finding.Actor);
        Assert.Contains("#4 to #5 were removed", finding.Detail, StringComparison.Ordinal);
        AssertBroken(4, AuditChain.Missing, "Records #4 to #5 are missing");
    }

    [Fact]
    public void Reopen_AfterTheAnchorWasDeleted_RecordsTheFindingInTheChain()
    {
        AppendFive();
        _log.Dispose();
        File.Delete(AnchorPath);

        _log = Open();

        var finding = Assert.Single(_log.Query(new AuditQuery(Action: "audit.*")).Records);
        Assert.Contains("audit.head is missing", finding.Detail, StringComparison.Ordinal);
        Assert.True(AuditLog.Verify(_directory).Intact);
    }

    [Fact]
    public async Task CliVerify_IntactLogOfAStoppedServer_PrintsTheHeadAndExitsZero()
    {
        AppendFive();
        _log.Dispose();
        SqliteConnection.ClearAllPools();

        var (code, output, error) = await RunCliAsync("audit", "verify", "--data", _directory);

        Assert.True(code == 0, error);
        var lines = output.Trim().Split('\n');
        Assert.Equal($"audit log intact: 5 records, head #5 sha256:{_log.Head.Hash}", lines[0]);
        Assert.Contains("no audit key given", lines[1], StringComparison.Ordinal); // says what a check by hashes alone cannot see
    }

    [Fact]
    public async Task CliVerify_TamperedLog_SaysWhereOnStderrAndExitsTwo()
    {
        AppendFive();
        Tamper("""UPDATE audit SET actor = 'member:mbr_nobody' WHERE seq = 4""");

        var (code, output, error) = await RunCliAsync("audit", "verify", "--data", _directory);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("audit log TAMPERED at record #4: Record #4 was edited", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CliVerify_MissingDataFolderOrNoAuditLog_ExplainsAndExitsOne()
    {
        var missing = await RunCliAsync("audit", "verify", "--data", Path.Combine(_directory, "nope"));
        var empty = Directory.CreateDirectory(Path.Combine(_directory, "empty")).FullName;
        var noLog = await RunCliAsync("audit", "verify", "--data", empty);

        Assert.Equal(1, missing.Code);
        Assert.Contains("no data folder", missing.Error, StringComparison.Ordinal);
        Assert.Equal(1, noLog.Code);
        Assert.Contains("no audit log", noLog.Error, StringComparison.Ordinal);
    }

    private void AppendFive()
    {
        for (var i = 1; i <= 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            _log.Append($"member:mbr_{i}", "member.role_change", $"member:mbr_{i}", new JsonObject { ["role"] = "viewer" }, new JsonObject { ["role"] = "admin" });
        }
    }

    private void Reopen()
    {
        _log.Dispose();
        _log = Open();
    }

    private void AssertBroken(long? seq, string kind, string problem)
    {
        var verification = AuditLog.Verify(_directory);
        Assert.False(verification.Intact, "expected a problem, the log verified intact");
        Assert.Equal(kind, verification.Kind);
        Assert.Equal(seq, verification.Seq);
        Assert.Contains(problem, verification.Problem, StringComparison.Ordinal);
    }

    /// <summary>What an attacker who knows the scheme does: change a record and give it its correct new hash.</summary>
    private void RewriteWithRecomputedHash(long seq, string? after, bool relink = false)
    {
        using var connection = Raw();
        if (after is not null)
        {
            Execute(connection, $"UPDATE audit SET after = '{after}' WHERE seq = {seq}");
        }

        if (relink)
        {
            Execute(connection, $"UPDATE audit SET prev_hash = coalesce((SELECT hash FROM audit WHERE seq = {seq - 1}), '{AuditChain.GenesisHash}') WHERE seq = {seq}");
        }

        Execute(connection, $"UPDATE audit SET hash = '{AuditFile.RecomputedHash(connection, seq)}' WHERE seq = {seq}");
    }

    private void Tamper(string sql)
    {
        using var connection = Raw();
        Execute(connection, sql);
    }

    private string Scalar(string sql) => (string)ScalarObject(sql);

    private object ScalarObject(string sql)
    {
        using var connection = Raw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()!;
    }

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, AuditLog.DatabaseFile)};Pooling=false");
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private long[] Seqs(AuditQuery query) => [.. _log.Query(query).Records.Select(r => r.Seq)];

    internal static async Task<(int Code, string Output, string Error)> RunCliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        _log.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; a failed test is not worth hiding behind it.
        }
    }
}
