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
public readonly record struct TraitValue(long TimestampMs, uint Tie, byte[] Json)
{
    public bool IsNewerThan(TraitValue other) =>
        TimestampMs > other.TimestampMs || (TimestampMs == other.TimestampMs && Tie > other.Tie);
}

/// <summary>
/// Trait names, numbered once per process: a profile's traits then hold a 4-byte number per name, not
/// an 8-byte reference (memory per profile matters at millions of profiles).
/// </summary>
internal static class TraitKeys
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, int> Numbers = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> NumbersBySpan = Numbers.GetAlternateLookup<ReadOnlySpan<char>>();
    private static string[] _names = new string[64];

    public static int Of(string name)
    {
        lock (Gate)
        {
            return NumberLocked(name);
        }
    }

    public static int Of(ReadOnlySpan<char> name)
    {
        lock (Gate)
        {
            return NumbersBySpan.TryGetValue(name, out var number) ? number : NumberLocked(new string(name));
        }
    }

    public static string Name(int number) => Volatile.Read(ref _names)[number];

    private static int NumberLocked(string name)
    {
        if (Numbers.TryGetValue(name, out var number))
        {
            return number;
        }

        number = Numbers.Count;
        if (number == _names.Length)
        {
            var grown = new string[_names.Length * 2];
            Array.Copy(_names, grown, _names.Length);
            Volatile.Write(ref _names, grown);
        }

        _names[number] = name;
        Numbers[name] = number;
        return number;
    }
}

/// <summary>
/// Traits kept last-write-wins by event time, per top-level key. Small and flat: profiles hold a
/// handful, in one exactly sized array of 24-byte entries.
/// </summary>
public sealed class TraitBag
{
    private Entry[] _entries = [];

    public int Count { get; private set; }

