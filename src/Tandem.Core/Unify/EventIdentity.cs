using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>Segment calls as a set: the calls on which a field of <see cref="EventIdentity.Fields"/> counts.</summary>
[Flags]
public enum Calls
{
    None = 0,
    Identify = 1,
    Track = 2,
    Page = 4,
    Screen = 8,
    Group = 16,
    Alias = 32,
    Any = Identify | Track | Page | Screen | Group | Alias,
}

/// <summary>
/// One row of the identity table: where an identifier sits in an event, which type it names, and on
/// which calls each reader counts it.
/// </summary>
/// <param name="Field">The field, as a path in the event.</param>
/// <param name="Types">The identifier type it names, in words (some rows name the type by a rule).</param>
/// <param name="LinkedOn">The calls on which the identity stage links it (<see cref="EventIdentity.Linked"/>).</param>
/// <param name="MatchedOn">The calls on which suppression and deletion match it (<see cref="EventIdentity.Scan"/>).</param>
public sealed record IdentityField(string Field, string Types, Calls LinkedOn, Calls MatchedOn)
{
    public bool Links(MessageType call) => (LinkedOn & EventIdentity.AsCalls(call)) != 0;

    public bool Matches(MessageType call) => (MatchedOn & EventIdentity.AsCalls(call)) != 0;
}

/// <summary>
/// Which identifiers an event names, and the normal form they are kept in: one table
/// (<see cref="Fields"/>) and its two readers. <see cref="Linked"/> reads a parsed event for the
/// identity stage; <see cref="Scan"/> reads raw UTF-8 for the collector's suppression check and a
/// privacy deletion, without parsing a document. They differ on purpose in when a field counts: a
/// suppressed person must not come back through a trait on a track call or an alias, while the
/// engine links such values only where the Spec says they name the customer (docs/unify.md).
/// </summary>
public static partial class EventIdentity
{
    public static readonly IdentityField UserId = new("userId", IdentifierType.UserId, Calls.Any, Calls.Any);

    public static readonly IdentityField AnonymousId = new("anonymousId", IdentifierType.AnonymousId, Calls.Any, Calls.Any);

    /// <summary>Linked on alias calls by what is known; matched on any call as either type, so a suppressed person cannot return through an alias.</summary>
    public static readonly IdentityField PreviousId = new("previousId",
        "user_id if a profile already holds it as one, else anonymous_id (linked); both (matched)", Calls.Alias, Calls.Any);

    public static readonly IdentityField Traits = new("traits.{email,phone,<traitKey>}", "email, phone, the trait-keyed type", Calls.Identify, Calls.Any);

    public static readonly IdentityField ContextTraits = new("context.traits.{email,phone,<traitKey>}", "email, phone, the trait-keyed type", Calls.Any, Calls.Any);

    /// <summary>The type given; the identity rules refuse an unknown one when linking, a match takes it as given.</summary>
    public static readonly IdentityField ExternalIds = new("context.externalIds[].{type,id}", "the type given", Calls.Any, Calls.Any);

    /// <summary>The identity table, as docs/dev/kernel-inventory.md §2 writes it.</summary>
    public static IReadOnlyList<IdentityField> Fields { get; } = [UserId, AnonymousId, PreviousId, Traits, ContextTraits, ExternalIds];

    internal static Calls AsCalls(MessageType call) => (Calls)(1 << (int)call);

