namespace Tandem.Unify;

/// <summary>What a consent entry says, read against the entry before it for the same category.</summary>
public enum ConsentStatus
{
    /// <summary>Consent given.</summary>
    Granted,

    /// <summary>Consent refused, never having been given (or refused again).</summary>
    Denied,

    /// <summary>Consent withdrawn after it had been given.</summary>
    Revoked,
}

/// <summary>
/// One consent decision as an event carried it: a category (a purpose's name or one of its CMP
/// category names) granted or not, at the event's time, from a source (key 0: Tandem's own API).
/// </summary>
public readonly record struct ConsentDecision(string Category, bool Granted, long AtMs, uint Tie, int SourceKey, long Seq)
{
    public bool IsNewerThan(ConsentDecision other) => AtMs > other.AtMs || (AtMs == other.AtMs && Tie > other.Tie);
}

/// <summary>A decision in a profile's history, with its status read against the one before it.</summary>
public readonly record struct ConsentChange(ConsentDecision Decision, ConsentStatus Status);

/// <summary>
/// A profile's consent: per category the newest decision by event time (last write wins, as for
/// traits, so the current state does not depend on arrival order), and the history of changes in
/// event-time order. Only events that change a category's answer enter the history; an SDK that
/// repeats the same preferences on every event adds nothing.
/// </summary>
public sealed class ConsentState
{
    /// <summary>History entries kept per profile; the oldest go first.</summary>
    public const int MaxHistory = 200;

    /// <summary>Categories kept per profile; decisions on further new ones are ignored (events come from public write keys).</summary>
    public const int MaxCategories = 256;

    private readonly Dictionary<string, ConsentDecision> _current = new(StringComparer.Ordinal);
    private readonly List<ConsentDecision> _history = [];

    public IReadOnlyDictionary<string, ConsentDecision> Current => _current;

    /// <summary>Every kept change, oldest first, each with its status.</summary>
    public IReadOnlyList<ConsentChange> History
    {
        get
        {
            var result = new List<ConsentChange>(_history.Count);
            var last = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var decision in _history)
            {
                var status = decision.Granted ? ConsentStatus.Granted
                    : last.TryGetValue(decision.Category, out var before) && before ? ConsentStatus.Revoked : ConsentStatus.Denied;
                last[decision.Category] = decision.Granted;
                result.Add(new ConsentChange(decision, status));
            }

            return result;
        }
    }

    internal IReadOnlyList<ConsentDecision> Decisions => _history;

    /// <summary>The newest decision among the categories given (a purpose and its CMP aliases), if any.</summary>
    public ConsentDecision? Newest(IEnumerable<string> categories)
    {
        ConsentDecision? newest = null;
        foreach (var category in categories)
        {
            if (_current.TryGetValue(category, out var d) && (newest is not { } n || d.IsNewerThan(n)))
            {
                newest = d;
            }
        }

        return newest;
    }

    /// <summary>Granted; else revoked when one of the categories was granted before it; else denied.</summary>
    public ConsentStatus StatusOf(ConsentDecision decision, IEnumerable<string> categories)
    {
        if (decision.Granted)
        {
            return ConsentStatus.Granted;
        }

        var names = categories as ICollection<string> ?? [.. categories];
        foreach (var earlier in _history)
        {
            if (earlier.Granted && !earlier.IsNewerThan(decision) && names.Contains(earlier.Category))
            {
                return ConsentStatus.Revoked;
            }
        }

        return ConsentStatus.Denied;
    }

    /// <summary>Takes in one decision; says whether the current state or the history changed.</summary>
    public bool Offer(ConsentDecision decision)
    {
        var changed = false;
        if (!_current.TryGetValue(decision.Category, out var held) && _current.Count >= MaxCategories)
        {
            return false;
        }

        if (!_current.ContainsKey(decision.Category) || decision.IsNewerThan(held))
        {
            _current[decision.Category] = decision;
            changed = true;
        }

        // Into the history at its time, unless the category's entry just before says the same.
        var at = _history.Count;
        while (at > 0 && _history[at - 1].IsNewerThan(decision))
        {
            at--;
        }

        for (var i = at - 1; i >= 0; i--)
        {
            if (_history[i].Category == decision.Category)
            {
                if (_history[i].Granted == decision.Granted)
                {
                    return changed;
                }

                break;
            }
        }

        _history.Insert(at, decision);
        if (_history.Count > MaxHistory)
        {
            _history.RemoveAt(0);
        }

        return true;
    }

    /// <summary>Folds another profile's consent into this one (a merge).</summary>
    public void OfferAll(ConsentState other)
    {
        foreach (var decision in other._history)
        {
            Offer(decision);
        }

        foreach (var decision in other._current.Values)
        {
            if (!_current.TryGetValue(decision.Category, out var held) || decision.IsNewerThan(held))
            {
                _current[decision.Category] = decision;
            }
        }
    }

    /// <summary>Restores state as a snapshot wrote it: current decisions and history, already in order.</summary>
    internal void Restore(IEnumerable<ConsentDecision> current, IEnumerable<ConsentDecision> history)
    {
        foreach (var decision in current)
        {
            _current[decision.Category] = decision;
        }

        _history.AddRange(history);
    }
}
