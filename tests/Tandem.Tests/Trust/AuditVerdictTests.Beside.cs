using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Tandem.Storage.Sqlite;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// docs/trust.md "CLI": verify only reads, takes no lock, and runs beside a server that keeps appending.
/// The anchor is served through a named pipe so each look at it returns what the test chooses, in order:
/// that makes "the anchor changed between two looks" and "records arrived after the first look"
/// happen at a chosen moment, without sleeps.
/// </summary>
public sealed partial class AuditVerdictTests
{
    private const string Uncovered =
        "Records #4 to #5 are not covered by the anchor, which says the head is #3: they were added without the server, or the anchor was replaced by an older one.";

    [Fact]
    public void AnchorReplaced_WhileAReaderHoldsTheOldOne_TheReaderKeepsTheWholeOldAnchor()
    {
        Append(5);
        var old = File.ReadAllText(AnchorPath);
        using var reader = new FileStream(AnchorPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        SqliteAuditStore.WriteAnchor(AnchorPath, new AuditHead(6, new string('c', 64), null));

        using (var text = new StreamReader(reader))
        {
            Assert.Equal(old, text.ReadToEnd());
        }

        Assert.Equal($$"""{"seq":6,"hash":"{{new string('c', 64)}}","at":null,"mac":null}""", File.ReadAllText(AnchorPath));
        Assert.False(File.Exists(AnchorPath + ".tmp"));
    }

    [Fact]
    public void Verify_LeavesNoHandleOnTheDatabase()
    {
        Append(5);
        SqliteConnection.ClearAllPools(); // the server's own pooled connections
        Assert.Empty(HandlesOnTheDatabase());

        Assert.True(AuditChain.Verify(Data).Intact);

        Assert.Empty(HandlesOnTheDatabase());
    }

    private IEnumerable<string?> HandlesOnTheDatabase() =>
        [.. Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).Where(t => t?.StartsWith(DatabasePath, StringComparison.Ordinal) == true)];

    [Fact]
    public void Verify_WhileAWriteIsInProgress_TakesNoLockAndSeesTheCommittedLog()
    {
        Append(5);
        using var writer = Connect();
        using var transaction = writer.BeginTransaction(deferred: false);
        using (var insert = writer.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO audit(seq, at, actor, action, target, prev_hash, hash) VALUES (6, 0, 'system', 'api.call', 'x', 'p', 'h')";
            insert.ExecuteNonQuery();
        }

        Assert.Equal(new AuditVerification(true, 5, 5, HashOf(5)), AuditChain.Verify(Data));
    }

    [Fact]
    public void AnchorStableAcrossTwoLooks_IsTheOneJudged()
    {
        Append(5);
        string genuine = File.ReadAllText(AnchorPath), older = AnchorAt(3);
        using var feed = new AnchorFeed(AnchorPath, [genuine, genuine], then: older);

        var verdict = AuditChain.Verify(Data);

        Assert.Equal(new AuditVerification(true, 5, 5, HashOf(5)), verdict);
        Assert.Equal(2, feed.Served);
    }

    [Fact]
    public void AnchorChangingOnEveryLook_VerifyStopsAfterFiveTries_AndJudgesByTheFifth()
    {
        Append(5);
        string genuine = File.ReadAllText(AnchorPath), older = AnchorAt(3);
        // Two looks per try, never equal; the fifth try's first look is the older anchor.
        using var feed = new AnchorFeed(AnchorPath,
            [genuine, older, genuine, older, genuine, older, genuine, older, older, genuine], then: genuine);

        var verdict = AuditChain.Verify(Data);

        Assert.Equal(new AuditVerification(false, Seq: 4, Kind: "unanchored", Problem: Uncovered), verdict);
        Assert.Equal(10, feed.Served);
    }

