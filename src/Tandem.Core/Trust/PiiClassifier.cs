using System.Collections.Frozen;
using System.Text;

namespace Tandem.Trust;

/// <summary>
/// Decides the PII class of a field: an identifier type, a trait or a path into an event. Exact
/// overrides first (data elements will supply them), then the defaults by field name.
/// </summary>
/// <remarks>
/// Each kind of field has its own overrides, so a trait called <c>context</c> cannot reclassify an
/// event's <c>context</c>. An override on a path covers its whole subtree (override <c>address</c> and
/// <c>address.city</c> follows); the most specific override wins. Paths never carry array indexes:
/// <c>properties.products.card_number</c> covers every product.
/// </remarks>
public sealed class PiiClassifier
{
    private readonly IReadOnlyDictionary<string, PiiClass> _identifiers;
    private readonly IReadOnlyDictionary<string, PiiClass> _traits;
    private readonly IReadOnlyDictionary<string, PiiClass> _events;
    private readonly FrozenDictionary<string, DerivedFloor> _identifierFloors = FrozenDictionary<string, DerivedFloor>.Empty;
    private readonly FrozenDictionary<string, DerivedFloor> _traitFloors = FrozenDictionary<string, DerivedFloor>.Empty;

    /// <param name="identifiers">Classes by identifier type (<c>salesforce_id</c>), matched exactly.</param>
    /// <param name="traits">Classes by trait path (<c>plan</c>, <c>address.city</c>), matched exactly.</param>
    /// <param name="eventPaths">Classes by event path (<c>properties.card_number</c>), matched exactly.</param>
    public PiiClassifier(
        IReadOnlyDictionary<string, PiiClass>? identifiers = null,
        IReadOnlyDictionary<string, PiiClass>? traits = null,
        IReadOnlyDictionary<string, PiiClass>? eventPaths = null)
    {
        _identifiers = identifiers?.ToFrozenDictionary(StringComparer.Ordinal) ?? FrozenDictionary<string, PiiClass>.Empty;
        _traits = traits?.ToFrozenDictionary(StringComparer.Ordinal) ?? FrozenDictionary<string, PiiClass>.Empty;
        _events = eventPaths?.ToFrozenDictionary(StringComparer.Ordinal) ?? FrozenDictionary<string, PiiClass>.Empty;
    }

    private PiiClassifier(PiiClassifier overrides, FrozenDictionary<string, DerivedFloor> identifierFloors, FrozenDictionary<string, DerivedFloor> traitFloors)
    {
        _identifiers = overrides._identifiers;
        _traits = overrides._traits;
        _events = overrides._events;
        _identifierFloors = identifierFloors;
        _traitFloors = traitFloors;
    }

    /// <summary>The defaults alone, until data elements set classes per field.</summary>
    public static PiiClassifier Default { get; } = new();

    /// <summary>
    /// This classifier with lower bounds from the data behind some names (see <see cref="DerivedClasses"/>):
    /// an identifier type or a top-level trait is at least its floor, whatever its name or override says.
    /// </summary>
    internal PiiClassifier WithFloors(IReadOnlyDictionary<string, DerivedFloor> identifiers, IReadOnlyDictionary<string, DerivedFloor> traits) =>
        new(this, identifiers.ToFrozenDictionary(StringComparer.Ordinal), traits.ToFrozenDictionary(StringComparer.Ordinal));

    /// <summary>An identifier type: <c>email</c> and <c>phone</c> are yellow; <c>user_id</c> and <c>anonymous_id</c> green.</summary>
    public PiiClass ClassifyIdentifier(string type)
    {
        var pii = _identifiers.TryGetValue(type, out var set) ? set : FieldNames.DefaultClass(type, isWholeTrait: false);
        return _identifierFloors.TryGetValue(type, out var floor) && floor.Class > pii ? floor.Class : pii;
    }

    /// <summary>
    /// The name whose kind masks an identifier of this type: the trait it is read from when that gave
    /// its class (a <c>loyalty_code</c> keyed by <c>cvv</c> masks to <c>***</c>, as a CVV does), else the type.
    /// </summary>
    public string MaskNameOfIdentifier(string type) => _identifierFloors.TryGetValue(type, out var floor) ? floor.MaskAs : type;

    /// <summary>The name whose kind masks this trait's value: for a computed trait, the property it reads (<c>cvv</c> masks to <c>***</c>).</summary>
    public string MaskNameOfTrait(string path) => _traitFloors.TryGetValue(path, out var floor) ? floor.MaskAs : path;

