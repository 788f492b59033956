using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tandem.Collect;
using Tandem.Settings;
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
/// The workspace's unify settings (identifier types, computed traits), kept as two settings documents
/// through <see cref="SettingsService"/>, and the conversion between their API form and the engine's.
/// The processor saves them, in order with the events it applies; the API audits the one definition
/// that changed, so these documents have no audit action of their own.
/// </summary>
internal sealed class UnifySettings(SettingsService settings)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The built-in types, overridden by the admin's changes, plus the admin's custom types.</summary>
    public IdentityRules LoadRules() => settings.Current(IdentityTypesDocument.Instance)!;

    public void SaveRules(IdentityRules rules)
    {
        settings.Store(IdentityTypesDocument.Instance, rules);
        RulesSaved?.Invoke(rules);
    }

    /// <summary>Raised after identity rules are saved (the suppression list follows trait-keyed types).</summary>
    public event Action<IdentityRules>? RulesSaved;

    public IReadOnlyList<ComputedTraitDefinition> LoadComputedTraits() => settings.Current(ComputedTraitsDocument.Instance)!;

    public void SaveComputedTraits(IEnumerable<ComputedTraitDefinition> definitions) =>
        settings.Store(ComputedTraitsDocument.Instance, (IReadOnlyList<ComputedTraitDefinition>)[.. definitions]);

    /// <summary>Identifier types: only the types an admin added or changed differ from the defaults, but all are stored.</summary>
    private sealed class IdentityTypesDocument : SettingsDocument<IdentityRules>
    {
        public static IdentityTypesDocument Instance { get; } = new();

        public override string Key => "identity.types";

        public override IdentityRules Default => new(IdentityRules.DefaultTypes);

        public override string AuditTarget => "identity:types";

        public override string? AuditAction(IdentityRules? after) => null;

        // Stored only by the processor: text that does not read is damage to report, as it always was.
        public override IdentityRules Read(string stored)
        {
            var byName = IdentityRules.DefaultTypes.ToDictionary(t => t.Name, StringComparer.Ordinal);
            foreach (var type in JsonSerializer.Deserialize<List<IdentifierType>>(stored, Json) ?? [])
            {
                byName[type.Name] = type;
            }

            return new IdentityRules(byName.Values);
        }

        public override string Write(IdentityRules? value) => JsonSerializer.Serialize(value!.Types, Json);
    }

    /// <summary>Computed traits, stored in their API form so the stored text reads like what an admin sent.</summary>
    private sealed class ComputedTraitsDocument : SettingsDocument<IReadOnlyList<ComputedTraitDefinition>>
    {
        public static ComputedTraitsDocument Instance { get; } = new();

        public override string Key => "computed_traits";

        public override IReadOnlyList<ComputedTraitDefinition> Default => [];

        public override string AuditTarget => "computed_traits";

        public override string? AuditAction(IReadOnlyList<ComputedTraitDefinition>? after) => null;

        public override IReadOnlyList<ComputedTraitDefinition> Read(string stored) =>
            [.. (JsonSerializer.Deserialize<List<ComputedTraitView>>(stored, Json) ?? []).Select(v => ToDefinition(v, out _)!)];

        public override string Write(IReadOnlyList<ComputedTraitDefinition>? value) => JsonSerializer.Serialize(value!.Select(ToView).ToList(), Json);
    }

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
