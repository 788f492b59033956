using System.Diagnostics.Metrics;

namespace Tandem.Unify;

/// <summary>The processor's OpenTelemetry instruments, exported at <c>/metrics</c> beside the collector's.</summary>
internal sealed class UnifyMetrics : IDisposable
{
    public const string MeterName = "Tandem.Unify";
    private readonly Meter _meter;

    public UnifyMetrics(IMeterFactory meters, ProfileProcessor processor)
    {
        _meter = meters.Create(MeterName);
        _meter.CreateObservableGauge("tandem.profiles.position", () => processor.Position, "{event}", "Log sequence number the profile processor has applied up to");
        _meter.CreateObservableGauge("tandem.profiles.count", () => processor.Stats.Profiles, "{profile}", "Customer profiles");
        _meter.CreateObservableGauge("tandem.profiles.identifiers", () => processor.Stats.Identifiers, "{identifier}", "Identifiers linked to profiles");
        _meter.CreateObservableCounter("tandem.profiles.merges", () => processor.Stats.Merges, "{merge}", "Profiles merged into another");
        _meter.CreateObservableCounter("tandem.profiles.unattributed", () => processor.Stats.Unattributed, "{event}", "Events with no usable identifier");
        _meter.CreateObservableCounter("tandem.processor.not_applied", () => NotApplied(processor), "{event}",
            "Events read from the log that reached no customer profile, by reason (listed at /api/v1/processor/not-applied)");
    }

    private static IEnumerable<Measurement<long>> NotApplied(ProfileProcessor processor)
    {
        foreach (var (reason, count) in processor.Stats.NotApplied)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void Dispose() => _meter.Dispose();
}