    /// <summary>A trait, or a dotted path inside one (<c>address.city</c>).</summary>
    public PiiClass ClassifyTrait(string path)
    {
        var pii = Override(_traits, path) ?? DefaultClass(path, isTrait: true);
        if (_traitFloors.Count == 0)
        {
            return pii;
        }

        // A computed trait's value may be an object or a list: everything under its name takes its floor.
        var dot = path.IndexOf('.', StringComparison.Ordinal);
        var top = dot < 0 ? path.AsSpan() : path.AsSpan(0, dot);
        return _traitFloors.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(top, out var floor) && floor.Class > pii ? floor.Class : pii;
    }

    /// <summary>
    /// A dotted path into an event: <c>context.ip</c>, <c>properties.card_number</c>. Under
    /// <c>traits</c> and <c>context.traits</c> the rest of the path is classified as a trait, so a
    /// trait keeps its class in every event that carries it.
    /// </summary>
    public PiiClass ClassifyEventPath(string path)
    {
        if (Override(_events, path) is { } pii)
        {
            return pii;
        }

        var traitStart = path.StartsWith("traits.", StringComparison.Ordinal) ? "traits.".Length
            : path.StartsWith("context.traits.", StringComparison.Ordinal) ? "context.traits.".Length
            : -1;
        return traitStart > 0 ? ClassifyTrait(path[traitStart..]) : DefaultClass(path, isTrait: false);
    }

    private static PiiClass? Override(IReadOnlyDictionary<string, PiiClass> overrides, string path)
    {
        if (overrides.Count == 0)
        {
            return null;
        }

        for (var prefix = path; ; prefix = prefix[..prefix.LastIndexOf('.')])
        {
            if (overrides.TryGetValue(prefix, out var pii))
            {
                return pii;
            }

            if (!prefix.Contains('.', StringComparison.Ordinal))
            {
                return null;
            }
        }
    }

    // A field inside a personal field is personal too (address.city sits in a yellow address), so
    // the default is the most sensitive class of any segment.
    private static PiiClass DefaultClass(string path, bool isTrait)
    {
        var result = PiiClass.Green;
        var at = 0;
        while (at <= path.Length)
        {
            var end = path.IndexOf('.', at);
            if (end < 0)
            {
                end = path.Length;
            }

            var isWholeTrait = isTrait && at == 0 && end == path.Length;
            var pii = FieldNames.DefaultClass(path.AsSpan(at, end - at), isWholeTrait);
            if (pii > result)
            {
                result = pii;
            }

            at = end + 1;
        }

        return result;
    }
}

/// <summary>A lower bound on a name's class from the data behind it, and the name whose kind masks its values.</summary>
internal readonly record struct DerivedFloor(PiiClass Class, string MaskAs);

/// <summary>Field names compared the way people write them: firstName, first_name and First-Name are one name.</summary>
internal static class FieldNames
{
    private static readonly FrozenSet<string> Yellow = Set(
        "email", "email_address", "emails", "email_addresses", "phone", "phone_number", "phones", "phone_numbers",
        "mobile", "mobile_phone", "mobile_number", "telephone", "fax",
        "ip", "ip_address",
        "first_name", "last_name", "full_name", "middle_name", "given_name", "family_name", "surname",
        "address", "addresses", "street", "street_address", "home_address", "shipping_address", "billing_address", "address_line", "address_line1", "address_line2", "postal_code", "postcode", "zip", "zip_code",
        "birthday", "birth_date", "date_of_birth", "dob");

    private static readonly FrozenSet<string> Red = Set(
        "credit_card", "credit_card_number", "card_number", "cc_number", "pan", "cvv", "cvv2", "cvc", "card_cvv", "card_cvc",
        "iban", "bank_account", "bank_account_number", "account_number",
        "ssn", "social_security_number", "national_id", "national_id_number", "passport", "passport_number", "tax_id",
        "driver_license", "drivers_license", "driver_license_number", "drivers_license_number",
        "password");

    /// <summary>Names whose values are secrets: masked to <c>***</c> outright, never to a first character.</summary>
    internal static readonly FrozenSet<string> Secret = Set("password", "cvv", "cvv2", "cvc", "card_cvv", "card_cvc", "pin", "secret");

    internal static readonly FrozenSet<string> Card = Set("credit_card", "credit_card_number", "card_number", "cc_number", "pan");

    internal static readonly FrozenSet<string> Phone = Set("phone", "phone_number", "phones", "phone_numbers", "mobile", "mobile_phone", "mobile_number", "telephone", "fax");

    internal static readonly FrozenSet<string> Email = Set("email", "email_address", "emails", "email_addresses");

