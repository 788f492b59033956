using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>How a computed trait folds the matching events into one value.</summary>
public enum Aggregation
{
    Count,
    Sum,
    Min,
    Max,
    Avg,
    First,
    Last,
    MostFrequent,
    UniqueCount,
    UniqueList,
}

/// <summary>How a condition compares an event property with a value.</summary>
public enum ConditionOperator
{
    Equals,
    NotEquals,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    Contains,
    Exists,
    NotExists,
}

/// <summary>A filter on one event property (dotted path inside <c>properties</c>); <see cref="Value"/> is raw JSON.</summary>
public sealed record PropertyCondition(string Property, ConditionOperator Operator, string? Value = null);

/// <summary>
/// A trait computed from a customer's events: the aggregation of <see cref="Property"/> (or just the
/// number of events, for <see cref="Aggregation.Count"/>) over the events of <see cref="Type"/> and, for
/// track, named <see cref="Event"/> (<c>*</c> for any), that pass every condition, over all time or
/// over the last <see cref="Window"/>.
/// </summary>
public sealed record ComputedTraitDefinition(
    string Name,
    Aggregation Aggregation,
    MessageType Type = MessageType.Track,
    string? Event = null,
    string? Property = null,
    IReadOnlyList<PropertyCondition>? Where = null,
    TimeSpan? Window = null)
{
    /// <summary>Value equality, conditions compared item by item (a record compares lists by reference).</summary>
    public bool Equals(ComputedTraitDefinition? other) =>
        other is not null && Name == other.Name && Aggregation == other.Aggregation && Type == other.Type && Event == other.Event
        && Property == other.Property && Window == other.Window && (Where ?? []).SequenceEqual(other.Where ?? []);

    public override int GetHashCode() => HashCode.Combine(Name, Aggregation, Type, Event, Property, Window, (Where ?? []).Count);

    internal bool NeedsJson => Aggregation is Aggregation.First or Aggregation.Last or Aggregation.MostFrequent or Aggregation.UniqueCount or Aggregation.UniqueList;

    internal bool NeedsFrequencies => Aggregation is Aggregation.MostFrequent or Aggregation.UniqueCount or Aggregation.UniqueList;

    internal bool NeedsNumber => Aggregation is Aggregation.Sum or Aggregation.Min or Aggregation.Max or Aggregation.Avg;

    /// <summary>Null when the definition is usable; else what to fix.</summary>
    public string? Problem()
    {
        if (Type == MessageType.Track && string.IsNullOrWhiteSpace(Event))
        {
            return "A computed trait over track events needs \"event\": the event name, or \"*\" for every track event.";
        }

        if (Aggregation != Aggregation.Count && string.IsNullOrWhiteSpace(Property))
        {
            return $"The {Aggregation} aggregation needs \"property\": the event property it reads.";
        }

        if (Window is { } w && w <= TimeSpan.Zero)
        {
            return "The window must be positive, such as \"7d\" or \"24h\".";
        }

        foreach (var condition in Where ?? [])
        {
            if (condition.Operator is not (ConditionOperator.Exists or ConditionOperator.NotExists) && condition.Value is null)
            {
                return $"The condition on '{condition.Property}' needs a value.";
            }
        }

        return null;
    }
}

/// <summary>
/// The running state of one computed trait on one profile. All-time traits keep running aggregates;
/// windowed traits keep the matching events inside the window (value and time) and fold them when read,
/// dropping what the clock has moved past. Numbers are kept exactly (<see cref="ExactNumber"/>), so
/// any order of arrival gives the same digits.
/// </summary>
public sealed class ComputedState
{
    internal long Count;
    internal long NumericCount;
    internal ExactNumber Sum = ExactNumber.Zero;
    internal ExactNumber? Min;
    internal ExactNumber? Max;
    internal Observation? First;
    internal Observation? Last;
    internal Dictionary<string, long>? Frequencies;
    internal List<Observation>? Window;

    /// <summary>One matching event: its time, its tie-break and the property read (raw JSON, and as a number when it is one).</summary>
    internal readonly record struct Observation(long TimestampMs, ulong Tie, string? Json, ExactNumber? Number)
    {
        public bool IsAfter(Observation other) =>
            TimestampMs > other.TimestampMs || (TimestampMs == other.TimestampMs && Tie > other.Tie);
    }

    /// <summary>Adds a matching event. Windowed traits first drop what is older than <paramref name="staleBeforeMs"/>.</summary>
    internal void Add(Observation o, bool windowed, bool frequencies, long staleBeforeMs = long.MinValue)
    {
        if (windowed)
        {
            var list = Window ??= [];
            Expire(staleBeforeMs);
            var i = list.Count;
            while (i > 0 && list[i - 1].IsAfter(o))
            {
                i--;
            }

            list.Insert(i, o);
            return;
        }

        Fold(o, frequencies);
    }

