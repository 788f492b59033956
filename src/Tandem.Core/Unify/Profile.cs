using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>
/// An identifier held by a profile, with when and where it was first seen: the earliest event time
/// it came with (equal times settled by the messageId hash <see cref="Tie"/>, so arrival order never matters).
/// </summary>
public readonly record struct LinkedIdentifier(Identifier Identifier, long FirstSeenMs, int SourceKey, long Seq, ulong Tie)
{
    public bool SeenBefore(long timestampMs, ulong tie) => FirstSeenMs < timestampMs || (FirstSeenMs == timestampMs && Tie <= tie);
}

/// <summary>
/// A trait as kept: its raw JSON value and the event time it was set at. The newest
/// <see cref="TimestampMs"/> wins; <see cref="Tie"/> (a hash of the messageId) settles equal times
/// the same way whatever order events arrive in.
/// </summary>
public readonly record struct TraitValue(long TimestampMs, ulong Tie, byte[] Json)
{
    public bool IsNewerThan(TraitValue other) =>
        TimestampMs > other.TimestampMs || (TimestampMs == other.TimestampMs && Tie > other.Tie);
}

/// <summary>
/// Traits kept last-write-wins by event time, per top-level key. Small and flat: profiles hold a
/// handful, in one exactly sized array (memory per profile matters at millions of profiles).
/// </summary>
public sealed class TraitBag
{
    private Entry[] _entries = [];

    public int Count { get; private set; }