    public IEnumerable<(string Key, TraitValue Value)> Entries()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return (TraitKeys.Name(_entries[i].Key), _entries[i].Value);
        }
    }

    public bool TryGet(string key, out TraitValue value) => TryGet(TraitKeys.Of(key), out value);

    internal bool TryGet(int key, out TraitValue value)
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
    public bool Offer(string key, TraitValue value) => Offer(TraitKeys.Of(key), value);

    internal bool Offer(int key, TraitValue value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            if (!value.IsNewerThan(_entries[i].Value))
            {
                return false;
            }

            _entries[i] = new Entry(key, value);
            return true;
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, Count < 8 ? Count + 1 : Count * 2);
        }

        _entries[Count++] = new Entry(key, value);
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

    public void Clear()
    {
        _entries = [];
        Count = 0;
    }

    /// <summary>Gives back unused slots (after a merge reserved for the worst case).</summary>
    public void Trim()
    {
        if (Count < _entries.Length)
        {
            Array.Resize(ref _entries, Count);
        }
    }

    private int IndexOf(int key)
    {
        for (var i = 0; i < Count; i++)
        {
            if (_entries[i].Key == key)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Time, value, tie and key packed in 24 bytes.</summary>
    private readonly struct Entry(int key, TraitValue value)
    {
        private readonly long _timestampMs = value.TimestampMs;
        private readonly byte[] _json = value.Json;
        private readonly uint _tie = value.Tie;

        public int Key { get; } = key;

        public TraitValue Value => new(_timestampMs, _tie, _json);
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

/// <summary>
/// One customer: every identifier, trait and event that resolved to them. Laid out for memory: a
/// million of these must fit in well under 2 GiB, so identifiers sit in one exact array, counters
/// inline, and the event timeline as delta-encoded sequence numbers.
/// </summary>
public sealed class Profile
{
    private LinkedIdentifier[] _identifiers = [];
    private int _identifierCount;
    private TypeCounts _countsByType;
    private byte[] _seqBytes = [];
    private int _seqByteCount;
    private int _seqCount;
    private long _lastSeq;

    internal Profile(long number) => Number = number;

    /// <summary>The log sequence number of the event that created the profile: creation order, and stable
    /// across deletes and replays. On a merge the older profile (lower number) survives.</summary>
    public long Number { get; internal set; }

    /// <summary><c>prf_</c> and the number in hex; not stored, since it follows from the number.</summary>
    public string Id => Number == 0 ? "" : FormatId(Number);

    public IReadOnlyList<LinkedIdentifier> Identifiers => new ArraySegment<LinkedIdentifier>(_identifiers, 0, _identifierCount);

    internal Span<LinkedIdentifier> IdentifierSpan => _identifiers.AsSpan(0, _identifierCount);

    public TraitBag Traits { get; } = new();

    public long FirstSeenMs { get; internal set; } = long.MaxValue;

    public long LastSeenMs { get; internal set; } = long.MinValue;

    /// <summary>Events per source key: a tiny array rather than a dictionary (a profile sees a few sources).</summary>
    internal (int Source, long Count)[] CountsBySource { get; set; } = [];

    internal HashSet<string>? AccountIds { get; set; }

    internal List<MergeRecord>? MergeList { get; set; }

    internal List<DeclinedLink>? DeclinedList { get; set; }

    internal List<string>? AbsorbedIds { get; set; }

    internal ComputedState?[]? Computed { get; set; }

    /// <summary>Consent per category with its history; null until an event or the API records any.</summary>
    public ConsentState? Consent { get; internal set; }

    public IReadOnlyCollection<string> Accounts => (IReadOnlyCollection<string>?)AccountIds ?? [];

    public IReadOnlyList<MergeRecord> Merges => (IReadOnlyList<MergeRecord>?)MergeList ?? [];

    public IReadOnlyList<DeclinedLink> Declined => (IReadOnlyList<DeclinedLink>?)DeclinedList ?? [];

    /// <summary>Ids of the profiles merged into this one; they still resolve to it.</summary>
    public IReadOnlyList<string> MergedIds => (IReadOnlyList<string>?)AbsorbedIds ?? [];

    public long EventCount => _seqCount;

    /// <summary>Sequence numbers of this profile's events in the log, ascending (decoded on each call).</summary>
    public long[] EventSeqs
    {
        get
        {
            var seqs = new long[_seqCount];
            var at = 0;
            var seq = 0L;
            for (var i = 0; i < seqs.Length; i++)
            {
                seq += ReadVarint(_seqBytes, ref at);
                seqs[i] = seq;
            }

            return seqs;
        }
    }

    /// <summary>Up to <paramref name="max"/> event sequence numbers below <paramref name="before"/>, newest first.</summary>
    public List<long> EventSeqsSnapshot(long before, int max)
    {
        var seqs = EventSeqs;
        var end = Array.BinarySearch(seqs, before);
        end = end < 0 ? ~end : end;
        var result = new List<long>(Math.Min(max, end));
        for (var i = end - 1; i >= 0 && result.Count < max; i--)
        {
            result.Add(seqs[i]);
        }

        return result;
    }

    public long CountOf(MessageType type) => _countsByType[(int)type];

    public IReadOnlyDictionary<int, long> EventsBySource => CountsBySource.ToDictionary(c => c.Source, c => c.Count);

    internal static string FormatId(long number) => "prf_" + number.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The number in a profile id, or 0 when the text is not one.</summary>
    internal static long ParseId(string id) =>
        id.StartsWith("prf_", StringComparison.Ordinal) && id.Length is > 4 and <= 20
        && long.TryParse(id.AsSpan(4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var n)
        && n > 0 && FormatId(n) == id ? n : 0;

    internal void AddIdentifier(LinkedIdentifier linked)
    {
        if (_identifierCount == _identifiers.Length)
        {
            Array.Resize(ref _identifiers, _identifierCount + 1);
        }

        _identifiers[_identifierCount++] = linked;
    }

    internal void AddCount(MessageType type, long count) => _countsByType[(int)type] += (int)count;

    /// <summary>Appends an event; sequence numbers only grow, except on merges, which use <see cref="SetSeqs"/>.</summary>
    internal void AppendSeq(long seq)
    {
        if (seq < _lastSeq)
        {
            SetSeqs([.. EventSeqs.Append(seq).Order()]);
            return;
        }

        Span<byte> encoded = stackalloc byte[10];
        var length = WriteVarint(encoded, (ulong)(seq - _lastSeq));
        if (_seqByteCount + length > _seqBytes.Length)
        {
            Array.Resize(ref _seqBytes, _seqByteCount + Math.Max(length, Math.Max(8, _seqByteCount / 4)));
        }

        encoded[..length].CopyTo(_seqBytes.AsSpan(_seqByteCount));
        _seqByteCount += length;
        _seqCount++;
        _lastSeq = seq;
    }

    internal void SetSeqs(long[] ascending)
    {
        var buffer = new byte[ascending.Length * 10];
        var at = 0;
        var previous = 0L;
        foreach (var seq in ascending)
        {
            at += WriteVarint(buffer.AsSpan(at), (ulong)(seq - previous));
            previous = seq;
        }

        _seqBytes = buffer.AsSpan(0, at).ToArray();
        _seqByteCount = at;
        _seqCount = ascending.Length;
        _lastSeq = previous;
    }

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
        foreach (var linked in IdentifierSpan)
        {
            if (linked.Identifier.Type == type)
            {
                n++;
            }
        }

        return n;
    }

    private static int WriteVarint(Span<byte> into, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            into[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        into[i++] = (byte)value;
        return i;
    }

    private static long ReadVarint(byte[] from, ref int at)
    {
        ulong value = 0;
        var shift = 0;
        byte b;
        do
        {
            b = from[at++];
            value |= (ulong)(b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return (long)value;
    }

    [System.Runtime.CompilerServices.InlineArray(6)]
    private struct TypeCounts
    {
        private int _count;
    }
}