    /// <summary>
    /// What the identity stage links, strongest first and, within a type, in the order the event gave
    /// them, each once. A value the rules refuse (blocked, or unaddressable) is not linked; its type,
    /// never its value, goes to <paramref name="refusedTypes"/> to explain an event that names no one.
    /// </summary>
    /// <param name="isKnown">Whether a profile already holds the identifier: decides what an alias's previousId is.</param>
    internal static void Linked(in EventFacts facts, IdentityRules rules, Func<Identifier, bool> isKnown, List<Identifier> into, List<string> refusedTypes)
    {
        // Collected in this order, then sorted stably by priority: a previousId read as an anonymous id
        // comes before the event's own anonymousId, as it always has.
        if (UserId.Links(facts.Type))
        {
            Add(rules, IdentifierType.UserId, facts.UserId, into, refusedTypes);
        }

        if (PreviousId.Links(facts.Type) && facts.PreviousId is { } previous)
        {
            // previousId names whoever the customer was before: a known user id, else an anonymous id.
            var asUser = rules.Normalize(IdentifierType.UserId, previous);
            Add(rules, asUser is { } u && isKnown(u) ? IdentifierType.UserId : IdentifierType.AnonymousId, previous, into, refusedTypes);
        }

        if (Traits.Links(facts.Type) && facts.Traits.ValueKind == JsonValueKind.Object)
        {
            AddTraits(rules, facts.Traits, into, refusedTypes);
        }

        if (ContextTraits.Links(facts.Type) && facts.ContextTraits.ValueKind == JsonValueKind.Object)
        {
            AddTraits(rules, facts.ContextTraits, into, refusedTypes);
        }

        if (ExternalIds.Links(facts.Type) && facts.ExternalIds.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in facts.ExternalIds.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String
                    && item.TryGetProperty("id"u8, out var value))
                {
                    Add(rules, type.GetString()!, ProfileEngine.ScalarText(value), into, refusedTypes);
                }
            }
        }

        if (AnonymousId.Links(facts.Type))
        {
            Add(rules, IdentifierType.AnonymousId, facts.AnonymousId, into, refusedTypes);
        }

        // Strongest first; within a type, the order the event gave them.
        // Insertion sort: stable, and events carry a handful of identifiers.
        for (var i = 1; i < into.Count; i++)
        {
            var id = into[i];
            var priority = rules.Priority(id.Type);
            var j = i - 1;
            while (j >= 0 && rules.Priority(into[j].Type) > priority)
            {
                into[j + 1] = into[j];
                j--;
            }

            into[j + 1] = id;
        }
    }

    private static void AddTraits(IdentityRules rules, JsonElement traits, List<Identifier> into, List<string> refusedTypes)
    {
        if (traits.TryGetProperty("email"u8, out var email))
        {
            Add(rules, IdentifierType.Email, ProfileEngine.ScalarText(email), into, refusedTypes);
        }

        if (traits.TryGetProperty("phone"u8, out var phone))
        {
            Add(rules, IdentifierType.Phone, ProfileEngine.ScalarText(phone), into, refusedTypes);
        }

        foreach (var custom in rules.TraitKeyed)
        {
            if (traits.TryGetProperty(custom.TraitKey!, out var value))
            {
                Add(rules, custom.Name, ProfileEngine.ScalarText(value), into, refusedTypes);
            }
        }
    }

    private static void Add(IdentityRules rules, string type, string? raw, List<Identifier> into, List<string> refusedTypes)
    {
        if (rules.Normalize(type, raw) is { } id)
        {
            if (!into.Contains(id))
            {
                into.Add(id); // the type string is the rules' own instance, shared by every identifier of it
            }
        }
        else if (!string.IsNullOrWhiteSpace(raw) && rules.Find(type) is not null && !refusedTypes.Contains(type))
        {
            // A value was there but the settings block it; the types, never the values, explain why.
            refusedTypes.Add(type);
        }
    }

    /// <summary>
    /// The normal form of a value, as profiles keep it and suppressions are digested: trimmed, emails in
    /// lower case. <see cref="IdentityRules.Normalize"/> adds blocked values and the length limit.
    /// </summary>
    public static string Normal(string type, string value) =>
        type == IdentifierType.Email ? value.Trim().ToLowerInvariant() : value.Trim();

    /// <summary>
    /// <see cref="Normal"/> on UTF-8 without a string: true with the normal form in <paramref name="normal"/>,
    /// which is the trimmed slice of <paramref name="utf8"/> itself or (an email) its lower case written into
    /// <paramref name="scratch"/>; false when the value is not ASCII or does not fit, and must take the string
    /// path (.NET's Unicode trimming and casing).
    /// </summary>
    public static bool TryNormal(string type, ReadOnlySpan<byte> utf8, Span<byte> scratch, out ReadOnlySpan<byte> normal)
    {
        normal = default;
        if (!Ascii.IsValid(utf8))
        {
            return false;
        }

        // The ASCII characters string.Trim removes.
        var trimmed = utf8.Trim(" \t\r\n\f\v"u8);
        if (trimmed.Length > scratch.Length)
        {
            return false;
        }

        if (type == IdentifierType.Email)
        {
            Ascii.ToLower(trimmed, scratch, out var lowered);
            normal = scratch[..lowered];
        }
        else
        {
            normal = trimmed;
        }

        return true;
    }
}

/// <summary>Sees the identifiers <see cref="EventIdentity.Scan"/> finds, in normal form (UTF-8).</summary>
public interface IIdentifierVisitor
{
    /// <summary>False stops the scan.</summary>
    bool Visit(string type, ReadOnlySpan<byte> normalUtf8);
}

/// <summary>
/// The custom identifier types of the rules in UTF-8, for a JSON reader: those read from a trait
/// (<see cref="IdentifierType.TraitKey"/>) with their trait names, and every custom type's name, so an
/// external id's type is read without making a string.
/// </summary>
public sealed class TraitKeyedTypes
{
    private readonly (byte[] Trait, string Type)[] _traits;
    private readonly (byte[] Name, string Type)[] _names;

    private TraitKeyedTypes((byte[] Trait, string Type)[] traits, (byte[] Name, string Type)[] names)
    {
        _traits = traits;
        _names = names;
    }

    /// <summary>None: a workspace with the built-in types only.</summary>
    public static TraitKeyedTypes None { get; } = new([], []);

    public static TraitKeyedTypes Of(IdentityRules rules) => rules.Types.All(t => t.BuiltIn) ? None : new(
        [.. rules.TraitKeyed.Select(t => (Encoding.UTF8.GetBytes(t.TraitKey!), t.Name))],
        [.. rules.Types.Where(t => !t.BuiltIn).Select(t => (Encoding.UTF8.GetBytes(t.Name), t.Name))]);

    /// <summary>How many types are read from a trait (most workspaces: none).</summary>
    public int Count => _traits.Length;

    /// <summary>The type read from the property name the reader is on, if any.</summary>
    internal string? Find(ref Utf8JsonReader reader)
    {
        foreach (var (trait, type) in _traits)
        {
            if (reader.ValueTextEquals(trait))
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>The custom type's own string when the reader's string value is its name.</summary>
    internal string? FindType(ref Utf8JsonReader reader)
    {
        foreach (var (name, type) in _names)
        {
            if (reader.ValueTextEquals(name))
            {
                return type;
            }
        }

        return null;
    }
}
