using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Settings;
using Tandem.Text;
using Tandem.Unify;

namespace Tandem.Trust;

/// <summary>
/// The workspace's PII access policy, applied to every read that returns customer data. Each request
/// gets a <see cref="PiiLens"/> for its caller; the lens masks or hides what the caller's roles may not
/// see in full, and the reads that did return red data in full are written to the audit log.
/// </summary>
internal sealed class PiiGuard
{
    private readonly SettingsService _settingsDocuments;
    private readonly AuditLog _audit;
    private readonly ProfileProcessor _processor;
    private readonly UnifySettings _settings;
    private volatile TokenPolicy _tokenPolicy;
    private volatile Derived _derived;

    public PiiGuard(SettingsService settingsDocuments, AuditLog audit, ProfileProcessor processor, UnifySettings settings)
    {
        _settingsDocuments = settingsDocuments;
        _audit = audit;
        _processor = processor;
        _settings = settings;
        _tokenPolicy = new(Policy, ForTokens(Policy));
        _derived = new(long.MinValue, Classifier);
    }

    /// <summary>The policy in force; changed through <see cref="SettingsService"/> with <see cref="PiiPolicyDocument"/>.</summary>
    public AccessPolicy Policy => _settingsDocuments.Current(PiiPolicyDocument.Instance)!;

    /// <summary>Classes of fields by name; data elements (the tracking plan) will supply overrides.</summary>
    public PiiClassifier Classifier { get; } = PiiClassifier.Default;

    public PiiLens For(HttpContext context)
    {
        var user = context.User;
        var policy = PolicyFor(user);
        return new(new PiiView(CurrentClassifier(), policy, RolesOf(user)), _audit, context);
    }

    /// <summary>
    /// Who may read <paramref name="pii"/> data in full, for an error that tells a caller what they
    /// lack: the roles the policy shows it to in full, and for red data read by a token, privacy:admin.
    /// </summary>
    public string WhoReadsInFull(ClaimsPrincipal user, PiiClass pii)
    {
        string[] roles = [.. AccessPolicy.RoleNames.Where(r => Policy.For([r], pii) == Exposure.Full)];
        var who = roles.Length == 0
            ? $"no role reads {pii.Name()} data in full under this workspace's policy; an admin must change the policy first"
            : $"a member with a role that reads {pii.Name()} data in full under this workspace's policy ({string.Join(", ", roles)})";
        return pii == PiiClass.Red && user.IsToken() ? who + ", and for an API token the privacy:admin scope" : who;
    }

    private AccessPolicy PolicyFor(ClaimsPrincipal user) => user.IsToken() && !user.Holds(Scopes.PrivacyAdmin) ? TokensPolicy() : Policy;

    /// <summary>The tokens' policy, derived again only when the policy in force is a new one (a save replaces the instance).</summary>
    private AccessPolicy TokensPolicy()
    {
        var policy = Policy;
        var known = _tokenPolicy;
        if (ReferenceEquals(known.From, policy))
        {
            return known.Policy;
        }

        var derived = new TokenPolicy(policy, ForTokens(policy));
        _tokenPolicy = derived;
        return derived.Policy;
    }

    /// <summary>A policy for tokens and the policy in force it was derived from.</summary>
    private sealed record TokenPolicy(AccessPolicy From, AccessPolicy Policy);

    /// <summary>
    /// The classifier with the classes derived from this workspace's custom identifier types and
    /// computed traits (docs/pii.md, "Classification follows the data"). Every read path asks for it, so
    /// it is rebuilt only when the processor's definitions move; while profiles load, the saved
    /// definitions stand in for the engine's.
    /// </summary>
    public PiiClassifier CurrentClassifier()
    {
        var loaded = _processor.Loaded;
        var version = loaded ? _processor.DefinitionsVersion : -1; // read before the definitions: a change after it moves it again
        var known = _derived;
        if (known.Version == version)
        {
            return known.Classifier;
        }

        var (types, traits) = loaded
            ? _processor.Read(e => (e.Rules.Types, e.ComputedTraits.ToArray()))
            : (_settings.LoadRules().Types, [.. _settings.LoadComputedTraits()]);
        var derived = new Derived(version, DerivedClasses.Apply(Classifier, types, traits));
        _derived = derived;
        return derived.Classifier;
    }