    private void Fold(Observation o, bool frequencies)
    {
        Count++;
        if (o.Number is { } n)
        {
            NumericCount++;
            Sum += n;
            Min = Min is { } min && min <= n ? min : n;
            Max = Max is { } max && max >= n ? max : n;
        }

        if (First is not { } first || first.IsAfter(o))
        {
            First = o;
        }

        if (Last is not { } last || o.IsAfter(last))
        {
            Last = o;
        }

        if (frequencies && o.Json is { } json)
        {
            Frequencies ??= new(StringComparer.Ordinal);
            Frequencies[json] = Frequencies.GetValueOrDefault(json) + 1;
        }
    }

    internal void Absorb(ComputedState other, long staleBeforeMs)
    {
        if (other.Window is { } window)
        {
            foreach (var o in window)
            {
                Add(o, windowed: true, frequencies: false, staleBeforeMs);
            }

            return;
        }

        Count += other.Count;
        NumericCount += other.NumericCount;
        Sum += other.Sum;
        if (other.Min is { } min)
        {
            Min = Min is { } m && m <= min ? m : min;
        }

        if (other.Max is { } max)
        {
            Max = Max is { } m && m >= max ? m : max;
        }

        if (other.First is { } first && (First is not { } f || f.IsAfter(first)))
        {
            First = first;
        }

        if (other.Last is { } last && (Last is not { } l || last.IsAfter(l)))
        {
            Last = last;
        }

        if (other.Frequencies is { } frequencies)
        {
            Frequencies ??= new(StringComparer.Ordinal);
            foreach (var (json, count) in frequencies)
            {
                Frequencies[json] = Frequencies.GetValueOrDefault(json) + count;
            }
        }
    }

    /// <summary>Drops windowed observations older than <paramref name="fromMs"/>; says how many went.</summary>
    internal int Expire(long fromMs)
    {
        if (Window is not { Count: > 0 } list || list[0].TimestampMs >= fromMs)
        {
            return 0;
        }

        var n = 0;
        while (n < list.Count && list[n].TimestampMs < fromMs)
        {
            n++;
        }

        list.RemoveRange(0, n);
        return n;
    }

    /// <summary>The trait's value as JSON, at <paramref name="nowMs"/> for windowed traits.</summary>
    internal string Evaluate(ComputedTraitDefinition definition, long nowMs)
    {
        var state = this;
        if (definition.Window is { } window)
        {
            state = new ComputedState();
            var from = nowMs - (long)window.TotalMilliseconds;
            foreach (var o in Window ?? [])
            {
                if (o.TimestampMs >= from && o.TimestampMs <= nowMs)
                {
                    state.Fold(o, definition.NeedsFrequencies);
                }
            }
        }

        return definition.Aggregation switch
        {
            Aggregation.Count => state.Count.ToString(CultureInfo.InvariantCulture),
            Aggregation.Sum => state.Sum.ToString(),
            Aggregation.Min => state.Min?.ToString() ?? "null",
            Aggregation.Max => state.Max?.ToString() ?? "null",
            Aggregation.Avg => state.NumericCount > 0 ? state.Sum.DividedBy(state.NumericCount) : "null",
            Aggregation.First => state.First?.Json ?? "null",
            Aggregation.Last => state.Last?.Json ?? "null",
            Aggregation.MostFrequent => state.Frequencies is { Count: > 0 } f
                ? f.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First().Key
                : "null",
            Aggregation.UniqueCount => (state.Frequencies?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
            Aggregation.UniqueList => "[" + string.Join(",", (state.Frequencies?.Keys ?? Enumerable.Empty<string>()).Order(StringComparer.Ordinal)) + "]",
            _ => "null",
        };
    }
}

/// <summary>A definition prepared for the hot path: property paths split, condition values parsed once.</summary>
internal sealed class CompiledTrait
{
    public CompiledTrait(ComputedTraitDefinition definition)
    {
        Definition = definition;
        Path = definition.Property?.Split('.');
        Conditions = [.. (definition.Where ?? []).Select(c => new CompiledCondition(c))];
        WindowMs = definition.Window is { } w ? (long)w.TotalMilliseconds : null;
    }

    public ComputedTraitDefinition Definition { get; }

    public string[]? Path { get; }

    public CompiledCondition[] Conditions { get; }

    public long? WindowMs { get; }

