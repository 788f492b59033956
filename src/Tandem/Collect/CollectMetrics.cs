using System.Diagnostics.Metrics;
using Tandem.Storage;

namespace Tandem.Collect;

/// <summary>The collector's OpenTelemetry instruments, exported at <c>/metrics</c>.</summary>
internal sealed class CollectMetrics : IDisposable
{
    public const string MeterName = "Tandem.Collect";
    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _deduplicated;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _suppressed;
    private readonly Counter<long> _repaired;

    public CollectMetrics(IMeterFactory meters, IEventLog log, ConsumerPositions positions)
    {
        _meter = meters.Create(MeterName);
        _received = _meter.CreateCounter<long>("tandem.collect.received", "{event}", "Events that passed validation and were stored");
        _refused = _meter.CreateCounter<long>("tandem.collect.refused", "{event}", "Events refused, by reason");
        _deduplicated = _meter.CreateCounter<long>("tandem.collect.deduplicated", "{event}", "Events dropped as retries of a stored messageId");
        _throttled = _meter.CreateCounter<long>("tandem.collect.throttled", "{request}", "Requests answered 429 because the log backlog was past its bound");
        _suppressed = _meter.CreateCounter<long>("tandem.collect.suppressed", "{event}", "Events of suppressed people, dropped by a privacy request's suppression (never stored)");
        _repaired = _meter.CreateCounter<long>("tandem.collect.repaired", "{event}", "Events stored with a repair (invalid Unicode replaced, timestamp out of range), by reason");
        _meter.CreateObservableGauge("tandem.log.head", () => log.Head, "{event}", "Sequence number of the newest durable event");
        _meter.CreateObservableCounter("tandem.log.commits", () => log.Commits, "{commit}", "Group commits (one fsync each)");
        _meter.CreateObservableGauge("tandem.log.backlog", () => log.PendingEvents, "{event}", "Events waiting for a group commit");
        _meter.CreateObservableGauge("tandem.log.lag", () => Lag(log, positions), "{event}", "Events in the log not yet read by each consumer");
    }

    public void Stored(int count) => _received.Add(count);

    public void Deduplicated(int count) => _deduplicated.Add(count);

    public void Refused(string reason, int count = 1) => _refused.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void Throttled() => _throttled.Add(1);

    public void Repaired(List<Repair> repairs)
    {
        foreach (var repair in repairs)
        {
            _repaired.Add(1, new KeyValuePair<string, object?>("reason", repair.Reason));
        }
    }

    public void Suppressed(int count) => _suppressed.Add(count);

    private static IEnumerable<Measurement<long>> Lag(IEventLog log, ConsumerPositions positions)
    {
        var head = log.Head;
        foreach (var (consumer, seq) in positions.All())
        {
            yield return new Measurement<long>(Math.Max(0, head - seq), new KeyValuePair<string, object?>("consumer", consumer));
        }
    }

    public void Dispose() => _meter.Dispose();
}
