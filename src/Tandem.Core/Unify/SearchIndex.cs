using System.Text;

namespace Tandem.Unify;

/// <summary>
/// A prefix index over what profile search reads: identifier values and string trait values, ordered
/// case-insensitively (each character upper-cased, invariant), so the values that start with a term
/// sit side by side and a search reads only those instead of every profile.
/// </summary>
/// <remarks>
/// It may hold more than is true, never less: an entry whose profile has since merged away, been
/// forgotten or changed that trait stays until the next compaction, and the caller checks every
/// candidate against the profile itself. Entries are added to a small unsorted buffer; a full buffer is
/// sorted into a run, and runs of similar size are merged (the logarithmic method), so adding costs
/// O(log n) amortised and a search does two binary searches per run. When about half the entries are
/// stale they are dropped and the runs merged into one, which bounds its memory to about twice what
/// the profiles need. It is built on the first search, so a workspace that never searches pays nothing.
/// </remarks>
internal sealed class SearchIndex(Func<Profile, bool> isLive)
{
    private const int BufferLimit = 4096;

    private readonly List<Entry[]> _runs = [];
    private readonly List<Entry> _buffer = [];
    private readonly Lock _building = new();
    private volatile bool _built;
    private long _count;
    private long _stale;

    /// <summary>
    /// One value of one profile. <see cref="Key"/> is an identifier's value (a string) or a string
    /// trait's raw JSON (bytes, quotes included). <see cref="Prefix"/> holds its first eight bytes as
    /// compared, so most comparisons never leave the entry: sorting 2.8 million entries that had to
    /// read every key from the heap took about 10 s, on the inline prefix well under one.
    /// </summary>
    internal readonly record struct Entry(object Key, Profile Profile, ulong Prefix)
    {
        public Entry(object key, Profile profile)
            : this(key, profile, PrefixOf(key))
        {
        }
    }

    /// <summary>Whether the engine must keep the index up to date (it is, once a search built it).</summary>
    public bool Built => _built;

    /// <summary>Entries held, stale ones included (for tests and benchmarks).</summary>
    public long Count => _count;

    /// <summary>How many times stale entries were dropped (for tests).</summary>
    public int Compactions { get; private set; }

    /// <summary>Builds the index from <paramref name="live"/> once; concurrent readers wait for the first.</summary>
    public void EnsureBuilt(IEnumerable<Profile> live)
    {
        if (_built)
        {
            return;
        }

        lock (_building)
        {
            if (!_built)
            {
                Rebuild(live);
                _built = true;
            }
        }
    }

    public void AddIdentifier(Profile profile, string value) => Add(new Entry(value, profile));

    /// <summary>Adds a trait's value if it is a JSON string (search reads no other kind).</summary>
    public void AddTrait(Profile profile, byte[] json)
    {
        if (IsString(json))
        {
            Add(new Entry(json, profile));
        }
    }

    /// <summary>Counts entries made stale (a trait value replaced, a profile merged away or forgotten), to know when to compact.</summary>
    public void Forgot(long entries)
    {
        _stale += entries;
        if (_stale > 4096 && _stale * 2 > _count)
        {
            Compact();
        }
    }

    /// <summary>The entries a profile has: what a rebuild puts in, and what goes stale when it leaves.</summary>
    public static int EntriesOf(Profile profile)
    {
        var n = profile.Identifiers.Count;
        foreach (var (_, value) in profile.Traits.Entries())
        {
            n += IsString(value.Json) ? 1 : 0;
        }

        return n;
    }

    /// <summary>How many entries start with <paramref name="term"/>: binary searches only, no entry is read.</summary>
    public long CountCandidates(string term)
    {
        var probe = Probe(term);
        long n = 0;
        foreach (var run in _runs)
        {
            var (from, to) = Range(run, probe);
            n += to - from;
        }

        return n + _buffer.Count;
    }