    [Fact]
    public void RecordsAppendedAfterTheFirstLook_AreNotJudgedAgainstTheOlderAnchor()
    {
        Append(5);
        var genuine = File.ReadAllText(AnchorPath);
        var hash5 = HashOf(5);
        // As a server would between the verifier's two looks: two appends, their anchor writes still to come.
        using var feed = new AnchorFeed(AnchorPath, [genuine, genuine], then: genuine, beforeSecondLook: () =>
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false, DefaultTimeout = 5 }.ToString());
            connection.Open();
            using var insert = connection.CreateCommand();
            var hash6 = AuditChain.Hash(hash5, 6, 6000, "system", "api.call", "six", null, null, null);
            var hash7 = AuditChain.Hash(hash6, 7, 7000, "system", "api.call", "seven", null, null, null);
            insert.CommandText = $"""
                INSERT INTO audit(seq, at, actor, action, target, prev_hash, hash) VALUES (6, 6000, 'system', 'api.call', 'six', '{hash5}', '{hash6}');
                INSERT INTO audit(seq, at, actor, action, target, prev_hash, hash) VALUES (7, 7000, 'system', 'api.call', 'seven', '{hash6}', '{hash7}');
                """;
            insert.ExecuteNonQuery();
        });

        var verdict = AuditChain.Verify(Data);

        Assert.Null(feed.Error);
        Assert.Equal(new AuditVerification(true, 5, 5, hash5), verdict);
        Assert.Equal(new AuditVerification(false, Seq: 6, Kind: "unanchored",
            Problem: "Records #6 to #7 are not covered by the anchor, which says the head is #5: they were added without the server, or the anchor was replaced by an older one."),
            AuditChain.Verify(Data));
    }

    private string AnchorAt(long seq) => $$"""{"seq":{{seq}},"hash":"{{HashOf(seq)}}","at":null}""";

    /// <summary>
    /// Turns the anchor into a link to a named pipe: the n-th look reads the n-th text, then <c>then</c> for ever.
    /// Each look gets a fresh pipe, relinked before the text is written, so one look can never read the next one's text.
    /// </summary>
    private sealed class AnchorFeed : IDisposable
    {
        private readonly string _anchor;
        private readonly string _folder = Directory.CreateTempSubdirectory("tandem-feed-").FullName;
        private readonly Task _writer;
        private volatile bool _stopped;
        private volatile string _current = "";
        private int _served;

        public AnchorFeed(string anchor, string[] looks, string then, Action? beforeSecondLook = null)
        {
            _anchor = anchor;
            File.Delete(anchor);
            Relink(0);
            _writer = Task.Factory.StartNew(() =>
            {
                for (var look = 0; ; look++)
                {
                    // Opening a pipe to write waits for a reader: this is the verifier's look.
                    using var pipe = new FileStream(_current, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                    if (_stopped)
                    {
                        return;
                    }

                    Relink(look + 1);
                    if (look == 1 && beforeSecondLook is not null)
                    {
                        try
                        {
                            beforeSecondLook();
                        }
                        catch (Exception ex) when (ex is SqliteException or IOException)
                        {
                            Error = ex;
                        }
                    }

                    pipe.Write(System.Text.Encoding.UTF8.GetBytes(look < looks.Length ? looks[look] : then));
                    Interlocked.Increment(ref _served);
                }
            }, TaskCreationOptions.LongRunning);
        }

        public Exception? Error { get; private set; }

        public int Served => Volatile.Read(ref _served);

        private void Relink(int look)
        {
            var pipe = Path.Combine(_folder, "look-" + look);
            using (var mkfifo = Process.Start("mkfifo", pipe))
            {
                mkfifo.WaitForExit();
            }

            var link = Path.Combine(_folder, "link");
            File.CreateSymbolicLink(link, pipe);
            File.Move(link, _anchor, overwrite: true);
            _current = pipe;
        }

        public void Dispose()
        {
            _stopped = true;
            // Opening a pipe for reading and writing never waits, and releases the writer's wait.
            using (new FileStream(_current, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            {
                Assert.True(_writer.Wait(TimeSpan.FromMinutes(1)));
            }

            Directory.Delete(_folder, recursive: true);
        }
    }
}
