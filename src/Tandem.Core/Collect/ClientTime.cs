namespace Tandem.Collect;

/// <summary>
/// Turns the times a client sent into the event's <c>timestamp</c>, corrected for the client's clock
/// skew, and refuses to believe times outside the range a real event can have.
/// </summary>
internal static class ClientTime
{
    /// <summary>No event tracked by a Segment-style SDK happened before the Unix epoch.</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far ahead of the server's clock a corrected time may be; further means a wrong clock, not skew.</summary>
    public static readonly TimeSpan MaxAhead = TimeSpan.FromDays(1);

    public const string OutOfRangeDetail =
        "The client's time, corrected for clock skew (timestamp minus sentAt's lead over the server's clock), is before 1970 or more than a day ahead of the server. " +
        "timestamp was set to receivedAt; the client's value is kept in originalTimestamp. Check the device's clock, or send timestamp and sentAt from the same clock.";

    /// <summary>
    /// <c>receivedAt − (sentAt − original)</c> when both client times are known, else <paramref name="original"/>,
    /// else <paramref name="receivedAt"/>; null when the result is out of range (the caller uses receivedAt).
    /// </summary>
    /// <remarks>Computed in ticks: each operand is within year 1–9999, so the sum cannot overflow a long, and nothing here throws.</remarks>
    public static DateTimeOffset? Corrected(DateTimeOffset? original, DateTimeOffset? sentAt, DateTimeOffset receivedAt)
    {
        if (original is not { } o)
        {
            return receivedAt;
        }

        var ticks = sentAt is { } s ? receivedAt.UtcTicks - (s.UtcTicks - o.UtcTicks) : o.UtcTicks;
        return ticks < Earliest.UtcTicks || ticks > (receivedAt + MaxAhead).UtcTicks
            ? null
            : new DateTimeOffset(ticks, TimeSpan.Zero);
    }
}
