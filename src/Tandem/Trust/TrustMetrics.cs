using System.Diagnostics.Metrics;

namespace Tandem.Trust;

/// <summary>Trust's OpenTelemetry instruments, exported at <c>/metrics</c>.</summary>
internal sealed class TrustMetrics : IDisposable
{
    public const string MeterName = "Tandem.Trust";
    private readonly Meter _meter;
    private readonly Counter<long> _throttled;

    public TrustMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _throttled = _meter.CreateCounter<long>("tandem.trust.throttled", "{request}",
            "Requests refused with 429 by a lock (account_locked, too_many_sign_in_attempts, too_many_bad_tokens): counted here, audited only when the lock starts");
    }

    /// <param name="kind">The problem's reason code, such as <c>account_locked</c>.</param>
    public void Throttled(string kind) => _throttled.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void Dispose() => _meter.Dispose();
}
