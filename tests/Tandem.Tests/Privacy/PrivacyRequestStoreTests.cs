using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Privacy;
using Tandem.Storage.Sqlite;

namespace Tandem.Tests.Privacy;

/// <summary>
/// The record of privacy requests (<c>tandem.db</c>) as docs/privacy.md describes it: due 30 days after
/// receipt, overdue while open past that, every field read back as saved, listed newest first with
/// filters and a cursor, unfinished ones found at start, and a completed request's clear subject gone
/// from the file and its write-ahead log.
/// </summary>
public sealed class PrivacyRequestStoreTests : IDisposable
{
    private static readonly DateTimeOffset Received = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-privacy-").FullName;
    private readonly FakeTimeProvider _clock = new(Received);
    private readonly SqlitePrivacyRequestStore _requests;

    public PrivacyRequestStoreTests() => _requests = SqlitePrivacyRequestStore.Open(_directory);

    public void Dispose()
    {
        _requests.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Files a request as the privacy desk does: received now, kept at once.</summary>
    private PrivacyRequest Create(string type, string subject, string requestedBy, DateTimeOffset now) =>
        _requests.Add(PrivacyRequest.Receive(type, subject, requestedBy, now));

    [Fact]
    public void ANewRequest_IsReceived_DueThirtyDaysLater_AndReadsBackAsFiled()
    {
        var filed = Create("delete", "email:ada@example.com", "member:po", Received);

        Assert.True(PrivacyRequest.IsId(filed.Id));
        var found = _requests.Find(filed.Id)!;
        Assert.Equal(filed.Id, found.Id);
        Assert.Equal(("delete", "email:ada@example.com", "received", "member:po"), (found.Type, found.Subject, found.Status, found.RequestedBy));
        Assert.Equal(Received, found.ReceivedAt);
        Assert.Equal(new DateTimeOffset(2027, 1, 4, 10, 0, 0, TimeSpan.Zero), found.DueAt);
        Assert.Null(found.CompletedAt);
        Assert.Null(found.Result);
        Assert.Null(found.Error);
        Assert.Equal(0, found.Attempts);
        Assert.Null(_requests.Find("prq_0000000000000000000000000000000f"));
    }

    [Fact]
    public void ASavedRequest_ReadsBackEveryField()
    {
        var filed = Create("delete", "email:ada@example.com", "member:po", Received);
        var completedAt = Received.AddSeconds(3);
        _requests.Save(filed with
        {
            Subject = "email:a***@example.com",
            Status = "completed",
            CompletedAt = completedAt,
            Result = new JsonObject { ["eventsDeleted"] = 3 },
            Attempts = 2,
        });

        var found = _requests.Find(filed.Id)!;
        Assert.Equal(("email:a***@example.com", "completed", 2), (found.Subject, found.Status, found.Attempts));
        Assert.Equal(completedAt, found.CompletedAt);
        Assert.Equal("""{"eventsDeleted":3}""", found.Result!.ToJsonString());
        Assert.Null(found.Error);

        _requests.Save(found with { Status = "failed", CompletedAt = null, Result = null, Error = "The disk is full." });
        var failed = _requests.Find(filed.Id)!;
        Assert.Equal(("failed", "The disk is full."), (failed.Status, failed.Error));
        Assert.Null(failed.CompletedAt);
        Assert.Null(failed.Result);
    }

    [Fact]
    public void ACompletedRequest_LeavesItsClearSubjectNeitherInTheFileNorInItsWriteAheadLog()
    {
        var filed = Create("delete", "email:zelda.unique@example.com", "member:po", Received);
        _requests.Save(filed with { Status = "processing", Attempts = 1 });
        _requests.Save(filed with { Subject = "email:z***@example.com", Status = "completed", CompletedAt = Received, Attempts = 1 });

        var path = Path.Combine(_directory, "tandem.db");
        var bytes = Encoding.Latin1.GetString(File.ReadAllBytes(path))
            + (File.Exists(path + "-wal") ? Encoding.Latin1.GetString(File.ReadAllBytes(path + "-wal")) : "");
        Assert.DoesNotContain("zelda.unique", bytes, StringComparison.Ordinal);
        Assert.Contains("z***@example.com", bytes, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("received", true)]
    [InlineData("processing", true)]
    [InlineData("failed", true)]
    [InlineData("completed", false)]
    public void ARequest_IsOverdue_OnlyWhileOpenPastItsDueDate(string status, bool overdue)
    {
        var request = Create("export", "user_id:ada-1", "member:po", Received) with { Status = status };

        Assert.False((bool)PrivacyRequestView.Of(request, new DateTimeOffset(2027, 1, 4, 10, 0, 0, TimeSpan.Zero))["overdue"]!);
        Assert.Equal(overdue, (bool)PrivacyRequestView.Of(request, new DateTimeOffset(2027, 1, 4, 10, 0, 1, TimeSpan.Zero))["overdue"]!);
    }

    [Theory]
    [InlineData("prq_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b", true)]
    [InlineData("prq_0193A1B2C3D47E5F8A9B0C1D2E3F4A5B", true)]
    [InlineData("0193a1b2c3d47e5f8a9b0c1d2e3f4a5b", false)]
    [InlineData("req_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b", false)]
    [InlineData("prq_0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", false)]
    [InlineData("prq_0193a1b2c3d47e5f8a9b0c1d2e3f4a5", false)]
    [InlineData("prq_", false)]
    public void ACursor_IsARequestId_PrqAnd32HexDigits(string text, bool isId) =>
        Assert.Equal(isId, PrivacyRequest.IsId(text));

    [Fact]
    public void List_IsNewestFirst_FilteredByStatusAndType_AndPagedByTheLastIdSeen()
    {
        var ids = new List<string>();
        foreach (var (type, status) in new[] { ("export", "completed"), ("delete", "failed"), ("delete", "completed"), ("suppress", "received"), ("delete", "completed") })
        {
            var request = Create(type, "user_id:x", "member:po", _clock.GetUtcNow());
            _requests.Save(request with { Status = status });
            ids.Add(request.Id);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal([ids[4], ids[3], ids[2], ids[1], ids[0]], _requests.List(null, null, null, 10).Select(r => r.Id));
        Assert.Equal([ids[4], ids[3]], _requests.List(null, null, null, 2).Select(r => r.Id));
        Assert.Equal([ids[2], ids[1]], _requests.List(null, null, ids[3], 2).Select(r => r.Id));
        Assert.Equal([ids[4], ids[2], ids[1]], _requests.List(null, "delete", null, 10).Select(r => r.Id));
        Assert.Equal([ids[4], ids[2], ids[0]], _requests.List("completed", null, null, 10).Select(r => r.Id));
        Assert.Equal([ids[2]], _requests.List("completed", "delete", ids[4], 10).Select(r => r.Id));
        Assert.Empty(_requests.List("processing", null, null, 10));
    }

    [Fact]
    public void Unfinished_AreTheReceivedAndProcessingOnes_OldestFirst()
    {
        var received = Create("delete", "user_id:a", "member:po", Received);
        var processing = Create("suppress", "user_id:b", "member:po", Received.AddSeconds(1));
        var failed = Create("delete", "user_id:c", "member:po", Received.AddSeconds(2));
        var completed = Create("export", "user_id:d", "member:po", Received.AddSeconds(3));
        _requests.Save(processing with { Status = "processing", Attempts = 1 });
        _requests.Save(failed with { Status = "failed", Attempts = 1, Error = "x" });
        _requests.Save(completed with { Status = "completed", Attempts = 1, CompletedAt = Received });

        Assert.Equal([received.Id, processing.Id], _requests.Unfinished().Select(r => r.Id));
    }
}