    /// <summary>Every profile with an entry that starts with <paramref name="term"/> (case-insensitive), some more than once, some no longer live.</summary>
    public void Candidates(string term, Action<Profile> visit)
    {
        var probe = Probe(term);
        var key = (string)probe.Key;
        foreach (var run in _runs)
        {
            var (from, to) = Range(run, probe);
            for (var i = from; i < to; i++)
            {
                visit(run[i].Profile);
            }
        }

        foreach (var entry in _buffer)
        {
            if (StartsWith(entry.Key, key))
            {
                visit(entry.Profile);
            }
        }
    }

    private void Add(Entry entry)
    {
        _buffer.Add(entry);
        _count++;
        if (_buffer.Count < BufferLimit)
        {
            return;
        }

        var run = _buffer.ToArray();
        Array.Sort(run, Order);
        _buffer.Clear();
        _runs.Add(run);

        // Merge while the newest run is at least half its predecessor: runs stay few (about log2 of n / 4096).
        while (_runs.Count > 1 && _runs[^1].Length * 2 >= _runs[^2].Length)
        {
            var merged = Merge(_runs[^2], _runs[^1]);
            _runs.RemoveRange(_runs.Count - 2, 2);
            _runs.Add(merged);
        }
    }

    /// <summary>
    /// Keeps only entries still true and merges every run into one: linear in the entries (runs are
    /// sorted already), where a rebuild would sort them all again.
    /// </summary>
    private void Compact()
    {
        var buffered = _buffer.Where(IsCurrent).ToArray();
        Array.Sort(buffered, Order);
        var merged = buffered;
        foreach (var run in _runs.OrderBy(r => r.Length))
        {
            merged = Merge(merged, Array.FindAll(run, IsCurrent));
        }

        _runs.Clear();
        _buffer.Clear();
        if (merged.Length > 0)
        {
            _runs.Add(merged);
        }

        _count = merged.Length;
        _stale = 0;
        Compactions++;
    }

    /// <summary>An entry is current while its profile is live and still holds the value (trait values are shared arrays, so the very array).</summary>
    private bool IsCurrent(Entry entry)
    {
        if (!isLive(entry.Profile))
        {
            return false;
        }

        if (entry.Key is string)
        {
            return true; // identifiers never leave a live profile
        }

        foreach (var (_, value) in entry.Profile.Traits.Entries())
        {
            if (ReferenceEquals(value.Json, entry.Key))
            {
                return true;
            }
        }

        return false;
    }

    private void Rebuild(IEnumerable<Profile> live)
    {
        // Counted first, so the entries are allocated once at their size (millions: no doubling copies).
        var profiles = live as ICollection<Profile> ?? [.. live];
        var size = 0L;
        foreach (var profile in profiles)
        {
            size += EntriesOf(profile);
        }

        var run = new Entry[size];
        var n = 0;
        foreach (var profile in profiles)
        {
            foreach (var linked in profile.Identifiers)
            {
                run[n++] = new Entry(linked.Identifier.Value, profile);
            }

            foreach (var (_, value) in profile.Traits.Entries())
            {
                if (IsString(value.Json))
                {
                    run[n++] = new Entry(value.Json, profile);
                }
            }
        }

        Array.Sort(run, Order);
        _runs.Clear();
        _buffer.Clear();
        if (run.Length > 0)
        {
            _runs.Add(run);
        }

        _count = run.Length;
        _stale = 0;
    }

    private static Entry[] Merge(Entry[] a, Entry[] b)
    {
        var result = new Entry[a.Length + b.Length];
        int i = 0, j = 0, k = 0;
        while (i < a.Length && j < b.Length)
        {
            result[k++] = Order(a[i], b[j]) <= 0 ? a[i++] : b[j++];
        }

        Array.Copy(a, i, result, k, a.Length - i);
        Array.Copy(b, j, result, k + a.Length - i, b.Length - j);
        return result;
    }

    private static readonly Comparison<Entry> Order = (x, y) => x.Prefix != y.Prefix ? x.Prefix.CompareTo(y.Prefix) : Compare(x.Key, y.Key);

