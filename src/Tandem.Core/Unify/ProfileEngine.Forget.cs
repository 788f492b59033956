namespace Tandem.Unify;

/// <summary>What forgetting a profile removed: enough to delete its events from the log and report it.</summary>
public sealed record ForgottenProfile(string ProfileId, IReadOnlyList<string> MergedIds, IReadOnlyList<Identifier> Identifiers, long[] EventSeqs, IReadOnlyList<string> Accounts);

public sealed partial class ProfileEngine
{
    /// <summary>
    /// Removes a profile and every trace of it in the engine: its identifiers (they resolve to nothing
    /// from now on), the ids merged into it, its account memberships and what its group calls said
    /// about those accounts (traits, first and last seen), and the declined links other
    /// profiles kept that name its identifiers or id. The caller deletes <see cref="ForgottenProfile.EventSeqs"/>
    /// from the log, so a replay cannot bring it back.
    /// </summary>
    public ForgottenProfile Forget(Profile profile)
    {
        var identifiers = profile.Identifiers.Select(l => l.Identifier).ToArray();
        var mergedIds = profile.MergedIds.ToArray();
        var accounts = profile.Accounts.Order(StringComparer.Ordinal).ToArray();
        var forgotten = new ForgottenProfile(profile.Id, mergedIds, identifiers, profile.EventSeqs, accounts);

        _profiles.Remove(profile.Number);
        CompactNumbers();
        if (_search.Built)
        {
            _search.Forgot(SearchIndex.EntriesOf(profile));
        }
        foreach (var id in mergedIds)
        {
            _absorbed.Remove(Profile.ParseId(id));
        }

        foreach (var id in identifiers)
        {
            _index.Remove(id);
        }

        foreach (var groupId in accounts)
        {
            // What their group calls said about the account goes with them; an account only they described goes too.
            if (_accounts.TryGetValue(groupId, out var account))
            {
                account.Members.Remove(profile);
                if (!account.RemovePart(profile.Number))
                {
                    _accounts.Remove(groupId);
                }
            }
        }

        var ids = identifiers.ToHashSet();
        var profileIds = mergedIds.Append(profile.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var other in _profiles.Values)
        {
            other.DeclinedList?.RemoveAll(d => ids.Contains(d.Identifier) || (d.OtherProfileId is { } o && profileIds.Contains(o)));
            if (other.DeclinedList is { Count: 0 })
            {
                other.DeclinedList = null;
            }
        }

        return forgotten;
    }

    /// <summary>
    /// Takes deleted events out of the profiles' timelines and the list of events not applied
    /// (retention). Counters, traits and computed traits keep what those events contributed, and the
    /// not-applied totals keep counting them: they are what was learned, not the events.
    /// </summary>
    /// <returns>How many timeline entries were removed.</returns>
    public long DropEvents(IReadOnlySet<long> seqs)
    {
        if (seqs.Count == 0)
        {
            return 0;
        }

        NotApplied.Drop(seqs);
        var removed = 0L;
        foreach (var profile in _profiles.Values)
        {
            if (profile.EventCount == 0)
            {
                continue;
            }

            var held = profile.EventSeqs;
            var kept = Array.FindAll(held, s => !seqs.Contains(s));
            if (kept.Length != held.Length)
            {
                removed += held.Length - kept.Length;
                profile.SetSeqs(kept);
            }
        }

        return removed;
    }
}
