using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Privacy;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>
/// What the suppression list keeps and shows (<c>GET /api/v1/privacy/suppressions</c>): when each
/// suppression was made, the identifier types it covers, how many identifiers were newly suppressed,
/// and the events it dropped, counted across listings, restarts and a lift followed by a retry.
/// </summary>
public sealed class SuppressionRecordTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 9, 30, 0, TimeSpan.Zero);

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;
    private readonly FakeTimeProvider _clock = new(Start);
    private SuppressionList _list;

    public SuppressionRecordTests() => _list = TestSuppressions.Open(_directory, _clock);

    public void Dispose()
    {
        _list.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Suppress_AnswersHowManyIdentifiersWereNewlySuppressed()
    {
        Assert.Equal(3, _list.Suppress("prq_1", [
            new Identifier(IdentifierType.UserId, "ada-1"),
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier(IdentifierType.Phone, "+1 415 555 0142"),
        ]));

        // A second request naming one of them again adds only the new one.
        Assert.Equal(1, _list.Suppress("prq_2", [
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier(IdentifierType.AnonymousId, "anon-ada"),
        ]));
    }

    [Fact]
    public void List_ShowsNewestFirst_WithWhenAndTheTypesCovered_InNameOrder()
    {
        _list.Suppress("prq_1", [
            new Identifier(IdentifierType.UserId, "ada-1"),
            new Identifier(IdentifierType.Phone, "+1 415 555 0142"),
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier("crm_id", "c-9"),
        ]);
        _clock.Advance(TimeSpan.FromMinutes(5));
        // Every identifier of this one is already suppressed by prq_1: it covers none of its own.
        _list.Suppress("prq_2", [new Identifier(IdentifierType.Email, "ada@example.com")]);

        var list = _list.List();

        Assert.Equal(["prq_2", "prq_1"], list.Select(s => s.RequestId));
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 9, 35, 0, TimeSpan.Zero), list[0].CreatedAt);
        Assert.Empty(list[0].IdentifierTypes);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 9, 30, 0, TimeSpan.Zero), list[1].CreatedAt);
        Assert.Equal(["crm_id", "email", "phone", "user_id"], list[1].IdentifierTypes);
    }

    [Fact]
    public void DroppedEvents_AreCountedOnce_AcrossListingsAndARestart()
    {
        _list.Suppress("prq_1", [new Identifier(IdentifierType.UserId, "ada-1")]);
        _list.Suppress("prq_2", [new Identifier(IdentifierType.UserId, "bo-2")]);

        _list.CountDropped("prq_1");
        _list.CountDropped("prq_1");
        Assert.Equal(2, Dropped("prq_1"));
        Assert.Equal(2, Dropped("prq_1")); // listed again, nothing new: still 2

        _list.CountDropped("prq_1");
        _list.CountDropped("prq_2");
        Assert.Equal(3, Dropped("prq_1"));
        Assert.Equal(1, Dropped("prq_2"));

        // Counted since the last listing, then a stop: saved on shutdown.
        _list.CountDropped("prq_2");
        _list.CountDropped("prq_2");
        Reopen();
        Assert.Equal(3, Dropped("prq_1"));
        Assert.Equal(3, Dropped("prq_2"));
    }

    [Fact]
    public void ASuppressionLiftedThenMadeAgainByTheSameRequest_CountsFromZero()
    {
        // A failed delete_and_suppress keeps its suppression; lifted, then the request retried.
        var ada = new Identifier(IdentifierType.UserId, "ada-1");
        _list.Suppress("prq_1", [ada]);
        _list.CountDropped("prq_1");
        _list.CountDropped("prq_1");
        _list.CountDropped("prq_1");
        Assert.Equal(3, Dropped("prq_1"));

        Assert.Equal(["prq_1"], _list.Unsuppress(ada));
        Assert.Empty(_list.List());

        _list.Suppress("prq_1", [ada]);
        _list.CountDropped("prq_1");
        Assert.Equal(1, Dropped("prq_1"));
        Reopen();
        Assert.Equal(1, Dropped("prq_1"));
    }

    [Fact]
    public void DroppedCounts_NeverListed_AreSavedWhenTheListStops()
    {
        _list.Suppress("prq_1", [new Identifier(IdentifierType.UserId, "ada-1")]);
        _list.CountDropped("prq_1");
        _list.CountDropped("prq_1");

        Reopen(); // a stop before anyone listed the suppressions

        Assert.Equal(2, Dropped("prq_1"));
    }

    [Fact]
    public void Unsuppress_LiftsEveryRequestCoveringTheIdentifier_AndKeepsTheOthersAndTheirCounts()
    {
        var ada = new Identifier(IdentifierType.Email, "ada@example.com");
        _list.Suppress("prq_1", [ada, new Identifier(IdentifierType.UserId, "ada-1")]);
        _list.Suppress("prq_2", [new Identifier(IdentifierType.UserId, "bo-2")]);
        _list.CountDropped("prq_2");

        Assert.Equal(["prq_1"], _list.Unsuppress(new Identifier(IdentifierType.Email, " ADA@Example.com ")));

        Assert.Null(_list.Match(Encoding.UTF8.GetBytes("""{"userId":"ada-1"}""")));
        Assert.Equal("prq_2", _list.Match(Encoding.UTF8.GetBytes("""{"userId":"bo-2"}""")));
        Assert.Equal(1, Dropped("prq_2"));
        Assert.Empty(_list.Unsuppress(ada));
    }

    private long Dropped(string requestId) => _list.List().Single(s => s.RequestId == requestId).Dropped;

    private void Reopen()
    {
        _list.Dispose();
        _list = TestSuppressions.Open(_directory, _clock);
    }
}
