namespace Tandem.Unify;

public sealed partial class ProfileEngine
{
    private readonly SearchIndex _search = new();

    /// <summary>Entries in the search index, stale ones included; 0 until the first search builds it.</summary>
    public long SearchIndexCount => _search.Count;

    internal SearchIndex Search => _search;

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
        var oldest = new PriorityQueue<Profile, long>(max + 1, Comparer<long>.Create((a, b) => b.CompareTo(a)));
        var seen = new HashSet<Profile>(ReferenceEqualityComparer.Instance);
        _search.Candidates(prefix, profile =>
        {
            // The index may still name a profile merged away or forgotten, or a value since replaced: the profile decides.
            if (!_profiles.TryGetValue(profile.Number, out var live) || !ReferenceEquals(live, profile) || !seen.Add(profile))
            {
                return;
            }

            if ((oldest.Count < max || profile.Number < oldest.Peek().Number) && match(profile))
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

        _search.Forgot(SearchIndex.EntriesOf(absorbed), () => _profiles.Values);
    }

    private void IndexTraitChanged(Profile owner, byte[] before, byte[] after)
    {
        _search.AddTrait(owner, after);
        if (before.Length >= 2 && before[0] == (byte)'"')
        {
            _search.Forgot(1, () => _profiles.Values);
        }
    }
}
