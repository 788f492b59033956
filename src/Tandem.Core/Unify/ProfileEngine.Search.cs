namespace Tandem.Unify;

public sealed partial class ProfileEngine
{
    private readonly SearchIndex _search;

    private bool IsLive(Profile profile) => _profiles.TryGetValue(profile.Number, out var live) && ReferenceEquals(live, profile);

    /// <summary>Entries in the search index, stale ones included; 0 until the first search builds it.</summary>
    public long SearchIndexCount => _search.Count;

    internal SearchIndex Search => _search;

    /// <summary>Tests set it to make either way of searching answer every term (both must answer the same).</summary>
    internal long? DenseTermAbove { get; set; }

    /// <summary>
    /// The oldest <paramref name="max"/> profiles that hold an identifier value or a string trait value
    /// starting with <paramref name="prefix"/> (ignoring case) and that <paramref name="match"/> accepts.
    /// The same answer as <see cref="FindProfiles(Func{Profile, bool}, int)"/> with a match that requires
    /// such a value, read from a prefix index rather than every profile. The index is built by the first
    /// call; concurrent readers are safe, as long as no event is applied meanwhile (the host's lock).
    /// </summary>
    public IReadOnlyList<Profile> FindProfiles(string prefix, Func<Profile, bool> match, int max)
    {
        _search.EnsureBuilt(_profiles.Values);

        // A term that starts many values (one or two letters) finds its oldest matches soonest by reading
        // profiles oldest first and stopping at the last one needed; a rarer one reads only its entries.
        if (_search.CountCandidates(prefix) > (DenseTermAbove ?? Math.Max(1024, _profiles.Count / 8)))
        {
            return OldestFirst(match, max);
        }

        var oldest = new PriorityQueue<Profile, long>(max + 1, Comparer<long>.Create((a, b) => b.CompareTo(a)));
        var seen = new HashSet<Profile>(ReferenceEqualityComparer.Instance);
        _search.Candidates(prefix, profile =>
        {
            // The index may still name a profile merged away or forgotten, or a value since replaced: the profile decides.
            if ((oldest.Count == max && profile.Number >= oldest.Peek().Number)
                || !IsLive(profile) || !seen.Add(profile))
            {
                return;
            }

            if (match(profile))
            {
                oldest.Enqueue(profile, profile.Number);
                if (oldest.Count > max)
                {
                    oldest.Dequeue();
                }
            }
        });

        return [.. oldest.UnorderedItems.Select(x => x.Element).OrderBy(p => p.Number)];
    }

    private List<Profile> OldestFirst(Func<Profile, bool> match, int max)
    {
        var found = new List<Profile>(max);
        foreach (var profile in ProfilesAfter(0))
        {
            if (found.Count == max)
            {
                break;
            }

            if (match(profile))
            {
                found.Add(profile);
            }
        }

        return found;
    }

    /// <summary>What the absorbed profile brought the survivor is found under the survivor from now on.</summary>
    private void IndexMerged(Profile survivor, Profile absorbed)
    {
        foreach (var linked in absorbed.IdentifierSpan)
        {
            _search.AddIdentifier(survivor, linked.Identifier.Value);
        }

        foreach (var (key, value) in absorbed.Traits.Entries())
        {
            if (survivor.Traits.TryGet(key, out var kept) && ReferenceEquals(kept.Json, value.Json))
            {
                _search.AddTrait(survivor, value.Json);
            }
        }

        _search.Forgot(SearchIndex.EntriesOf(absorbed));
    }

    private void IndexTraitChanged(Profile owner, byte[] before, byte[] after)
    {
        _search.AddTrait(owner, after);
        if (before.Length >= 2 && before[0] == (byte)'"')
        {
            _search.Forgot(1);
        }
    }
}