    /// <summary>A derived classifier and the definitions version it was built at (-1: from the saved settings, while loading).</summary>
    private sealed record Derived(long Version, PiiClassifier Classifier);

    /// <summary>
    /// Tokens read red data in full only when they hold privacy:admin. A token is usually made for a
    /// machine (a website, a sync job), and one made by a privacy officer for personalization must not
    /// carry the officer's view of card numbers into every page, nor an audit record per call.
    /// </summary>
    private static AccessPolicy ForTokens(AccessPolicy policy)
    {
        foreach (var role in AccessPolicy.RoleNames)
        {
            if (policy.For([role], PiiClass.Red) == Exposure.Full)
            {
                policy = policy.With(role, PiiClass.Red, Exposure.Masked);
            }
        }

        return policy;
    }

    /// <summary>
    /// A member's roles decide. A token without an owner can only have been made by the first admin
    /// token (or be it), for a machine such as a website, so it reads as an admin does.
    /// </summary>
    private static IReadOnlyList<string> RolesOf(ClaimsPrincipal user) =>
        user.Roles() is { Count: > 0 } roles ? roles : user.MemberId() is null && user.IsToken() ? [Roles.Admin] : [];
}

/// <summary>One caller's view of customer data for one request.</summary>
internal sealed class PiiLens(PiiView view, AuditLog audit, HttpContext context)
{
    private const string Withheld = "(hidden)";
    private readonly List<string> _redInFull = [];
    private string? _subject;

    /// <summary>Whose data this read returns (<c>profile:prf_…</c>), for the audit record; pseudonymous ids only.</summary>
    public void About(string subject) => _subject = subject;

    /// <summary>
    /// Text that cannot be classified (a refused body that is not JSON) counts as red: shown only to
    /// callers who see red in full, and audited when it is.
    /// </summary>
    public string Unclassified(string text, string where)
    {
        if (view.ExposureOf(PiiClass.Red) != Exposure.Full)
        {
            return Masking.Stars;
        }

        _redInFull.Add(where);
        return text;
    }

    public JsonObject Traits(JsonObject traits, string where) => Keep(view.Traits(traits), where);

    /// <summary>
    /// Writes traits as the caller may see them. Scalar values (most traits) are classed by name and
    /// written straight from their stored bytes; objects and arrays go through the full walk, since
    /// their parts may be classed apart. Same result as <see cref="Traits(JsonObject, string)"/>.
    /// </summary>
    public void WriteTraits(Utf8JsonWriter w, IEnumerable<(string Key, byte[] Json)> traits, string where)
    {
        w.WriteStartObject();
        foreach (var (key, json) in traits)
        {
            if (json.Length > 0 && json[0] is (byte)'{' or (byte)'[')
            {
                foreach (var (name, value) in Traits(new JsonObject { [key] = StoredJson.Parse(json) }, where))
                {
                    w.WritePropertyName(name);
                    WriteNode(w, value);
                }

                continue;
            }

            var pii = view.Classifier.ClassifyTrait(key);
            switch (view.ExposureOf(pii))
            {
                case Exposure.Full:
                    w.WritePropertyName(key);
                    w.WriteRawValue(UnicodeRepair.RepairIfNeeded(json), skipInputValidation: true);
                    if (pii == PiiClass.Red)
                    {
                        _redInFull.Add($"{where}.{key}");
                    }

                    break;
                case Exposure.Masked:
                    w.WritePropertyName(key);
                    WriteNode(w, Masking.Mask(view.Classifier.MaskNameOfTrait(key), StoredJson.Parse(json)));
                    break;
            }
        }

        w.WriteEndObject();
    }

    private static void WriteNode(Utf8JsonWriter w, JsonNode? node)
    {
        if (node is null)
        {
            w.WriteNullValue();
        }
        else
        {
            node.WriteTo(w);
        }
    }

    public JsonObject Traits(IEnumerable<(string Key, byte[] Json)> traits, string where)
    {
        var bag = new JsonObject();
        foreach (var (key, json) in traits)
        {
            bag[key] = StoredJson.Parse(json);
        }

        return Traits(bag, where);
    }

