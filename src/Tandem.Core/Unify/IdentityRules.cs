using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Tandem.Unify;

/// <summary>
/// One kind of identifier a profile can be found by. <see cref="Limit"/> caps how many distinct
/// values of this type one profile may hold; <see cref="Priority"/> orders identifiers when an event
/// carries several (1 is the strongest). Values in <see cref="BlockedValues"/> or matching
/// <see cref="BlockedPatterns"/> are never linked.
/// </summary>
/// <param name="TraitKey">For custom types: a trait whose value is also read as this identifier.</param>
public sealed record IdentifierType(
    string Name,
    int Limit,
    int Priority,
    IReadOnlyList<string>? BlockedValues = null,
    IReadOnlyList<string>? BlockedPatterns = null,
    string? TraitKey = null)
{
    public const string UserId = "user_id";
    public const string AnonymousId = "anonymous_id";
    public const string Email = "email";
    public const string Phone = "phone";

    public bool BuiltIn => Name is UserId or AnonymousId or Email or Phone;
}

/// <summary>An identifier: a type and a value, such as <c>email:ada@example.com</c>.</summary>
public readonly record struct Identifier(string Type, string Value)
{
    public override string ToString() => Type + ":" + Value;
}

/// <summary>
/// The identity configuration the processor applies: the identifier types with their limits and
/// priorities, and the values no identifier may take. Immutable; a change makes a new instance.
/// </summary>
public sealed class IdentityRules
{
    /// <summary>Values that mean "no identifier" whatever the type, compared case-insensitively after trimming.</summary>
    public static readonly IReadOnlyList<string> AlwaysBlocked = ["null", "undefined", "anonymous", "0", "-1", "nan", "none", "unknown"];

    public static readonly IReadOnlyList<IdentifierType> DefaultTypes =
    [
        new(IdentifierType.UserId, 1, 1),
        new(IdentifierType.Email, 5, 2),
        new(IdentifierType.Phone, 5, 3),
        new(IdentifierType.AnonymousId, 5, 10),
    ];

    public static IdentityRules Default { get; } = new(DefaultTypes);

    private readonly FrozenDictionary<string, Compiled> _byName;
    private readonly FrozenSet<string> _alwaysBlocked = AlwaysBlocked.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public IdentityRules(IEnumerable<IdentifierType> types)
    {
        Types = [.. types.OrderBy(t => t.Priority).ThenBy(t => t.Name, StringComparer.Ordinal)];
        _byName = Types.ToFrozenDictionary(t => t.Name, t => new Compiled(t), StringComparer.Ordinal);
        TraitKeyed = [.. Types.Where(t => t.TraitKey is not null)];
    }

    /// <summary>Every type, strongest priority first.</summary>
    public IReadOnlyList<IdentifierType> Types { get; }

    internal IReadOnlyList<IdentifierType> TraitKeyed { get; }

    public IdentifierType? Find(string name) => _byName.TryGetValue(name, out var c) ? c.Type : null;

    public int Limit(string type) => _byName.TryGetValue(type, out var c) ? c.Type.Limit : 0;

    public int Priority(string type) => _byName.TryGetValue(type, out var c) ? c.Type.Priority : int.MaxValue;

    /// <summary>
    /// The identifier as Tandem keeps it (<see cref="EventIdentity.Normal"/>: trimmed, emails in lower
    /// case), or null when the type is unknown or the value is blocked.
    /// </summary>
    public Identifier? Normalize(string type, string? raw)
    {
        if (raw is null || !_byName.TryGetValue(type, out var compiled))
        {
            return null;
        }

        // The blocked words and the length are judged on the value as sent (trimmed), before its case is
        // folded; the settings' own blocked values and patterns on the normal form the profile keeps.
        var trimmed = raw.Trim();
        if (trimmed.Length == 0 || _alwaysBlocked.Contains(trimmed) || !Addressable(trimmed))
        {
            return null;
        }

        var value = EventIdentity.Normal(type, trimmed);
        return compiled.Blocks(value) ? null : new Identifier(compiled.Type.Name, value);
    }

    /// <summary>
    /// How long an identifier may be, in bytes of UTF-8 text: the collector refuses a longer <c>userId</c> or
    /// <c>anonymousId</c> (docs/collect.md), and one taken from a trait is not linked.
    /// </summary>
    public const int MaxIdentifierBytes = 1024;

    /// <summary>
    /// Whether a value can name a customer: one longer than <see cref="MaxIdentifierBytes"/> or holding a
    /// control character could never be looked up, since the Profile API takes identifiers in its URL path.
    /// </summary>
    internal static bool Addressable(string value) =>
        (value.Length * 3 <= MaxIdentifierBytes || System.Text.Encoding.UTF8.GetByteCount(value) <= MaxIdentifierBytes)
        && value.AsSpan().IndexOfAnyInRange('\0', '\u001f') < 0;

    private sealed class Compiled(IdentifierType type)
    {
        private readonly FrozenSet<string> _values = (type.BlockedValues ?? []).Select(v => v.Trim()).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        private readonly Regex[] _patterns = [.. (type.BlockedPatterns ?? []).Select(BlockedPatterns.Compile)];

        public IdentifierType Type { get; } = type;

        public bool Blocks(string value)
        {
            if (_values.Contains(value))
            {
                return true;
            }

            foreach (var pattern in _patterns)
            {
                try
                {
                    if (pattern.IsMatch(value))
                    {
                        return true;
                    }
                }
                catch (RegexMatchTimeoutException)
                {
                    return true; // a value the settings could not clear in time is not linked: a wrong merge cannot be undone
                }
            }

            return false;
        }
    }
}
