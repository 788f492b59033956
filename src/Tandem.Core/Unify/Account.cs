namespace Tandem.Unify;

/// <summary>A company or account, from <c>group</c> calls.</summary>
/// <remarks>
/// What each member's group calls said is kept apart (<see cref="Parts"/>), and the account's traits
/// and times are the newest of those parts. That is what lets a privacy delete take out exactly what
/// the deleted person said about the account, leaving it as if their group calls had never arrived.
/// </remarks>
public sealed class Account(string groupId)
{
    /// <summary>The part of group calls that named no customer: they still describe the account.</summary>
    internal const long NoOne = 0;

    public string GroupId { get; } = groupId;

    public TraitBag Traits { get; } = new();

    public long FirstSeenMs { get; internal set; } = long.MaxValue;

    public long LastSeenMs { get; internal set; } = long.MinValue;

    internal HashSet<Profile> Members { get; } = [];

    /// <summary>What the group calls of each profile (by number; <see cref="NoOne"/> for calls naming no one) said, by profile number.</summary>
    internal SortedDictionary<long, AccountPart> Parts { get; } = [];

    public int MemberCount => Members.Count;

    public IEnumerable<string> MemberIds => Members.Select(p => p.Id);

    internal AccountPart PartOf(long number)
    {
        if (!Parts.TryGetValue(number, out var part))
        {
            part = new AccountPart();
            Parts[number] = part;
        }

        return part;
    }

    /// <summary>Moves what one profile said into another's part (a merge: one customer, one part).</summary>
    internal void MovePart(long from, long to)
    {
        if (Parts.Remove(from, out var moved))
        {
            var into = PartOf(to);
            into.Traits.OfferAll(moved.Traits);
            into.Traits.Trim();
            into.FirstSeenMs = Math.Min(into.FirstSeenMs, moved.FirstSeenMs);
            into.LastSeenMs = Math.Max(into.LastSeenMs, moved.LastSeenMs);
        }
    }

    /// <summary>Takes out what one profile said and settles traits and times again from the parts left; false when none is left.</summary>
    internal bool RemovePart(long number)
    {
        if (!Parts.Remove(number))
        {
            return Parts.Count > 0;
        }

        Traits.Clear();
        FirstSeenMs = long.MaxValue;
        LastSeenMs = long.MinValue;
        foreach (var part in Parts.Values)
        {
            // Last write wins by event time, so the order parts are offered in does not change the outcome.
            Traits.OfferAll(part.Traits);
            FirstSeenMs = Math.Min(FirstSeenMs, part.FirstSeenMs);
            LastSeenMs = Math.Max(LastSeenMs, part.LastSeenMs);
        }

        Traits.Trim();
        return Parts.Count > 0;
    }
}

/// <summary>What one customer's group calls (or those naming no one) said about an account.</summary>
internal sealed class AccountPart
{
    public TraitBag Traits { get; } = new();

    public long FirstSeenMs { get; set; } = long.MaxValue;

    public long LastSeenMs { get; set; } = long.MinValue;
}