    /// <summary>
    /// The first eight bytes of the key's upper-cased characters in UTF-8, zero-padded. UTF-8 keeps the
    /// order of code points, so keys whose prefixes differ compare as their prefixes do; equal prefixes
    /// are settled by the whole key.
    /// </summary>
    private static ulong PrefixOf(object key)
    {
        Span<byte> bytes = stackalloc byte[12];
        bytes.Clear();
        int at = Start(key), filled = 0;
        while (filled < 8)
        {
            var c = Next(key, ref at);
            if (c < 0)
            {
                break;
            }

            filled += new Rune(c).EncodeToUtf8(bytes[filled..]);
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private static bool IsString(byte[] json) => json.Length >= 2 && json[0] == (byte)'"';

    /// <summary>
    /// The part of a term the index can look up: all of it, unless it holds half of a surrogate pair,
    /// which the comparison reads as U+FFFD while a value may hold the whole pair there; then the text
    /// before it (the caller's own check settles the rest).
    /// </summary>
    private static Entry Probe(string term) => new(SearchableTerm(term), null!);

    private static string SearchableTerm(string term)
    {
        for (var i = 0; i < term.Length; i++)
        {
            if (char.IsHighSurrogate(term[i]) && i + 1 < term.Length && char.IsLowSurrogate(term[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(term[i]))
            {
                return term[..i];
            }
        }

        return term;
    }

    /// <summary>The entries of a run that start with <paramref name="key"/>: they sit together, from its lower bound on.</summary>
    private static (int From, int To) Range(Entry[] run, Entry probe)
    {
        var key = (string)probe.Key;
        var from = LowerBound(run, probe);
        int lo = from, hi = run.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (StartsWith(run[mid].Key, key))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return (from, lo);
    }

    private static int LowerBound(Entry[] run, Entry probe)
    {
        int lo = 0, hi = run.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (Order(run[mid], probe) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int Compare(object a, object b)
    {
        int i = Start(a), j = Start(b);

        // Most text is ASCII: compare it without decoding, and decode only from the first other character on.
        if (a is string sa && b is string sb)
        {
            var n = Math.Min(sa.Length, sb.Length);
            for (; i < n; i++)
            {
                int x = sa[i], y = sb[i];
                if ((x | y) >= 0x80)
                {
                    break;
                }

                if (x != y && (x = Fold(x)) != (y = Fold(y)))
                {
                    return x - y;
                }
            }

            j = i;
        }
        else if (a is byte[] ba && b is byte[] bb)
        {
            var n = Math.Min(ba.Length, bb.Length) - 1;
            for (; i < n; i++)
            {
                int x = ba[i], y = bb[i];
                if ((x | y) >= 0x80)
                {
                    break;
                }

                if (x != y && (x = Fold(x)) != (y = Fold(y)))
                {
                    return x - y;
                }
            }

            j = i;
        }

        while (true)
        {
            var x = Next(a, ref i);
            var y = Next(b, ref j);
            if (x != y || x < 0)
            {
                return x.CompareTo(y);
            }
        }
    }

    private static bool StartsWith(object key, string term)
    {
        int i = Start(key), j = 0;
        while (true)
        {
            var t = Next(term, ref j);
            if (t < 0)
            {
                return true;
            }

            if (Next(key, ref i) != t)
            {
                return false;
            }
        }
    }

    private static int Start(object key) => key is byte[]? 1 : 0;

    private static int Fold(int ascii) => ascii is >= 'a' and <= 'z' ? ascii - 32 : ascii;

    /// <summary>The next character upper-cased (invariant, per code point), or -1 at the end. Text that is not valid Unicode reads as U+FFFD.</summary>
    private static int Next(object key, ref int at)
    {
        Rune rune;
        if (key is string s)
        {
            if (at >= s.Length)
            {
                return -1;
            }

            var c = s[at];
            if (c < 0x80)
            {
                at++;
                return c is >= 'a' and <= 'z' ? c - 32 : c;
            }

            Rune.DecodeFromUtf16(s.AsSpan(at), out rune, out var used);
            at += used;
        }
        else
        {
            var json = (byte[])key;
            if (at >= json.Length - 1)
            {
                return -1;
            }

            var b = json[at];
            if (b < 0x80)
            {
                at++;
                return b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b;
            }

            Rune.DecodeFromUtf8(json.AsSpan(at, json.Length - 1 - at), out rune, out var used);
            at += used;
        }

        return Rune.ToUpperInvariant(rune).Value;
    }
}
