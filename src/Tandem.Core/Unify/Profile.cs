using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>An identifier held by a profile, with when and where it was first seen.</summary>
public sealed record LinkedIdentifier(Identifier Identifier, long FirstSeenMs, int SourceKey, long Seq);

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

/// <summary>Traits kept last-write-wins by event time, per top-level key. Small and flat: profiles hold a handful.</summary>
public sealed class TraitBag
{
    private string[] _keys = [];
    private TraitValue[] _values = [];

    public int Count { get; private set; }

    public IEnumerable<(string Key, TraitValue Value)> Entries()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return (_keys[i], _values[i]);
        }
    }

    public bool TryGet(string key, out TraitValue value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _values[i] : default;
        return i >= 0;
    }

    /// <summary>Sets the trait if the value is newer than the one held; says whether it changed.</summary>
    public bool Offer(string key, TraitValue value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            if (!value.IsNewerThan(_values[i]))
            {
                return false;
            }

            _values[i] = value;
            return true;
        }

        if (Count == _keys.Length)
        {
            var size = Math.Max(4, Count * 2);
            Array.Resize(ref _keys, size);
            Array.Resize(ref _values, size);
        }

        _keys[Count] = key;
        _values[Count] = value;
        Count++;
        return true;
    }

    public void OfferAll(TraitBag other)
    {
        for (var i = 0; i < other.Count; i++)
        {
            Offer(other._keys[i], other._values[i]);
        }
    }

    private int IndexOf(string key)
    {
        for (var i = 0; i < Count; i++)
        {
            if (string.Equals(_keys[i], key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
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

    internal Dictionary<int, long> CountsBySource { get; } = new(2);

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

    public IReadOnlyDictionary<int, long> EventsBySource => CountsBySource;

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
