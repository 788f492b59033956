using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Storage;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Collect;

/// <summary>
/// The one way into the ingest log, without HTTP: what the collector and consent recording both rely
/// on. Durable acknowledgement, the backlog bound (one refusal, answered 429 with Retry-After: 1), and
/// the three things ingestion does with a suppressed person's events (docs/collect.md, docs/privacy.md).
/// </summary>
public sealed class IngestionServiceTests : IDisposable
{
    private readonly Rig _rig = new(new IngestLogOptions());

    public void Dispose() => _rig.Dispose();

    private static StampedMessage Event(string userId, string messageId) =>
        new(0, MessageType.Track, messageId, Encoding.UTF8.GetBytes($$"""{"type":"track","userId":"{{userId}}","messageId":"{{messageId}}","event":"Order Completed"}"""));

    private static Rejection Refused(string userId) =>
        new(0, "missing_event", "event", "A track call needs an event name.", Encoding.UTF8.GetBytes($$"""{"type":"track","userId":"{{userId}}"}"""));

    private static IngestRequest Request(WhenSuppressed policy, List<StampedMessage> accepted, List<Rejection>? rejected = null) =>
        new(7, accepted, rejected ?? [], Rig.Now, policy);

    [Fact]
    public async Task Admit_Events_AreAcknowledgedOnlyOnceTheirGroupIsCommitted()
    {
        Task<AppendResult> commit;
        using (_rig.Log.HoldCommits())
        {
            var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.DropAndCount, [Event("u-1", "m-1"), Event("u-2", "m-2")]));

