using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>docs/trust.md "Verdicts, word for word": the verdicts that need the audit key or a checkpoint.</summary>
public sealed partial class AuditVerdictTests
{
    [Fact]
    public void AnchorWithoutAMac_UnderTheKey_IsUnsigned()
    {
        Append(5, Key);
        WriteAnchor($$"""{"seq":5,"hash":"{{HashOf(5)}}","at":null}""");

        AssertBroken(5, "unsigned", "The anchor audit.head carries no MAC: it was written without the key, or replaced by someone who does not hold it.", TheKey);
    }

    [Fact]
    public void AnchorWithAWrongMac_UnderTheKey_IsForged()
    {
        Append(5, Key);
        WriteAnchor($$"""{"seq":5,"hash":"{{HashOf(5)}}","at":null,"mac":"{{new string('a', 64)}}"}""");

        AssertBroken(5, "forged",
            "The anchor audit.head carries a MAC this key did not make: it was rewritten (after cutting or replacing records), or the key is not the server's.", TheKey);
    }

    [Fact]
    public void SignedLogEmptiedAndAnchorDeleted_UnderTheKey_SaysTheLogWasEmptied()
    {
        Append(5, Key);
        Tamper("DELETE FROM audit");
        File.Delete(AnchorPath);

        AssertBroken(null, "anchor_missing",
            "The anchor audit.head is missing and the log is empty: a signed log always has a signed anchor, so the log was emptied (or this is not the folder the server writes).",
            TheKey);
    }

    [Fact]
    public void RecordWithAWrongMac_UnderTheKey_IsForged()
    {
        Append(5, Key);
        Tamper($"UPDATE audit SET mac = '{new string('a', 64)}' WHERE seq = 3");

        AssertBroken(3, "forged",
            "Record #3 carries a MAC this key did not make: it was added or rewritten without the key (or the key is not the server's).", TheKey);
    }

    [Fact]
    public void RecordWithoutAMacAfterSignedOnes_UnderTheKey_NamesTheFirstSignedRecord()
    {
        Append(5, Key);
        Tamper("UPDATE audit SET mac = NULL WHERE seq = 4");

        AssertBroken(4, "unsigned",
            "Record #4 carries no MAC although the records from #1 on are signed: it was added or rewritten by someone who does not hold the key.", TheKey);
    }

    [Fact]
    public void CheckpointHeadStillThere_IsIntact()
    {
        Append(5);
        var checkpoint = new AuditCheckpoint(5, 5, HashOf(5), _clock.GetUtcNow(), null);

        Assert.Equal(new AuditVerification(true, 5, 5, HashOf(5)), AuditChain.Verify(Data, null, checkpoint));
    }

    [Fact]
    public void LogCutBelowTheCheckpoint_SaysWhereItEndsAndWhatTheCheckpointHeld()
    {
        Append(5);
        var checkpoint = new AuditCheckpoint(5, 5, HashOf(5), _clock.GetUtcNow(), null);
        Tamper("DELETE FROM audit WHERE seq >= 4");

        AssertBroken(4, "checkpoint_mismatch",
            "The log ends at #3, but the checkpoint of 2026-11-23 12:00:05Z holds records up to #5: records were removed since.", checkpoint: checkpoint);
    }

    [Fact]
    public void LogEmptiedBelowTheCheckpoint_SaysItEndsAtNoRecord()
    {
        Append(5);
        var checkpoint = new AuditCheckpoint(5, 5, HashOf(5), _clock.GetUtcNow(), null);
        Tamper("DELETE FROM audit");

        AssertBroken(1, "checkpoint_mismatch",
            "The log ends at no record, but the checkpoint of 2026-11-23 12:00:05Z holds records up to #5: records were removed since.", checkpoint: checkpoint);
    }

    [Fact]
    public void CheckpointRecordReplaced_NamesTheRecordAndTheCheckpoint()
    {
        Append(5);
        var checkpoint = new AuditCheckpoint(3, 3, new string('b', 64), new DateTimeOffset(2026, 11, 23, 12, 0, 3, TimeSpan.Zero), null);

        AssertBroken(3, "checkpoint_mismatch",
            "Record #3 is not the one the checkpoint of 2026-11-23 12:00:03Z holds: the log was rewritten since (or emptied and refilled).", checkpoint: checkpoint);
    }
}