    /// <summary>Event times before this can never be inside the window again, given the log's clock (none, for all-time traits).</summary>
    public long StaleBefore(long clock) => WindowMs is { } w && clock != long.MinValue ? clock - w : long.MinValue;
}

/// <summary>A condition with its path split and its value parsed: a number, a text, or absent.</summary>
internal sealed class CompiledCondition
{
    public CompiledCondition(PropertyCondition condition)
    {
        Operator = condition.Operator;
        Path = condition.Property.Split('.');
        if (condition.Value is { } raw)
        {
            using var document = JsonDocument.Parse(raw);
            var value = document.RootElement;
            Number = value.ValueKind == JsonValueKind.Number && ExactNumber.TryParse(JsonMarshal.GetRawUtf8Value(value), out var n) ? n : null;
            Text = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
        }
    }

    public ConditionOperator Operator { get; }

    public string[] Path { get; }

    public ExactNumber? Number { get; }

    public string? Text { get; }
}

public sealed partial class ProfileEngine
{
    private readonly List<CompiledTrait?> _computed = [];

    /// <summary>The newest <c>receivedAt</c> applied: the log's own clock, so pruning is the same in every replay.</summary>
    public long LogClockMs { get; private set; } = long.MinValue;

    /// <summary>The computed traits in force.</summary>
    public IEnumerable<ComputedTraitDefinition> ComputedTraits => _computed.OfType<CompiledTrait>().Select(c => c.Definition);

    /// <summary>
    /// Starts computing a trait. <paramref name="history"/> must be the events already applied (the log up
    /// to <see cref="Position"/>); each is folded into the profile it resolved to, so the trait holds
    /// for the past as if it had always been defined.
    /// </summary>
    public void DefineComputedTrait(ComputedTraitDefinition definition, IEnumerable<(long Seq, byte[] Payload)> history)
    {
        var backfill = StartComputedTrait(definition);
        foreach (var (seq, payload) in history)
        {
            backfill.Apply(seq, payload);
        }
    }

    /// <summary>
    /// Starts computing a trait from now on, and returns what folds the past events in: feed it the log
    /// up to <see cref="Position"/>, in any number of steps, before applying newer events.
    /// </summary>
    public ComputedBackfill StartComputedTrait(ComputedTraitDefinition definition)
    {
        if (definition.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(definition));
        }

        RemoveComputedTrait(definition.Name);
        var compiled = new CompiledTrait(definition);
        var slot = _computed.IndexOf(null);
        if (slot < 0)
        {
            slot = _computed.Count;
            _computed.Add(compiled);
        }
        else
        {
            _computed[slot] = compiled;
        }

        var owners = new Dictionary<long, Profile>();
        foreach (var profile in _profiles.Values)
        {
            foreach (var seq in profile.EventSeqs)
            {
                owners[seq] = profile;
            }
        }

        return new ComputedBackfill(slot, compiled, owners, Position, LogClockMs);
    }

    /// <summary>Folds past events into a newly defined computed trait; each event once, to the profile it resolved to.</summary>
    public sealed class ComputedBackfill
    {
        private readonly int _slot;
        private readonly CompiledTrait _trait;
        private readonly Dictionary<long, Profile> _owners;
        private readonly long _upTo;
        private readonly long _clock;

        internal ComputedBackfill(int slot, CompiledTrait trait, Dictionary<long, Profile> owners, long upTo, long clock)
        {
            _slot = slot;
            _trait = trait;
            _owners = owners;
            _upTo = upTo;
            _clock = clock;
        }

        public void Apply(long seq, byte[] payload)
        {
            if (seq > _upTo || !_owners.Remove(seq, out var profile))
            {
                return;
            }

            // Read as Apply read it when the event was applied: repaired, or a broken older event would throw here.
            using var document = JsonDocument.Parse(Tandem.Text.UnicodeRepair.RepairIfNeeded(payload));
            var facts = EventFacts.Read(document.RootElement);
            Observe(profile, _slot, _trait, facts, facts.TimestampMs, Tie(facts.MessageId), _clock);
        }
    }

    public bool RemoveComputedTrait(string name)
    {
        var slot = _computed.FindIndex(d => d?.Definition.Name == name);
        if (slot < 0)
        {
            return false;
        }

        _computed[slot] = null;
        foreach (var profile in _profiles.Values)
        {
            if (profile.Computed is { } states && slot < states.Length)
            {
                states[slot] = null;
            }
        }

        return true;
    }

    /// <summary>The profile's computed traits as raw JSON values, evaluated at <paramref name="now"/>.</summary>
    public IEnumerable<(string Name, string Json)> ComputedValues(Profile profile, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        for (var slot = 0; slot < _computed.Count; slot++)
        {
            if (_computed[slot] is not { } trait)
            {
                continue;
            }

            var state = profile.Computed is { } states && slot < states.Length ? states[slot] : null;
            yield return (trait.Definition.Name, (state ?? new ComputedState()).Evaluate(trait.Definition, nowMs));
        }
    }

