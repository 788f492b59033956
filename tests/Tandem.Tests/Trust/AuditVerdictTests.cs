using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The exact verdict an auditor reads for each kind of tampering: whether the log is intact, the first
/// record at fault, the kind, and the full sentence, all as docs/trust.md "Verdicts, word for word"
/// states them. The words say what was cut or rewritten, so they are the promise, not decoration.
/// </summary>
public sealed partial class AuditVerdictTests : IDisposable
{
    private const string Key = "a-test-audit-key-of-forty-characters-123";
    private readonly string _root = Directory.CreateTempSubdirectory("tandem-verdict-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    public AuditVerdictTests() => Directory.CreateDirectory(Data);

    private string Data => Path.Combine(_root, "data");

    private string AnchorPath => Path.Combine(Data, "audit.head");

    private string DatabasePath => Path.Combine(Data, "audit.db");

    private AuditKey TheKey => AuditKey.Load(null, Key, Data)!;

    [Fact]
    public void OneRecordMissingInTheMiddle_NamesItAndBothNeighbours()
    {
        Append(5);
        Tamper("DELETE FROM audit WHERE seq = 3");

        AssertBroken(3, "missing", "Record #3 is missing: the log goes from #2 to #4.");
    }

    [Fact]
    public void ARangeMissing_NamesTheRange()
    {
        Append(5);
        Tamper("DELETE FROM audit WHERE seq IN (2, 3)");

        AssertBroken(2, "missing", "Records #2 to #3 are missing: the log goes from #1 to #4.");
    }

    [Fact]
    public void FirstRecordMissing_SaysTheLogGoesFromItsStart()
    {
        Append(5);
        Tamper("DELETE FROM audit WHERE seq = 1");

        AssertBroken(1, "missing", "Record #1 is missing: the log goes from its start to #2.");
    }

    [Fact]
    public void NewestRecordRemoved_NamesThatOneRecord()
    {
        Append(5);
        Tamper("DELETE FROM audit WHERE seq = 5");

        AssertBroken(5, "removed", "The newest record #5 was removed: the anchor says the head is #5, but the log ends at #4.");
    }

    [Fact]
    public void SeveralNewestRecordsRemoved_NamesTheRange()
    {
        Append(5);
        Tamper("DELETE FROM audit WHERE seq >= 4");

        AssertBroken(4, "removed", "The newest records #4 to #5 were removed: the anchor says the head is #5, but the log ends at #3.");
    }

    [Fact]
    public void LogEmptied_SaysItEndsAtNoRecord()
    {
        Append(5);
        Tamper("DELETE FROM audit");

        AssertBroken(1, "removed", "The newest records #1 to #5 were removed: the anchor says the head is #5, but the log ends at no record.");
    }

    [Fact]
    public void OneRecordLogEmptied_NamesTheRecordAndNoRecord()
    {
        Append(1);
        Tamper("DELETE FROM audit");

        AssertBroken(1, "removed", "The newest record #1 was removed: the anchor says the head is #1, but the log ends at no record.");
    }

    [Fact]
    public void EmptyLogWithItsAnchor_IsIntactWithZeroRecordsAndTheGenesisHead()
    {
        Append(0);

        Assert.Equal(new AuditVerification(true, 0, 0, new string('0', 64)), AuditChain.Verify(Data));
    }

    [Theory]
    [InlineData("no hash")]
    [InlineData("uppercase hex")]
    [InlineData("63 digits")]
    [InlineData("65 digits")]
    [InlineData("negative seq")]
    [InlineData("short mac")]
    public void AnchorThatIsNotASeqAndAHash_CannotBeRead(string flaw)
    {
        Append(5);
        var hash = HashOf(5);
        WriteAnchor(flaw switch
        {
            "no hash" => """{"seq":5,"at":null}""",
            "uppercase hex" => $$"""{"seq":5,"hash":"{{hash.ToUpperInvariant()}}","at":null}""",
            "63 digits" => $$"""{"seq":5,"hash":"{{hash[..63]}}","at":null}""",
            "65 digits" => $$"""{"seq":5,"hash":"{{hash}}0","at":null}""",
            "negative seq" => $$"""{"seq":-1,"hash":"{{hash}}","at":null}""",
            _ => $$"""{"seq":5,"hash":"{{hash}}","at":null,"mac":"abcdef"}""",
        });

        AssertBroken(null, "anchor_missing",
            "The anchor audit.head cannot be read (it does not hold a seq and a SHA-256 hash), so removal of the newest records cannot be ruled out.");
    }

    [Fact]
    public void AnchorThatIsNotJson_CannotBeRead_AndSaysWhereTheJsonFails()
    {
        Append(5);
        WriteAnchor("head is 5");

        AssertBroken(null, "anchor_missing",
            "The anchor audit.head cannot be read (it is not the JSON Tandem writes: 'h' is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0.), "
            + "so removal of the newest records cannot be ruled out.");
    }

    [Fact]
    public void AnchorThatCannotBeOpened_CannotBeRead_AndSaysWhy()
    {
        Append(5);
        File.Delete(AnchorPath);
        File.CreateSymbolicLink(AnchorPath, AnchorPath); // a link to itself: opening it fails with an I/O error

        AssertBroken(null, "anchor_missing",
            $"The anchor audit.head cannot be read (Too many levels of symbolic links : '{AnchorPath}'), so removal of the newest records cannot be ruled out.");
    }

    [Fact]
    public void AnchorDeleted_WhileRecordsExist_SaysUpToWhichRecord()
    {
        Append(5);
        File.Delete(AnchorPath);

        AssertBroken(null, "anchor_missing",
            "The anchor audit.head is missing while the log holds records up to #5, so removal of the newest records cannot be ruled out.");
    }

    [Fact]
    public void AnchorOlderByTwo_ReportsTheUncoveredRecords()
    {
        Append(5);
        WriteAnchor($$"""{"seq":3,"hash":"{{HashOf(3)}}","at":null}""");

        AssertBroken(4, "unanchored",
            "Records #4 to #5 are not covered by the anchor, which says the head is #3: they were added without the server, or the anchor was replaced by an older one.");
    }

    [Fact]
    public void AnchorOlderByOne_IsIntact_AsAfterACrashBetweenCommitAndAnchor()
    {
        Append(5);
        WriteAnchor($$"""{"seq":4,"hash":"{{HashOf(4)}}","at":null}""");

        Assert.Equal(new AuditVerification(true, 5, 5, HashOf(5)), AuditChain.Verify(Data));
    }

    [Fact]
    public void AnchorHoldingAnotherHash_ReportsTheMismatch()
    {
        Append(5);
        WriteAnchor($$"""{"seq":5,"hash":"{{HashOf(4)}}","at":null}""");

        AssertBroken(5, "anchor_mismatch",
            "Record #5 does not match the anchor, which holds another hash for it: it was rewritten with a recomputed hash, or the anchor was edited.");
    }

    [Fact]
    public void FieldEdited_SaysTheContentNoLongerMatchesItsHash()
    {
        Append(5);
        Tamper("UPDATE audit SET actor = 'member:mbr_9' WHERE seq = 3");

        AssertBroken(3, "edited", "Record #3 was edited: its content does not match its hash.");
    }

    [Fact]
    public void FirstRecordRelinkedWithARecomputedHash_IsNotLinkedToTheStart()
    {
        Append(5);
        Tamper($"UPDATE audit SET prev_hash = '{new string('1', 64)}' WHERE seq = 1");
        Rehash(1);

        AssertBroken(1, "chain_broken",
            "The chain is broken at record #1: it is not linked to the start of the chain (64 zeros). Records were reordered or rewritten.");
    }

    [Fact]
    public void RecordRewrittenWithARecomputedHash_BreaksTheLinkOfTheNextOne()
    {
        Append(5);
        Tamper("UPDATE audit SET actor = 'member:mbr_9' WHERE seq = 2");
        Rehash(2);

        AssertBroken(3, "chain_broken",
            "The chain is broken at record #3: it does not follow record #2, whose hash differs from the one #3 was linked to. "
            + "Record #2 was rewritten with a recomputed hash, or records were reordered.");
    }

    [Fact]
    public void UnsignedLogWithoutAMacColumn_AsWrittenBeforeMacsExisted_IsIntact()
    {
        Append(5);
        Tamper("ALTER TABLE audit DROP COLUMN mac");

        Assert.Equal(new AuditVerification(true, 5, 5, HashOf(5)), AuditChain.Verify(Data));
    }

    [Theory]
    [InlineData("actor", 3)]
    [InlineData("at", 3)]
    [InlineData("prev_hash", 3)]
    [InlineData("hash", 3)]
    [InlineData("at", 5)]
    [InlineData("hash", 5)]
    public void RequiredColumnSetToNull_IsAnEdit_NotACrash(string column, long seq)
    {
        Append(5);
        // Someone with sqlite3 can drop the NOT NULL constraints too: copy the table without them.
        Tamper("CREATE TABLE loose AS SELECT * FROM audit; DROP TABLE audit; ALTER TABLE loose RENAME TO audit;");
        Tamper($"UPDATE audit SET {column} = NULL WHERE seq = {seq}");

        AssertBroken(seq, "edited", $"Record #{seq} was edited: a column holds a value of the wrong type.");
    }

    [Fact]
    public void SeqSetToNull_IsAnEdit_NotACrash()
    {
        Append(5);
        Tamper("CREATE TABLE loose AS SELECT * FROM audit; DROP TABLE audit; ALTER TABLE loose RENAME TO audit;");
        Tamper("UPDATE audit SET seq = NULL WHERE seq = 3");

        AssertBroken(null, "edited", "A record was edited: its seq is NULL.");
    }

    [Fact]
    public void TextInTheTimeColumn_IsAnEditOfTheContent()
    {
        Append(5);
        Tamper("UPDATE audit SET at = 'noon' WHERE seq = 3");

        AssertBroken(3, "edited", "Record #3 was edited: its content does not match its hash.");
    }

    [Fact]
    public void DatabaseThatIsNotSqlite_CannotBeRead()
    {
        File.WriteAllText(DatabasePath, new string('x', 4096));

        AssertBroken(null, "unreadable", "The audit database audit.db cannot be read: SQLite Error 26: 'file is not a database'.");
    }

    [Fact]
    public void DatabaseMissing_NamesTheFolder()
    {
        AssertBroken(null, "unreadable", $"The audit database audit.db is missing from {Data}.");
    }

    private void Append(int records, string? key = null)
    {
        using var log = TestAudit.Open(new TandemOptions { DataDirectory = Data, AuditKey = key }, _clock);
        for (var i = 1; i <= records; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            log.Append("member:mbr_" + i, "source.update", "source:src_1", after: new JsonObject { ["n"] = i });
        }
    }

    private void AssertBroken(long? seq, string kind, string problem, AuditKey? key = null, AuditCheckpoint? checkpoint = null) =>
        Assert.Equal(new AuditVerification(false, Seq: seq, Kind: kind, Problem: problem), AuditChain.Verify(Data, key, checkpoint));

    private void WriteAnchor(string json) => File.WriteAllText(AnchorPath, json);

    private string HashOf(long seq)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT hash FROM audit WHERE seq = {seq}";
        return (string)command.ExecuteScalar()!;
    }

    /// <summary>What someone who knows the documented formula does after an edit: gives the record a matching hash.</summary>
    private void Rehash(long seq)
    {
        using var connection = Connect();
        AuditFile.Execute(connection, $"UPDATE audit SET hash = '{AuditFile.RecomputedHash(connection, seq)}' WHERE seq = {seq}");
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
