using System.Collections.Concurrent;

namespace Tandem.Trust;

/// <summary>
/// Stops an address that keeps sending API tokens that do not exist: after <see cref="MaxBadTokens"/>
/// within <see cref="Window"/>, every bearer token from it is refused (429) until the window has passed,
/// the right one included, or a guesser would learn which guess was right. A generated token cannot be
/// guessed; an operator-chosen admin token might be, and this bounds the tries.
/// </summary>
internal sealed class BadTokenThrottle(TimeProvider time, AuditLog audit, TrustMetrics metrics)
{
    public const int MaxBadTokens = 20;
    public const string Reason = "too_many_bad_tokens";
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    private const int MaxRemembered = 10_000;

    // Read on every bearer request, so lock-free; written only when an address is stopped.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _stopped = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (int Count, DateTimeOffset Since)> _counts = new(StringComparer.Ordinal);

    /// <summary>Until when the address is stopped, or null; each refusal is counted in the metric.</summary>
    public DateTimeOffset? StoppedUntil(string address)
    {
        if (_stopped.IsEmpty || !_stopped.TryGetValue(address, out var until))
        {
            return null;
        }

        if (until <= time.GetUtcNow())
        {
            _stopped.TryRemove(new KeyValuePair<string, DateTimeOffset>(address, until));
            return null;
        }

        metrics.Throttled(Reason);
        return until;
    }

    /// <summary>Counts a token that does not exist; when it is the last one allowed, stops the address and says until when.</summary>
    public DateTimeOffset? Failed(string address)
    {
        var now = time.GetUtcNow();
        DateTimeOffset until;
        lock (_gate)
        {
            if (_counts.Count > MaxRemembered)
            {
                _counts.Clear(); // addresses are cheap to change: bound what they can make us hold
            }

            var (count, since) = _counts.GetValueOrDefault(address, (0, now));
            if (now - since >= Window)
            {
                (count, since) = (0, now);
            }

            if (++count < MaxBadTokens)
            {
                _counts[address] = (count, since);
                return null;
            }

            _counts.Remove(address);
            until = now + Window;
            if (_stopped.Count > MaxRemembered)
            {
                _stopped.Clear();
            }

            _stopped[address] = until;
        }

        metrics.Throttled(Reason);
        Audit(address, until);
        return until;
    }

    /// <summary>One record when an address is stopped, never one per refused token: a flood must not fill the log.</summary>
    private void Audit(string address, DateTimeOffset until) =>
        audit.Append("anonymous", "token.address_throttled", "address:" + address,
            detail: $"{MaxBadTokens} unknown API tokens within {Window.TotalMinutes:N0} minutes from {address}; its bearer tokens are refused until {until:u}");
}