    public IEnumerable<(string Key, TraitValue Value)> Entries()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return (_entries[i].Key, _entries[i].Value);
        }
    }

    public bool TryGet(string key, out TraitValue value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _entries[i].Value : default;
        return i >= 0;
    }

    /// <summary>Makes room for <paramref name="more"/> new keys at once, so one identify grows the array once.</summary>
    public void Reserve(int more)
    {
        if (Count + more > _entries.Length)
        {
            Array.Resize(ref _entries, Count + more);
        }
    }

    /// <summary>Sets the trait if the value is newer than the one held; says whether it changed.</summary>
    public bool Offer(string key, TraitValue value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            if (!value.IsNewerThan(_entries[i].Value))
            {
                return false;
            }

            _entries[i].Value = value;
            return true;
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, Count < 8 ? Count + 1 : Count * 2);
        }

        _entries[Count++] = new Entry { Key = key, Value = value };
        return true;
    }

    public void OfferAll(TraitBag other)
    {
        Reserve(other.Count);
        for (var i = 0; i < other.Count; i++)
        {
            Offer(other._entries[i].Key, other._entries[i].Value);
        }
    }

    /// <summary>Gives back unused slots (after a merge reserved for the worst case).</summary>
    public void Trim()
    {
        if (Count < _entries.Length)
        {
            Array.Resize(ref _entries, Count);
        }
    }

    private int IndexOf(string key)
    {
        for (var i = 0; i < Count; i++)
        {
            if (ReferenceEquals(_entries[i].Key, key) || string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private struct Entry
    {
        public string Key;
        public TraitValue Value;
    }
}

/// <summary>Why two profiles became one: the event that linked them and the rule that allowed it.</summary>
public sealed record MergeRecord(
    long Seq,
    string MessageId,
    long EventTimestampMs,
    int SourceKey,
    string SurvivorId,
    string AbsorbedId,
    Identifier Via,
    string Rule,
    IReadOnlyList<Identifier> EventIdentifiers,
    IReadOnlyList<Identifier> AbsorbedIdentifiers);

/// <summary>A link that was not made, because a limit would have been exceeded.</summary>
public sealed record DeclinedLink(
    long Seq,
    string MessageId,
    Identifier Identifier,
    string? OtherProfileId,
    string Reason);

/// <summary>A company or account, from <c>group</c> calls.</summary>
public sealed class Account(string groupId)
{
    public string GroupId { get; } = groupId;

    public TraitBag Traits { get; } = new();

    public long FirstSeenMs { get; internal set; } = long.MaxValue;

    public long LastSeenMs { get; internal set; } = long.MinValue;

    internal HashSet<Profile> Members { get; } = [];

    public int MemberCount => Members.Count;

    public IEnumerable<string> MemberIds => Members.Select(p => p.Id);
}

/// <summary>One customer: every identifier, trait and event that resolved to them.</summary>
public sealed class Profile
{
    internal Profile(long number, string id)
    {
        Number = number;
        Id = id;
    }

    /// <summary>Creation order; on a merge the older profile (lower number) survives.</summary>
    public long Number { get; internal set; }

    public string Id { get; internal set; }

    public long CreatedSeq { get; internal set; }

    internal List<LinkedIdentifier> IdentifierList { get; } = new(2);

    public IReadOnlyList<LinkedIdentifier> Identifiers => IdentifierList;

    public TraitBag Traits { get; } = new();

    public long FirstSeenMs { get; internal set; } = long.MaxValue;

    public long LastSeenMs { get; internal set; } = long.MinValue;

    internal long[] CountsByType { get; } = new long[6];

    /// <summary>Events per source key: a tiny array rather than a dictionary (a profile sees a few sources).</summary>
    internal (int Source, long Count)[] CountsBySource { get; set; } = [];

    /// <summary>Sequence numbers of this profile's events in the log, ascending.</summary>
    internal List<long> EventSeqs { get; set; } = new(4);

    internal HashSet<string>? AccountIds { get; set; }

    internal List<MergeRecord>? MergeList { get; set; }

    internal List<DeclinedLink>? DeclinedList { get; set; }

    internal List<string>? AbsorbedIds { get; set; }

    internal ComputedState?[]? Computed { get; set; }

    public IReadOnlyCollection<string> Accounts => (IReadOnlyCollection<string>?)AccountIds ?? [];

    public IReadOnlyList<MergeRecord> Merges => (IReadOnlyList<MergeRecord>?)MergeList ?? [];

    public IReadOnlyList<DeclinedLink> Declined => (IReadOnlyList<DeclinedLink>?)DeclinedList ?? [];

    /// <summary>Ids of the profiles merged into this one; they still resolve to it.</summary>
    public IReadOnlyList<string> MergedIds => (IReadOnlyList<string>?)AbsorbedIds ?? [];

    public long EventCount => EventSeqs.Count;

    /// <summary>Up to <paramref name="max"/> event sequence numbers below <paramref name="before"/>, newest first.</summary>
    public List<long> EventSeqsSnapshot(long before, int max)
    {
        var end = EventSeqs.BinarySearch(before);
        end = end < 0 ? ~end : end;
        var result = new List<long>(Math.Min(max, end));
        for (var i = end - 1; i >= 0 && result.Count < max; i--)
        {
            result.Add(EventSeqs[i]);
        }

        return result;
    }

    public long CountOf(MessageType type) => CountsByType[(int)type];

    public IReadOnlyDictionary<int, long> EventsBySource => CountsBySource.ToDictionary(c => c.Source, c => c.Count);

    internal void CountSource(int source, long count)
    {
        var counts = CountsBySource;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i].Source == source)
            {
                counts[i].Count += count;
                return;
            }
        }

        // Kept sorted by source key, so the snapshot needs no sort and replays write the same bytes.
        var at = 0;
        while (at < counts.Length && counts[at].Source < source)
        {
            at++;
        }

        var grown = new (int, long)[counts.Length + 1];
        Array.Copy(counts, grown, at);
        grown[at] = (source, count);
        Array.Copy(counts, at, grown, at + 1, counts.Length - at);
        CountsBySource = grown;
    }

    internal int CountOfType(string type)
    {
        var n = 0;
        foreach (var linked in IdentifierList)
        {
            if (linked.Identifier.Type == type)
            {
                n++;
            }
        }

        return n;
    }
}
