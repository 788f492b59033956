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
internal sealed partial class SearchIndex(Func<Profile, bool> isLive)
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
}
