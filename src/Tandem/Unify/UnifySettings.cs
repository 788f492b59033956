using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tandem.Collect;
using Tandem.Storage;
using Tandem.Unify;

namespace Tandem.Unify;

/// <summary>An identifier type as the management API shows and accepts it.</summary>
public sealed record IdentifierTypeView(
    string Name,
    int Limit,
    int Priority,
    IReadOnlyList<string> BlockedValues,
    IReadOnlyList<string> BlockedPatterns,
    string? TraitKey,
    bool BuiltIn)
{
    public static IdentifierTypeView From(IdentifierType t) =>
        new(t.Name, t.Limit, t.Priority, t.BlockedValues ?? [], t.BlockedPatterns ?? [], t.TraitKey, t.BuiltIn);
}

/// <summary>A condition as the API takes it: <c>{"property":"plan","operator":"equals","value":"pro"}</c>.</summary>
public sealed record ConditionView(string? Property, string? Operator, JsonElement? Value);

/// <summary>A computed trait as the API shows and accepts it.</summary>
public sealed record ComputedTraitView(
    string? Name,
    string? Aggregation,
    string? Type,
    string? Event,
    string? Property,
    IReadOnlyList<ConditionView>? Where,
    string? Window);

/// <summary>
/// Reads and writes the workspace's unify settings (identifier types, computed traits) in
/// <c>tandem.db</c>, and converts between their API form and the engine's.
/// </summary>
internal sealed class UnifySettings(ControlStore control, TimeProvider time)
{
    private const string TypesKey = "identity.types";
    private const string ComputedKey = "computed_traits";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The built-in types, overridden by the admin's changes, plus the admin's custom types.</summary>
    public IdentityRules LoadRules()
    {
        var stored = control.Setting(TypesKey) is { } json ? JsonSerializer.Deserialize<List<IdentifierType>>(json, Json) ?? [] : [];
        var byName = IdentityRules.DefaultTypes.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var type in stored)
        {
            byName[type.Name] = type;
        }

        return new IdentityRules(byName.Values);
    }

    public void SaveRules(IdentityRules rules)
    {
        control.SaveSetting(TypesKey, JsonSerializer.Serialize(rules.Types, Json), time.GetUtcNow());
        RulesSaved?.Invoke(rules);
    }

    /// <summary>Raised after identity rules are saved (the suppression list follows trait-keyed types).</summary>
    public event Action<IdentityRules>? RulesSaved;

    public IReadOnlyList<ComputedTraitDefinition> LoadComputedTraits()
    {
        var views = control.Setting(ComputedKey) is { } json ? JsonSerializer.Deserialize<List<ComputedTraitView>>(json, Json) ?? [] : [];
        return [.. views.Select(v => ToDefinition(v, out _)!)];
    }

    public void SaveComputedTraits(IEnumerable<ComputedTraitDefinition> definitions) =>
        control.SaveSetting(ComputedKey, JsonSerializer.Serialize(definitions.Select(ToView).ToList(), Json), time.GetUtcNow());

    public static ComputedTraitView ToView(ComputedTraitDefinition d) => new(
        d.Name,
        Snake(d.Aggregation.ToString()),
        d.Type.Name(),
        d.Event,
        d.Property,
        d.Where?.Select(c => new ConditionView(c.Property, Snake(c.Operator.ToString()), c.Value is null ? null : JsonSerializer.Deserialize<JsonElement>(c.Value))).ToList(),
        d.Window is { } w ? FormatWindow(w) : null);

    /// <summary>The engine's definition, or null with what is wrong and where.</summary>
    public static ComputedTraitDefinition? ToDefinition(ComputedTraitView v, out (string Field, string Detail)? problem)
    {
        problem = null;
        if (v.Aggregation is null || !Enum.TryParse<Aggregation>(v.Aggregation.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var aggregation)
            || int.TryParse(v.Aggregation, CultureInfo.InvariantCulture, out _))
        {
            problem = ("aggregation", "Set \"aggregation\" to one of: " + string.Join(", ", Enum.GetNames<Aggregation>().Select(Snake)) + ".");
            return null;
        }

        var type = MessageType.Track;
        if (v.Type is not null && !MessageTypes.TryParse(v.Type, out type))
        {
            problem = ("type", "Set \"type\" to track, page, screen, identify, group or alias (default track).");
            return null;
        }

        TimeSpan? window = null;
        if (v.Window is not null)
        {
            if (ParseWindow(v.Window) is not { } parsed)
            {
                problem = ("window", "Write the window as a whole number of days, hours or minutes, up to ten years: \"30d\", \"24h\", \"90m\"; leave it out for all time.");
                return null;
            }

            window = parsed;
        }

        var where = new List<PropertyCondition>();
        for (var i = 0; i < (v.Where?.Count ?? 0); i++)
        {
            var c = v.Where![i];
            if (c is null)
            {
                problem = ($"where[{i}]", "Each condition is an object such as {\"property\":\"plan\",\"operator\":\"equals\",\"value\":\"pro\"}; remove the null.");
                return null;
            }

            if (string.IsNullOrWhiteSpace(c.Property))
            {
                problem = ($"where[{i}].property", "Each condition needs \"property\": a property name, dotted for nested ones (\"product.category\").");
                return null;
            }

            if (c.Operator is null || !Enum.TryParse<ConditionOperator>(c.Operator.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var op)
                || int.TryParse(c.Operator, CultureInfo.InvariantCulture, out _))
            {
                problem = ($"where[{i}].operator", "Set \"operator\" to one of: " + string.Join(", ", Enum.GetNames<ConditionOperator>().Select(Snake)) + ".");
                return null;
            }

            where.Add(new PropertyCondition(c.Property, op, c.Value is { ValueKind: not JsonValueKind.Undefined } value ? value.GetRawText() : null));
        }

        var definition = new ComputedTraitDefinition(v.Name ?? "", aggregation, type, v.Event, v.Property, where, window);
        if (definition.Problem() is { } invalid)
        {
            problem = (invalid.Contains("\"event\"", StringComparison.Ordinal) ? "event" : invalid.Contains("\"property\"", StringComparison.Ordinal) ? "property" : "where", invalid);
            return null;
        }

        return definition;
    }

    public static TimeSpan? ParseWindow(string text)
    {
        // Up to ten years: longer windows are all time in practice, and bigger numbers would overflow a TimeSpan.
        if (text.Length < 2 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n <= 0 || n > 3650 * 24 * 60)
        {
            return null;
        }

        TimeSpan? window = char.ToLowerInvariant(text[^1]) switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => null,
        };
        return window <= TimeSpan.FromDays(3650) ? window : null;
    }

    public static string FormatWindow(TimeSpan w) =>
        w.TotalDays == Math.Floor(w.TotalDays) ? $"{w.TotalDays:0}d"
        : w.TotalHours == Math.Floor(w.TotalHours) ? $"{w.TotalHours:0}h"
        : $"{w.TotalMinutes:0}m";

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
