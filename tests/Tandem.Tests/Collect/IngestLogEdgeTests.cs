using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Collect;
using Tandem.Storage.Sqlite;

namespace Tandem.Tests.Collect;

/// <summary>
/// The ingest log on its own, at the edges its promises depend on: the dedup window to the
/// millisecond, group bounds, what a deletion leaves (in memory, in the file, in the write-ahead log,
/// in the head), a failed commit, and refusals stored while a privacy request is deleting them. Found
/// by mutation testing (docs/testing.md): each test here kills changes that every server-level test let
/// through.
/// </summary>
public sealed class IngestLogEdgeTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("tandem-log-");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _data.Delete(recursive: true);

    private IngestLog Open(IngestLogOptions? options = null) => new(_data.FullName, options ?? new IngestLogOptions(), _clock);

    private static StampedMessage Message(string messageId, string marker = "") =>
        new(0, MessageType.Track, messageId, Encoding.UTF8.GetBytes($$"""{"type":"track","messageId":"{{messageId}}","event":"E{{marker}}"}"""));

    private static Rejection Refusal(string who) =>
        new(null, "invalid_json", "$", "test refusal", Encoding.UTF8.GetBytes($$"""{"userId":"{{who}}"}"""));

    private async Task<AppendResult> AppendAsync(IngestLog log, params StampedMessage[] messages) =>
        await (log.TryAppend(1, messages, [], _clock.GetUtcNow()) ?? throw new InvalidOperationException("refused"));

    private async Task RefuseAsync(IngestLog log, string who) =>
        await (log.TryAppend(1, [], [Refusal(who)], _clock.GetUtcNow()) ?? throw new InvalidOperationException("refused"));

    // docs/collect.md, Deduplication: "within the dedup window (24 hours by default)".
    [Fact]
    public async Task Dedup_ARetryExactly24HoursLater_IsStillADuplicate_OneMillisecondLaterIsStored()
    {
        using var log = Open();
        Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Stored);

        _clock.Advance(TimeSpan.FromHours(24));
        Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Deduplicated);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Stored);
    }

    [Fact]
    public async Task Dedup_AfterARestart_HoldsTheWindowToTheSameMillisecond()
    {
        using (var log = Open())
        {
            await AppendAsync(log, Message("m-1"));
        }

        _clock.Advance(TimeSpan.FromHours(24));
        using (var log = Open())
        {
            Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Deduplicated);
        }

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        using (var log = Open())
        {
            Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Stored);
        }
    }

    [Fact]
    public async Task Dedup_AnEventStoredAgainAfterTheWindow_IsGuardedForAFullWindowFromThen()
    {
        using var log = Open();
        await AppendAsync(log, Message("m-1"));
        _clock.Advance(TimeSpan.FromHours(1));
        await AppendAsync(log, Message("m-2"));

        _clock.Advance(TimeSpan.FromHours(23) + TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Stored);

        // An hour on, m-2's window has ended, but m-1 was stored again an hour ago: still a duplicate.
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, (await AppendAsync(log, Message("m-1"))).Deduplicated);
        Assert.Equal(1, (await AppendAsync(log, Message("m-2"))).Stored);
    }

    [Fact]
    public async Task Committed_IsRaisedOncePerCommit_AfterTheHeadMoved()
    {
        using var log = Open();
        var heads = new List<long>();
        log.Committed += () => heads.Add(log.Head);

        await AppendAsync(log, Message("m-1"), Message("m-2"));
        await AppendAsync(log, Message("m-3"));

        Assert.Equal([2L, 3L], heads);
    }

    [Fact]
    public async Task Backlog_IsGivenBackAfterEachCommit_SoSequentialAppendsAreNeverRefused()
    {
        using var log = Open(new IngestLogOptions { MaxBacklogEvents = 2 });
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(1, (await AppendAsync(log, Message($"m-{i}"))).Stored);
        }

        Assert.Equal(0, log.PendingEvents);
    }

    [Fact]
    public async Task Group_TakesNoMoreThanMaxGroupEvents_InOneCommit()
    {
        using var log = Open(new IngestLogOptions { MaxGroupEvents = 2 });
        Task<AppendResult>[] appends;
        using (log.HoldCommits())
        {
            appends = [.. Enumerable.Range(0, 3).Select(i => log.TryAppend(1, [Message($"m-{i}")], [], _clock.GetUtcNow())!)];
            Assert.Equal(0, log.Head);
        }

        await Task.WhenAll(appends);
        Assert.Equal(2, log.Commits);
        Assert.Equal(3, log.Head);
    }

    [Fact]
    public async Task Delete_ReadersNeverGetTheDeletedEventFromMemory()
    {
        using var log = Open();
        await AppendAsync(log, Message("m-1"), Message("m-2"), Message("m-3"));

        Assert.Equal(1, await log.DeleteEventsAsync([2]));

        Assert.Equal([1L, 3L], log.ReadAfter(0, 10).Select(e => e.Seq));
        Assert.Equal([3L], log.ReadAfter(1, 10).Select(e => e.Seq));
        Assert.Empty(log.ReadAfter(3, 10));
        Assert.Equal([3L, 1L], log.ReadSeqs([3, 2, 1]).Select(e => e.Seq));
    }

    [Fact]
    public async Task Delete_OfTheNewestEvents_NeverLetsTheirSequenceNumbersBeUsedAgain()
    {
        using (var log = Open())
        {
            await AppendAsync(log, Message("m-1"), Message("m-2"), Message("m-3"));
            Assert.Equal(2, await log.DeleteEventsAsync([2, 3]));
        }

        using (var log = Open())
        {
            Assert.Equal(3, log.Head);
            Assert.Equal(4, (await AppendAsync(log, Message("m-4"))).LastSeq);
        }
    }

    [Fact]
    public async Task Delete_LeavesNoCopyOfTheEventInTheFileOrItsWriteAheadLog()
    {
        using var log = Open();
        await AppendAsync(log, Message("m-1", marker: "-keep-me"), Message("m-2", marker: "-forget-me-7f3a"));

        await log.DeleteEventsAsync([2]);

        // Read while the log is open: closing it would checkpoint and could hide a copy left behind.
        var files = _data.GetFiles("log.db*").Select(f => f.FullName).ToList();
        Assert.Contains(files, f => f.EndsWith("log.db", StringComparison.Ordinal));
        Assert.All(files, f => Assert.DoesNotContain("-forget-me-7f3a", ReadShared(f), StringComparison.Ordinal));
        Assert.Contains("-keep-me", string.Concat(files.Select(ReadShared)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_ReadsAndDeletesAnswerNothing()
    {
        using var log = Open();
        await AppendAsync(log, Message("m-1"));

        Assert.Equal(0, await log.DeleteEventsAsync([]));
        Assert.Empty(log.ReadSeqs([]));
        Assert.Single(log.ReadAfter(0, 10));
    }

    [Fact]
    public async Task FailedCommit_FailsEveryRequestInItsGroup_AndTheLogStopsAcceptingAndMaintaining()
    {
        using var log = Open();
        Task<AppendResult> append;
        Task<int> failing;
        using (log.HoldCommits())
        {
            append = log.TryAppend(1, [Message("m-1")], [], _clock.GetUtcNow())!;
            failing = log.MaintainAsync((connection, transaction) =>
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "INSERT INTO no_such_table VALUES (1)";
                return command.ExecuteNonQuery();
            });
        }

        await Assert.ThrowsAsync<SqliteException>(() => append);
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.IsType<SqliteException>(log.Fault);
        Assert.Equal(0, log.Head);
        Assert.Null(log.TryAppend(1, [Message("m-2")], [], _clock.GetUtcNow()));
        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(() => log.MaintainAsync((_, _) => 0));
        Assert.StartsWith("The ingest log has stopped: ", stopped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedCommit_ACopyAlreadyQueuedBehindIt_IsStoredNotCountedAsADuplicate()
    {
        // Two events per group: the first copy, the failing step and a filler fail together; the second
        // copy was queued before the failure and is committed in the next group.
        using var log = Open(new IngestLogOptions { MaxGroupEvents = 2 });
        Task<AppendResult> first, second;
        using (log.HoldCommits())
        {
            first = log.TryAppend(1, [Message("m-1")], [], _clock.GetUtcNow())!;
            _ = log.MaintainAsync<int>((_, _) => throw new SqliteException("disk I/O error", 10));
            _ = log.TryAppend(1, [Message("m-filler")], [], _clock.GetUtcNow());
            second = log.TryAppend(1, [Message("m-1")], [], _clock.GetUtcNow())!;
        }

        await Assert.ThrowsAsync<SqliteException>(() => first);
        Assert.Equal(new AppendResult(1, 0, 1), await second);
        Assert.Single(log.ReadAfter(0, 10));
    }

    [Fact]
    public async Task Refusals_KeepTheirBatchIndex_OrHaveNone()
    {
        using var log = Open();
        await log.TryAppend(1, [], [Refusal("ada") with { Index = 3 }, Refusal("grace")], _clock.GetUtcNow())!;

        Assert.Equal([null, 3], log.ReadRejections(1, 10).Select(r => r.Index));
    }

    [Fact]
    public async Task Disposed_RefusesAppendsAndMaintenance()
    {
        var log = Open();
        await AppendAsync(log, Message("m-1"));
        log.Dispose();

        Assert.Null(log.TryAppend(1, [Message("m-2")], [], _clock.GetUtcNow()));
        Assert.Equal(0, log.PendingEvents);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.MaintainAsync((_, _) => 0));
    }

    [Fact]
    public async Task Disposed_WhileCommitsAreHeld_StillCommitsWhatWasQueued()
    {
        var log = Open();
        _ = log.HoldCommits();
        var append = log.TryAppend(1, [Message("m-1")], [], _clock.GetUtcNow())!;

        log.Dispose();

        Assert.True(append.IsCompletedSuccessfully);
        Assert.Equal(1, (await append).Stored);
    }

    [Fact]
    public async Task DeleteRefusals_RemovesOnlyThePersonsRefusals()
    {
        using var log = Open();
        await RefuseAsync(log, "ada");
        await RefuseAsync(log, "grace");
        await RefuseAsync(log, "ada");

        Assert.Equal(2, await log.DeleteRejectionsAsync(Names("ada")));

        Assert.Equal(["grace"], Who(log));
    }

    [Fact]
    public async Task DeleteRefusals_CatchesOneStoredWhileTheRequestWasReadingThem()
    {
        using var log = Open();
        await RefuseAsync(log, "grace");

        // The match runs on both reads (grace is read again as received in the last minute): ada
        // arrives once, during the first.
        var arrived = false;
        var deleting = log.DeleteRejectionsAsync(payload =>
        {
            // The first read is under way (its snapshot is taken): a refusal of ada arrives now.
            if (!arrived && Names("grace")(payload))
            {
                arrived = true;
                _ = log.TryAppend(1, [], [Refusal("ada")], _clock.GetUtcNow());
            }

            return Names("ada")(payload);
        });

        Assert.Equal(1, await deleting);
        Assert.Equal(["grace"], Who(log));
    }

    [Fact]
    public async Task DeleteRefusals_CatchesOneThatTookTheIdOfARefusalDeletedMeanwhile()
    {
        using var log = Open();
        await RefuseAsync(log, "grace");

        var arrived = false;
        var deleting = log.DeleteRejectionsAsync(payload =>
        {
            // While the first read runs, another request deletes grace's refusal (the newest, so SQLite
            // hands its id out again) and then a refusal of ada is stored: it gets that same id.
            if (!arrived && Names("grace")(payload))
            {
                arrived = true;
                _ = log.MaintainAsync((connection, transaction) =>
                {
                    using var command = connection.CreateCommand();
                    command.Transaction = transaction;
                    command.CommandText = "DELETE FROM rejections WHERE id = (SELECT MAX(id) FROM rejections)";
                    return command.ExecuteNonQuery();
                });
                _ = log.TryAppend(1, [], [Refusal("ada")], _clock.GetUtcNow());
            }

            return Names("ada")(payload);
        });

        Assert.Equal(1, await deleting);
        Assert.Empty(Who(log));
    }

    private static Func<byte[], bool> Names(string who) =>
        payload => Encoding.UTF8.GetString(payload).Contains($"\"{who}\"", StringComparison.Ordinal);

    private static List<string> Who(IngestLog log) =>
        [.. log.ReadRejections(1, 100).Select(r => System.Text.Json.JsonDocument.Parse(r.Payload).RootElement.GetProperty("userId").GetString()!)];

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.Latin1);
        return reader.ReadToEnd();
    }
}
