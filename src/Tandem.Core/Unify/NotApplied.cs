namespace Tandem.Unify;

/// <summary>Why an event read from the log reached no customer profile: stable codes an operator can count and search for.</summary>
public static class NotAppliedReason
{
    /// <summary>The stored payload is not a JSON object (a damaged log or a writer other than Tandem's collector).</summary>
    public const string InvalidJson = "invalid_json";

    /// <summary>The payload's <c>type</c> is not a Segment call type.</summary>
    public const string UnknownType = "unknown_type";

    /// <summary>It names no one: every identifier field is missing or blank (or of a type that is not configured).</summary>
    public const string NoIdentifier = "no_identifier";

    /// <summary>Every identifier it carries is blocked by the identity settings (shared-device protection): an outcome, not a fault.</summary>
    public const string BlockedIdentifier = "blocked_identifier";

    /// <summary>The engine failed while applying it: a defect in Tandem, to be reported.</summary>
    public const string ApplyFailed = "apply_failed";

    /// <summary>Every code, in the order documented.</summary>
    public static readonly IReadOnlyList<string> All = [InvalidJson, UnknownType, NoIdentifier, BlockedIdentifier, ApplyFailed];
}

/// <summary>One event the processor read but could not attribute to a customer, and why. It holds no event content.</summary>
/// <param name="ReceivedAtMs">When the collector received the event (from the event itself, so a replay gives the same value); <see cref="long.MinValue"/> when unreadable.</param>
public sealed record NotAppliedEvent(long Seq, int SourceKey, string? MessageId, string? Type, string Reason, string Detail, long ReceivedAtMs);

/// <summary>
/// The events not applied: exact totals per reason, and the newest <see cref="Kept"/> of them in log
/// order. Part of the engine's state (and its snapshot), so a replay of the log gives the same list.
/// </summary>
public sealed class NotAppliedEvents
{
    /// <summary>How many events the list keeps; older ones leave it, their totals stay.</summary>
    public const int Kept = 10_000;

    private readonly NotAppliedEvent[] _ring = new NotAppliedEvent[Kept];
    private readonly SortedDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private int _start;

    /// <summary>Events kept in the list.</summary>
    public int Count { get; private set; }

    /// <summary>Every event not applied so far, whether still in the list or not.</summary>
    public long Total { get; private set; }

    /// <summary>Exact totals by reason code, in code order.</summary>
    public IReadOnlyDictionary<string, long> Totals => _totals;

    internal void Add(NotAppliedEvent entry)
    {
        _totals[entry.Reason] = _totals.GetValueOrDefault(entry.Reason) + 1;
        Total++;
        Keep(entry);
    }

    private void Keep(NotAppliedEvent entry)
    {
        if (Count == Kept)
        {
            _ring[_start] = entry;
            _start = (_start + 1) % Kept;
        }
        else
        {
            _ring[(_start + Count) % Kept] = entry;
            Count++;
        }
    }

    private NotAppliedEvent At(int index) => _ring[(_start + index) % Kept];

    /// <summary>The kept events in log order.</summary>
    public IEnumerable<NotAppliedEvent> Oldest()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return At(i);
        }
    }

    /// <summary>Up to <paramref name="max"/> kept events with a seq below <paramref name="before"/> (all when null), newest first.</summary>
    public IReadOnlyList<NotAppliedEvent> Newest(int max, long? before = null)
    {
        // The list is in seq order: find the first kept event at or after the cursor, then walk back.
        int low = 0, high = Count;
        var bound = before ?? long.MaxValue;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (At(middle).Seq < bound)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        var page = new List<NotAppliedEvent>(Math.Min(max, low));
        for (var i = low - 1; i >= 0 && page.Count < max; i--)
        {
            page.Add(At(i));
        }

        return page;
    }

    /// <summary>Takes deleted events out of the list (retention); the totals keep them, like a profile's counters.</summary>
    internal void Drop(IReadOnlySet<long> seqs)
    {
        var kept = Oldest().Where(e => !seqs.Contains(e.Seq)).ToArray();
        Array.Clear(_ring);
        _start = 0;
        Count = 0;
        foreach (var entry in kept)
        {
            Keep(entry);
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(_totals.Count);
        foreach (var (reason, count) in _totals)
        {
            w.Write(reason);
            w.Write(count);
        }

        w.Write(Count);
        foreach (var e in Oldest())
        {
            w.Write(e.Seq);
            w.Write(e.SourceKey);
            w.Write(e.MessageId ?? "");
            w.Write(e.Type ?? "");
            w.Write(e.Reason);
            w.Write(e.Detail);
            w.Write(e.ReceivedAtMs);
        }
    }

    internal void Read(BinaryReader r)
    {
        var reasons = r.ReadInt32();
        for (var i = 0; i < reasons; i++)
        {
            var reason = r.ReadString();
            var count = r.ReadInt64();
            _totals[reason] = count;
            Total += count;
        }

        var kept = r.ReadInt32();
        for (var i = 0; i < kept; i++)
        {
            Keep(new NotAppliedEvent(r.ReadInt64(), r.ReadInt32(), EmptyAsNull(r.ReadString()), EmptyAsNull(r.ReadString()),
                string.Intern(r.ReadString()), r.ReadString(), r.ReadInt64()));
        }
    }

    private static string? EmptyAsNull(string s) => s.Length == 0 ? null : s;
}
