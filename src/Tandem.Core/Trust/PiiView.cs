using System.Text.Json.Nodes;

namespace Tandem.Trust;

/// <summary>
/// What one reader may see of traits or an event, and what was withheld. Paths carry array
/// indexes (<c>properties.products[0].card_number</c>) so an audit entry names the exact value.
/// </summary>
/// <param name="Json">A new object: hidden fields removed, masked values masked, the rest unchanged.</param>
/// <param name="Masked">Paths whose value was masked.</param>
/// <param name="Hidden">Paths removed; a removed object or array is listed once, not field by field.</param>
/// <param name="RedInFull">Paths of red values returned in full: the host audits these reads.</param>
public sealed record PiiViewResult(JsonObject Json, IReadOnlyList<string> Masked, IReadOnlyList<string> Hidden, IReadOnlyList<string> RedInFull)
{
    /// <summary>True when the read returned red data in full and must be audited.</summary>
    public bool MustAudit => RedInFull.Count > 0;
}

/// <summary>One identifier value as a reader may see it.</summary>
/// <param name="Value">The value, masked or in full; null when hidden.</param>
public sealed record PiiValue(PiiClass Class, Exposure Exposure, string? Value)
{
    /// <summary>True when a red value was returned in full and the read must be audited.</summary>
    public bool MustAudit => Class == PiiClass.Red && Exposure == Exposure.Full;
}

/// <summary>
/// Applies the access policy to data on its way out to one reader: the Profile API, the management
/// API, exports, the console and SQL results all pass through here, so the rules hold everywhere.
/// </summary>
public sealed class PiiView
{
    private readonly PiiClassifier _classifier;
    private readonly Exposure[] _exposure = new Exposure[3];

    /// <param name="roles">The reader's roles; the most permissive one decides.</param>
    public PiiView(PiiClassifier classifier, AccessPolicy policy, IEnumerable<string> roles)
    {
        _classifier = classifier;
        var held = roles.ToList();
        foreach (var pii in Enum.GetValues<PiiClass>())
        {
            _exposure[(int)pii] = policy.For(held, pii);
        }
    }

    /// <summary>What the reader gets of data of this class.</summary>
    public Exposure ExposureOf(PiiClass pii) => _exposure[(int)pii];

    /// <summary>A profile's traits, keyed by trait name (classified by <see cref="PiiClassifier.ClassifyTrait"/>).</summary>
    public PiiViewResult Traits(JsonObject traits) => Apply(traits, _classifier.ClassifyTrait, isEvent: false);

    /// <summary>
    /// A whole event as stored (classified by <see cref="PiiClassifier.ClassifyEventPath"/>), except
    /// that <c>context.externalIds[].id</c> takes the class of its sibling <c>type</c> (<see cref="DerivedClasses.OfExternalId"/>).
    /// </summary>
    public PiiViewResult Event(JsonObject message) => Apply(message, _classifier.ClassifyEventPath, isEvent: true);

    /// <summary>The classifier this view applies, derived classes included.</summary>
    public PiiClassifier Classifier => _classifier;

    /// <summary>What the reader gets of identifiers of this type.</summary>
    public Exposure IdentifierExposure(string type) => _exposure[(int)_classifier.ClassifyIdentifier(type)];

    /// <summary>One identifier, such as <c>email:ada@example.com</c>, as the Profile API lists them.</summary>
    public PiiValue Identifier(string type, string value)
    {
        var pii = _classifier.ClassifyIdentifier(type);
        var exposure = _exposure[(int)pii];
        return exposure switch
        {
            Exposure.Full => new(pii, exposure, value),
            Exposure.Masked => new(pii, exposure, Masking.Mask(_classifier.MaskNameOfIdentifier(type), value)),
            _ => new(pii, exposure, null),
        };
    }

    private PiiViewResult Apply(JsonObject source, Func<string, PiiClass> classify, bool isEvent)
    {
        var walk = new Walk(this, classify, isEvent);
        var json = walk.Object(source, path: "", shown: "");
        return new PiiViewResult(json, walk.Masked, walk.Hidden, walk.RedInFull);
    }

    private sealed class Walk(PiiView view, Func<string, PiiClass> classify, bool isEvent)
    {
        private const string ExternalIds = "context.externalIds";

        public List<string> Masked { get; } = [];

        public List<string> Hidden { get; } = [];

        public List<string> RedInFull { get; } = [];

        // path: what the classifier sees (no indexes); shown: what the report names (with indexes).
        public JsonObject Object(JsonObject source, string path, string shown)
        {
            var result = new JsonObject();
            var externalId = isEvent && path == ExternalIds;
            foreach (var (key, value) in source)
            {
                var childPath = path.Length == 0 ? key : path + "." + key;
                var childShown = shown.Length == 0 ? key : shown + "." + key;
                var kept = default(JsonNode);
                var keep = externalId && key == "id"
                    ? ExternalId(source, value, childPath, childShown, out kept)
                    : Node(value, childPath, childShown, out kept);
                if (keep)
                {
                    result[key] = kept;
                }
            }

            return result;
        }

        /// <summary>An external id is what its type says it is: <c>{"type":"email","id":…}</c> holds an email.</summary>
        private bool ExternalId(JsonObject item, JsonNode? value, string path, string shown, out JsonNode? kept)
        {
            var type = item["type"] is JsonValue t && t.TryGetValue<string>(out var text) ? text : null;
            var pii = DerivedClasses.OfExternalId(view._classifier, type);
            var byPath = classify(path);
            return Node(value, path, shown, out kept, pii > byPath ? pii : byPath, maskAs: type ?? path);
        }

        /// <summary>False when the node is hidden and must be left out.</summary>
        private bool Node(JsonNode? value, string path, string shown, out JsonNode? kept, PiiClass? known = null, string? maskAs = null)
        {
            kept = null;
            var pii = known ?? classify(path);
            var exposure = view._exposure[(int)pii];
            if (exposure == Exposure.Hidden)
            {
                Hidden.Add(shown);
                return false;
            }

            // Containers are walked rather than masked whole: their parts may be classed apart
            // (address.country green under a yellow address), and masking keeps the shape readers expect.
            // An object whose class is known from elsewhere (an external id) has no parts classed apart:
            // it is shown or masked whole.
            switch (value)
            {
                case JsonObject obj when known is null:
                    kept = Object(obj, path, shown);
                    return true;
                case JsonArray array:
                    var items = new JsonArray();
                    for (var i = 0; i < array.Count; i++)
                    {
                        if (Node(array[i], path, $"{shown}[{i}]", out var item, known, maskAs))
                        {
                            items.Add(item);
                        }
                    }

                    kept = items;
                    return true;
                case null:
                    return true;
            }

            if (exposure == Exposure.Masked)
            {
                kept = Masking.Mask(maskAs ?? (isEvent ? path : view._classifier.MaskNameOfTrait(path)), value);
                Masked.Add(shown);
                return true;
            }

            kept = value.DeepClone();
            if (pii == PiiClass.Red)
            {
                RedInFull.Add(shown);
            }

            return true;
        }
    }
}