    public IReadOnlyDictionary<string, JsonElement> TraitElements(IEnumerable<(string Key, byte[] Json)> traits, string where) =>
        Traits(traits, where).ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value), StringComparer.Ordinal);

    /// <summary>An event as stored, masked for the caller; what is not a JSON object cannot be classified and counts as red.</summary>
    public JsonNode Event(byte[] payload, string where)
    {
        JsonNode? node;
        try
        {
            node = StoredJson.Parse(payload);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Unclassified(System.Text.Encoding.UTF8.GetString(payload), where));
        }

        return node is JsonObject message
            ? Keep(view.Event(message), where)
            : JsonValue.Create(Unclassified(node?.ToJsonString() ?? "null", where));
    }

    /// <summary>An identifier's value as the caller may see it; null when hidden.</summary>
    public string? Identifier(string type, string value, string where)
    {
        var seen = view.Identifier(type, value);
        if (seen.MustAudit)
        {
            _redInFull.Add($"{where}.{type}");
        }

        return seen.Value;
    }

    /// <summary>What the caller gets of identifiers of this type.</summary>
    public Exposure IdentifierExposure(string type) => view.IdentifierExposure(type);

    /// <summary>True when the caller may not see values of this identifier type: a lookup by it answers as an unknown profile.</summary>
    public bool Hides(string type) => IdentifierExposure(type) == Exposure.Hidden;

    /// <summary>What the caller gets of this (top-level) trait.</summary>
    public Exposure TraitExposure(string key) => view.ExposureOf(view.Classifier.ClassifyTrait(key));

    /// <summary>What the caller gets of data of this class.</summary>
    public Exposure ExposureOf(PiiClass pii) => view.ExposureOf(pii);

    /// <summary>The classifier this request applies, derived classes included.</summary>
    public PiiClassifier Classifier => view.Classifier;

    /// <summary><c>type:value</c> with the value masked, or marked hidden, for lists and explanations.</summary>
    public string IdentifierText(Identifier identifier, string where) =>
        $"{identifier.Type}:{Identifier(identifier.Type, identifier.Value, where) ?? Withheld}";

    /// <summary>
    /// Writes one audit record when this request returned red data in full. It names the route's
    /// pattern, not the request's path or query: those may hold the very values read (an email
    /// identifier, a search term), and the audit log cannot be erased.
    /// </summary>
    public void AuditRead()
    {
        if (_redInFull.Count == 0)
        {
            return;
        }

        var route = $"{context.Request.Method} {(context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unknown route)"}";
        audit.Append(context.User.Actor(), "pii.unmasked_read", _subject ?? route,
            detail: $"{route}: red data returned in full: " + string.Join(", ", _redInFull.Distinct(StringComparer.Ordinal).Take(50)));
    }

    private JsonObject Keep(PiiViewResult result, string where)
    {
        foreach (var path in result.RedInFull)
        {
            _redInFull.Add($"{where}.{path}");
        }

        return result.Json;
    }
}

/// <summary>
/// Stored JSON as a tree to mask. The collector stores what clients sent, and JSON allows a name twice
/// in one object (<c>{"ip":"a","ip":"b"}</c>), which <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/>
/// refuses when the object is read. Here the first value wins, as it does when the profile engine
/// reads traits, so a masked answer never shows a different value than the profile holds. Text that
/// is not valid Unicode (in logs written before the collector repaired it) is read as U+FFFD.
/// </summary>
internal static class StoredJson
{
    /// <exception cref="JsonException">The bytes are not JSON.</exception>
    public static JsonNode? Parse(byte[] json)
    {
        using var document = JsonDocument.Parse(UnicodeRepair.RepairIfNeeded(json));
        return ToNode(document.RootElement);
    }

    private static JsonNode? ToNode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj.TryAdd(property.Name, ToNode(property.Value));
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToNode(item));
                }

                return array;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString());
            case JsonValueKind.True:
                return JsonValue.Create(true);
            case JsonValueKind.False:
                return JsonValue.Create(false);
            case JsonValueKind.Null:
                return null;
            default:
                return JsonValue.Create(element.Clone()); // a number, kept exactly as written
        }
    }
}