            Assert.Null(admission.Refusal);
            commit = admission.Commit!;
            Assert.False(commit.IsCompleted, "an admission is not an acknowledgement");
        }

        var stored = await commit;
        Assert.Equal((2, 0, 2L), (stored.Stored, stored.Deduplicated, stored.LastSeq));
        Assert.Equal(["m-1", "m-2"], _rig.StoredMessageIds());
        Assert.All(_rig.Log.ReadAfter(0, 100), e => Assert.Equal(7, e.SourceKey));
    }

    [Fact]
    public async Task Admit_BacklogPastItsBound_RefusesOverloadedAndStoresNothingOfTheRequest()
    {
        // docs/collect.md, Limits: "ingest backlog ... 429 overloaded with Retry-After: 1; nothing stored".
        using var full = new Rig(new IngestLogOptions { MaxBacklogEvents = 1 });
        Task<AppendResult> first;
        Admission refused;
        using (full.Log.HoldCommits())
        {
            first = full.Ingestion.Admit(Request(WhenSuppressed.DropAndCount, [Event("u-1", "m-1")])).Commit!;
            refused = full.Ingestion.Admit(Request(WhenSuppressed.Refuse, [Event("u-2", "m-2")]));
        }

        await first;
        Assert.Null(refused.Commit);
        Assert.Equal((RefusalKind.Overloaded, "overloaded", "Tandem is catching up"), (refused.Refusal!.Kind, refused.Refusal.Code, refused.Refusal.Title));
        Assert.Equal(
            "The ingest log's backlog is past its bound, so nothing from this request was stored. Retry after the number of seconds in Retry-After.",
            refused.Refusal.Detail);
        Assert.Equal(["m-1"], full.StoredMessageIds());
    }

    [Fact]
    public async Task Admit_DropAndCount_LeavesOutSuppressedPeoplesEventsAndRefusals_CountsThem_AndStoresTheRest()
    {
        _rig.Suppress("u-1");
        var accepted = new List<StampedMessage> { Event("u-1", "m-1"), Event("u-2", "m-2"), Event("u-1", "m-3") };
        var rejected = new List<Rejection> { Refused("u-1"), Refused("u-2") };

        var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.DropAndCount, accepted, rejected));

        Assert.Null(admission.Refusal);
        Assert.Equal(3, admission.Suppressed);
        Assert.Equal(1, (await admission.Commit!).Stored);
        Assert.Equal(["m-2"], _rig.StoredMessageIds());
        Assert.Equal("""{"type":"track","userId":"u-2"}""", Encoding.UTF8.GetString(Assert.Single(_rig.Log.ReadRejections(7, 10)).Payload));
        Assert.Equal(2, Assert.Single(_rig.Suppressions.List()).Dropped); // events counted under their suppression, refusals not
        Assert.Equal(3, _rig.SuppressedCounted);
    }

    [Fact]
    public void Admit_DropAndCount_OnlySuppressedPeople_AppendsNothing_AndIsNoRefusal()
    {
        _rig.Suppress("u-1");

        var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.DropAndCount, [Event("u-1", "m-1")], [Refused("u-1")]));

        Assert.Equal((null, 2, null), (admission.Commit, admission.Suppressed, admission.Refusal));
        Assert.Equal(0, _rig.Log.PendingEvents);
        Assert.Equal(0, _rig.Log.Head);
    }

    [Fact]
    public void Admit_Refuse_ASuppressedPersonAnywhereInTheRequest_RefusesItAll_WithoutCounting()
    {
        _rig.Suppress("u-1");

        var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.Refuse, [Event("u-2", "m-2"), Event("u-1", "m-1")]));

        Assert.Null(admission.Commit);
        Assert.Equal((RefusalKind.Conflict, "suppressed", 0), (admission.Refusal!.Kind, admission.Refusal.Code, admission.Suppressed));
        Assert.Equal(0, _rig.Log.PendingEvents);
        Assert.Equal(0, Assert.Single(_rig.Suppressions.List()).Dropped);
        Assert.Equal(0, _rig.SuppressedCounted);
    }

    [Fact]
    public async Task Admit_Refuse_NobodySuppressed_StoresLikeAnyOther()
    {
        _rig.Suppress("u-1");

        var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.Refuse, [Event("u-2", "m-2")]));

        Assert.Equal(1, (await admission.Commit!).Stored);
        Assert.Equal(["m-2"], _rig.StoredMessageIds());
    }

    [Fact]
    public async Task Admit_Keep_StoresAnUnreadableBodyEvenWhenItNamesASuppressedPerson()
    {
        // A whole refused body is kept for the debugger as it came; it is not an event of anyone.
        _rig.Suppress("u-1");

        var admission = _rig.Ingestion.Admit(Request(WhenSuppressed.Keep, [], [Refused("u-1")]));

        Assert.Equal(0, admission.Suppressed);
        await admission.Commit!;
        Assert.Equal("""{"type":"track","userId":"u-1"}""", Encoding.UTF8.GetString(Assert.Single(_rig.Log.ReadRejections(7, 10)).Payload));
        Assert.Equal(0, _rig.SuppressedCounted);
    }

    /// <summary>An ingest log, a suppression list and the collector's metrics in a folder of their own, with a fake clock.</summary>
    private sealed class Rig : IDisposable
    {
        public static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

        private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("tandem-ingest-");
        private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        private readonly SqliteControlStore _control;
        private readonly CollectMetrics _metrics;
        private readonly MeterListener _listener = new();
        private long _suppressedCounted;

        public Rig(IngestLogOptions options)
        {
            var clock = new FakeTimeProvider(Now);
            Log = new IngestLog(_data.FullName, options, clock);
            _control = SqliteControlStore.Open(_data.FullName);
            Suppressions = TestSuppressions.Open(_data.FullName, clock);
            var factory = _meters.GetRequiredService<IMeterFactory>();
            _metrics = new CollectMetrics(factory, Log, new ConsumerPositions(_control));
            Ingestion = new IngestionService(Log, Suppressions, _metrics);

            // Only this rig's instrument: meters are process-wide and other tests count into the same names.
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "tandem.collect.suppressed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _suppressedCounted, value));
            _listener.Start();
        }

        public IngestLog Log { get; }

        public SuppressionList Suppressions { get; }

        public IngestionService Ingestion { get; }

        /// <summary>What tandem.collect.suppressed has counted.</summary>
        public long SuppressedCounted => Interlocked.Read(ref _suppressedCounted);

        public void Suppress(string userId) => Suppressions.Suppress("prq_1", [new Identifier(IdentifierType.UserId, userId)]);

        public IReadOnlyList<string> StoredMessageIds() =>
            [.. Log.ReadAfter(0, 100).Select(e => System.Text.Json.JsonDocument.Parse(e.Payload).RootElement.GetProperty("messageId").GetString()!)];

        public void Dispose()
        {
            _listener.Dispose();
            _metrics.Dispose();
            _meters.Dispose();
            Suppressions.Dispose();
            _control.Dispose();
            Log.Dispose();
            _data.Delete(recursive: true);
        }
    }
}