    private void ApplyComputed(Profile profile, in EventFacts facts, long when, ulong tie)
    {
        for (var slot = 0; slot < _computed.Count; slot++)
        {
            if (_computed[slot] is { } trait)
            {
                Observe(profile, slot, trait, facts, when, tie, LogClockMs);
            }
        }
    }

    private static void Observe(Profile profile, int slot, CompiledTrait trait, in EventFacts facts, long when, ulong tie, long clock)
    {
        var definition = trait.Definition;
        if (facts.Type != definition.Type
            || (definition.Type == MessageType.Track && definition.Event != "*" && !string.Equals(definition.Event, facts.EventName, StringComparison.Ordinal)))
        {
            return;
        }

        var properties = facts.Properties;
        foreach (var condition in trait.Conditions)
        {
            if (!Holds(condition, Find(properties, condition.Path)))
            {
                return;
            }
        }

        string? json = null;
        ExactNumber? number = null;
        if (trait.Path is { } path)
        {
            if (Find(properties, path) is not { } value || value.ValueKind == JsonValueKind.Null)
            {
                return;
            }

            if (definition.NeedsNumber)
            {
                if (value.ValueKind != JsonValueKind.Number || !ExactNumber.TryParse(JsonMarshal.GetRawUtf8Value(value), out var exact))
                {
                    return;
                }

                number = exact;
            }

            if (definition.NeedsJson)
            {
                json = Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(value));
            }
        }

        var staleBefore = trait.StaleBefore(clock);
        if (when < staleBefore)
        {
            return; // already outside the window by the log's clock: it could never count again
        }

        var states = profile.Computed;
        if (states is null || states.Length <= slot)
        {
            Array.Resize(ref states, slot + 1);
            profile.Computed = states;
        }

        (states[slot] ??= new ComputedState()).Add(new ComputedState.Observation(when, tie, json, number), trait.WindowMs is not null,
            definition.NeedsFrequencies, staleBefore);
    }

    private void MergeComputed(Profile survivor, Profile absorbed)
    {
        if (absorbed.Computed is not { } theirs)
        {
            return;
        }

        var ours = survivor.Computed;
        if (ours is null || ours.Length < theirs.Length)
        {
            Array.Resize(ref ours, theirs.Length);
            survivor.Computed = ours;
        }

        for (var slot = 0; slot < theirs.Length; slot++)
        {
            if (theirs[slot] is { } state)
            {
                if (ours[slot] is { } mine)
                {
                    mine.Absorb(state, _computed[slot]?.StaleBefore(LogClockMs) ?? long.MinValue);
                }
                else
                {
                    ours[slot] = state;
                }
            }
        }
    }

    private static JsonElement? Find(JsonElement properties, string[] path)
    {
        if (properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var current = properties;
        foreach (var part in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
            {
                return null;
            }
        }

        return current;
    }

    private static bool Holds(CompiledCondition condition, JsonElement? found)
    {
        if (condition.Operator == ConditionOperator.Exists)
        {
            return found is { ValueKind: not JsonValueKind.Null };
        }

        if (condition.Operator == ConditionOperator.NotExists)
        {
            return found is null or { ValueKind: JsonValueKind.Null };
        }

        if (found is not { } value)
        {
            return condition.Operator == ConditionOperator.NotEquals;
        }

        if (value.ValueKind == JsonValueKind.Number && condition.Number is { } want
            && ExactNumber.TryParse(JsonMarshal.GetRawUtf8Value(value), out var actual))
        {
            return condition.Operator != ConditionOperator.Contains && Ordered(condition.Operator, actual.CompareTo(want));
        }

        var actualText = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        var wantText = condition.Text ?? "";
        return condition.Operator == ConditionOperator.Contains
            ? actualText.Contains(wantText, StringComparison.OrdinalIgnoreCase)
            : Ordered(condition.Operator, string.CompareOrdinal(actualText, wantText));
    }

    /// <summary>Whether a comparison result (negative, zero, positive) satisfies an ordering operator.</summary>
    private static bool Ordered(ConditionOperator op, int comparison) => op switch
    {
        ConditionOperator.Equals => comparison == 0,
        ConditionOperator.NotEquals => comparison != 0,
        ConditionOperator.GreaterThan => comparison > 0,
        ConditionOperator.GreaterOrEqual => comparison >= 0,
        ConditionOperator.LessThan => comparison < 0,
        ConditionOperator.LessOrEqual => comparison <= 0,
        _ => false,
    };
}
