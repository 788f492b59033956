using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tandem.Unify;

namespace Tandem.Trust;

/// <summary>What a use of data does with a customer who has made no decision for a purpose.</summary>
public enum WithoutDecision
{
    /// <summary>Opt-in: no decision means no consent (the default, and what GDPR asks).</summary>
    Deny,

    /// <summary>Opt-out: no decision means consent, until the customer refuses.</summary>
    Allow,
}

/// <summary>
/// A purpose data may be used for. Consent arrives per category (<c>context.consent.categoryPreferences</c>);
/// a purpose answers to its own name and to the consent-management platform's category names listed
/// in <see cref="Categories"/> (such as <c>C0004</c>), and the newest decision among them is the one that counts.
/// </summary>
public sealed record Purpose(string Name, string Description, IReadOnlyList<string> Categories, WithoutDecision WithoutDecision)
{
    public IEnumerable<string> AllCategories => Categories.Prepend(Name);
}

/// <summary>Where a profile stands on one purpose.</summary>
/// <param name="Status">granted, denied, revoked, or <c>null</c> when no decision was ever recorded.</param>
/// <param name="Allowed">Whether its data may be used for the purpose now.</param>
public readonly record struct PurposeStanding(string Purpose, ConsentStatus? Status, bool Allowed, ConsentDecision? Decision);

/// <summary>
/// The purposes of a workspace (defaults: analytics, personalization, marketing, advertising, all
/// opt-in), and the one rule every use of data applies: a profile's data is used for a purpose only
/// while it is allowed.
/// </summary>
public sealed partial class PurposeCatalog
{
    public const int MaxPurposes = 32;
    public const int MaxCategories = 32;

    public static PurposeCatalog Default { get; } = new(
    [
        new("analytics", "Measuring and improving the product and the site", [], WithoutDecision.Deny),
        new("personalization", "Tailoring content and offers to the customer", [], WithoutDecision.Deny),
        new("marketing", "Email, SMS and other marketing messages", [], WithoutDecision.Deny),
        new("advertising", "Audiences sent to ad platforms, retargeting", [], WithoutDecision.Deny),
    ]);

    private readonly Dictionary<string, Purpose> _byName;

    public PurposeCatalog(IReadOnlyList<Purpose> purposes)
    {
        Purposes = purposes;
        _byName = purposes.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<Purpose> Purposes { get; }

    public Purpose? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The purposes a category counts for (its own name, or a purpose listing it).</summary>
    public IEnumerable<string> PurposesOf(string category) =>
        Purposes.Where(p => p.Name == category || p.Categories.Contains(category)).Select(p => p.Name);

    public static PurposeStanding Standing(Profile profile, Purpose purpose)
    {
        var decision = profile.Consent?.Newest(purpose.AllCategories);
        if (decision is not { } d)
        {
            return new(purpose.Name, null, purpose.WithoutDecision == WithoutDecision.Allow, null);
        }

        return new(purpose.Name, profile.Consent!.StatusOf(d, purpose.AllCategories), d.Granted, d);
    }

    /// <summary>True when the profile's data may be used for every one of the purposes.</summary>
    public static bool Allows(Profile profile, IEnumerable<Purpose> purposes) => purposes.All(p => Standing(profile, p).Allowed);

    public string ToJson()
    {
        var array = new JsonArray();
        foreach (var p in Purposes)
        {
            array.Add(new JsonObject
            {
                ["name"] = p.Name,
                ["description"] = p.Description,
                ["categories"] = new JsonArray([.. p.Categories.Select(c => (JsonNode)c)]),
                ["withoutDecision"] = p.WithoutDecision == WithoutDecision.Allow ? "allow" : "deny",
            });
        }

        return new JsonObject { ["purposes"] = array }.ToJsonString();
    }

    /// <summary>Reads <c>{"purposes":[{"name","description"?,"categories"?,"withoutDecision"?}]}</c>, reporting every problem with its field.</summary>
    public static bool TryParse(string json, out PurposeCatalog catalog, out List<(string Field, string Detail)> errors)
    {
        catalog = Default;
        errors = [];
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            errors.Add(("body", "The body is not valid JSON: " + ex.Message));
            return false;
        }

        if (root is not JsonObject obj || obj["purposes"] is not JsonArray items)
        {
            errors.Add(("purposes", "Send {\"purposes\": [{\"name\": \"marketing\", \"categories\": [\"C0004\"], \"withoutDecision\": \"deny\"}, …]}."));
            return false;
        }

        foreach (var (key, _) in obj)
        {
            if (key != "purposes")
            {
                errors.Add((key, $"'{key}' is not a field of the purpose list; only \"purposes\" is."));
            }
        }

        if (items.Count is 0 or > MaxPurposes)
        {
            errors.Add(("purposes", $"List between 1 and {MaxPurposes} purposes."));
        }

        var purposes = new List<Purpose>();
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var at = $"purposes[{i}]";
            if (items[i] is not JsonObject item)
            {
                errors.Add((at, "Each purpose is an object with a name."));
                continue;
            }

            foreach (var (key, _) in item)
            {
                if (key is not ("name" or "description" or "categories" or "withoutDecision"))
                {
                    errors.Add(($"{at}.{key}", $"'{key}' is not a field of a purpose; use name, description, categories and withoutDecision."));
                }
            }

            var name = Text(item["name"]);
            if (name is null || !NamePattern().IsMatch(name))
            {
                errors.Add(($"{at}.name", "A purpose name is 1 to 40 lower-case letters, digits or underscores, starting with a letter."));
                continue;
            }

            if (!owner.TryAdd(name, name))
            {
                errors.Add(($"{at}.name", $"'{name}' is named twice (as a purpose or as another purpose's category)."));
            }

            var description = item["description"] is null ? "" : Text(item["description"]);
            if (description is null || description.Length > 500)
            {
                errors.Add(($"{at}.description", "The description is text of at most 500 characters."));
            }

            var categories = new List<string>();
            if (item["categories"] is JsonArray list)
            {
                if (list.Count > MaxCategories)
                {
                    errors.Add(($"{at}.categories", $"At most {MaxCategories} categories per purpose."));
                }

                for (var c = 0; c < list.Count; c++)
                {
                    var category = Text(list[c]);
                    if (category is not { Length: > 0 and <= 100 })
                    {
                        errors.Add(($"{at}.categories[{c}]", "A category is a non-empty text of at most 100 characters, as the consent-management platform names it."));
                    }
                    else if (!owner.TryAdd(category, name))
                    {
                        errors.Add(($"{at}.categories[{c}]", $"Category '{category}' already counts for '{owner[category]}'; a category counts for one purpose."));
                    }
                    else
                    {
                        categories.Add(category);
                    }
                }
            }
            else if (item["categories"] is not null)
            {
                errors.Add(($"{at}.categories", "categories is a list of the consent-management platform's category names."));
            }

            var without = WithoutDecision.Deny;
            if (item["withoutDecision"] is { } w)
            {
                switch (Text(w))
                {
                    case "deny": break;
                    case "allow": without = WithoutDecision.Allow; break;
                    default:
                        errors.Add(($"{at}.withoutDecision", "withoutDecision is \"deny\" (opt-in: no decision, no use) or \"allow\" (opt-out)."));
                        break;
                }
            }

            purposes.Add(new Purpose(name, description ?? "", categories, without));
        }

        if (errors.Count > 0)
        {
            return false;
        }

        catalog = new PurposeCatalog(purposes);
        return true;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex NamePattern();
}