    internal static readonly FrozenSet<string> Ip = Set("ip", "ip_address");

    /// <summary>
    /// A bare <c>name</c> is personal only as a whole trait (a person's name); elsewhere it names a
    /// thing: a page, a product, an app. Masking every product name would blind marketers for nothing.
    /// </summary>
    /// <remarks>
    /// Field names come from clients: an event of 2,000 names nobody used before flushed the old
    /// unbounded-then-cleared cache on every read (25 ms per event, issue 15). Now classifying a name
    /// is cheap on its own (ordinal span comparisons over a stack buffer, no allocation), and a
    /// fixed-size table of recent names spares the common case even that: a flood of new names only
    /// overwrites slots, it cannot make the table grow or be cleared (docs/benchmarks.md).
    /// </remarks>
    public static PiiClass DefaultClass(ReadOnlySpan<char> segment, bool isWholeTrait)
    {
        var slot = (string.GetHashCode(segment) ^ (isWholeTrait ? 1 : 0)) & (Recent.Length - 1);
        if (Volatile.Read(ref Recent[slot]) is { } known && known.IsWholeTrait == isWholeTrait && segment.SequenceEqual(known.Name))
        {
            return known.Class;
        }

        var pii = Classify(segment, isWholeTrait);
        if (segment.Length <= MaxRememberedLength)
        {
            Volatile.Write(ref Recent[slot], new RecentName(segment.ToString(), isWholeTrait, pii));
        }

        return pii;
    }

    private static PiiClass Classify(ReadOnlySpan<char> segment, bool isWholeTrait)
    {
        Span<char> buffer = segment.Length <= 256 ? stackalloc char[segment.Length] : new char[segment.Length];
        ReadOnlySpan<char> name = buffer[..Normalize(segment, buffer)];
        if (IsRed(name))
        {
            return PiiClass.Red;
        }

        return YellowByName.Contains(name) || (isWholeTrait && name is "name") || EndsWithAny(name, YellowEndings) ? PiiClass.Yellow : PiiClass.Green;
    }

    private const int MaxRememberedLength = 64;

    // 4,096 slots of at most 64 characters: a few hundred kilobytes at most, whatever clients send.
    private static readonly RecentName?[] Recent = new RecentName?[4096];

    private sealed record RecentName(string Name, bool IsWholeTrait, PiiClass Class);

    /// <summary>
    /// Names are matched whole, by their ending (<c>work_email</c>, <c>home_phone</c>,
    /// <c>customer_card_number</c>), and for a few unmistakable words anywhere (<c>social_security</c>,
    /// <c>passport_no</c>). Endings shorter than five letters are not used for yellow (<c>zip</c> would
    /// catch <c>vip</c>, <c>ip</c> would catch <c>ship</c>), nor <c>pan</c> for red (<c>japan</c>).
    /// </summary>
    private static bool IsRed(ReadOnlySpan<char> name)
    {
        if (RedByName.Contains(name) || EndsWithAny(name, RedEndings))
        {
            return true;
        }

        foreach (var word in RedWords)
        {
            if (name.IndexOf(word.AsSpan()) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    private static bool EndsWithAny(ReadOnlySpan<char> name, string[] endings)
    {
        foreach (var ending in endings)
        {
            if (name.EndsWith(ending.AsSpan()))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly string[] RedWords = ["password", "socialsecurity", "creditcard", "passport", "driverlicense", "driverslicense"];

    private static readonly string[] RedEndings = [.. Red.Where(r => r.Length >= 4 && r != "password"), "ssn", "cvv", "cvc", "cvv2"];

    private static readonly string[] YellowEndings = [.. Yellow.Where(y => y.Length >= 5)];

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> RedByName = Red.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> YellowByName = Yellow.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Writes the letters and digits of <paramref name="name"/>, lower case, into <paramref name="into"/> (as long as the name); returns how many.</summary>
    private static int Normalize(ReadOnlySpan<char> name, Span<char> into)
    {
        var length = 0;
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c))
            {
                into[length++] = char.ToLowerInvariant(c);
            }
        }

        return length;
    }

    /// <summary>Letters and digits only, lower case: separators and case (so camelCase boundaries) drop out.</summary>
    public static string Normalize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
        }

        return builder.ToString();
    }

    /// <summary>The last segment of a dotted path, normalised.</summary>
    public static string LastSegment(string path) => Normalize(path[(path.LastIndexOf('.') + 1)..]);

    private static FrozenSet<string> Set(params string[] names) => names.Select(Normalize).ToFrozenSet(StringComparer.Ordinal);
}
