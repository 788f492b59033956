using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Trust;

namespace Tandem.Privacy;

/// <summary>One problem with a retention policy: where it is (<c>events["Page Viewed"]</c>) and how to fix it.</summary>
internal sealed record RetentionPolicyError(string Field, string Detail);

/// <summary>
/// How long events are kept, counted in whole days from when the collector received them. A track
/// event is matched by its name in <see cref="Events"/>, then by <c>track</c> in <see cref="Types"/>;
/// other calls by their type in <see cref="Types"/>; anything else falls to <see cref="DefaultDays"/>.
/// An entry set to null keeps its events forever, whatever the default says.
/// </summary>
internal sealed record RetentionPolicy(int? DefaultDays, IReadOnlyDictionary<string, int?> Events, IReadOnlyDictionary<string, int?> Types)
{
    /// <summary>One day at least: the collector's dedup window is 24 hours, and a shorter retention would let a retried duplicate back in.</summary>
    public const int MinDays = 1;

    /// <summary>A hundred years; more is "forever", which is null.</summary>
    public const int MaxDays = 36_500;

    public const int MaxEventRules = 1_000;
    public const int MaxEventNameLength = 200;

    /// <summary>Never set: everything is kept.</summary>
    public static RetentionPolicy KeepEverything { get; } = new(null, new Dictionary<string, int?>(), new Dictionary<string, int?>());

    private static readonly string[] TypeNames = [.. Enum.GetValues<MessageType>().Select(t => t.Name())];

    public const string DefaultRule = "defaultDays";

    public static string EventRule(string name) => "events[" + JsonSerializer.Serialize(name, Hosting.TandemJson.Web) + "]";

    public static string TypeRule(string type) => "types." + type;

    /// <summary>The rule that holds an event of this type (and name, for track calls).</summary>
    public (string Rule, int? Days) RuleFor(MessageType type, string? eventName)
    {
        if (type == MessageType.Track && eventName is not null && Events.TryGetValue(eventName, out var byName))
        {
            return (EventRule(eventName), byName);
        }

        var typeName = type.Name();
        return Types.TryGetValue(typeName, out var byType) ? (TypeRule(typeName), byType) : (DefaultRule, DefaultDays);
    }

    /// <summary>Every rule with the time before which its events are due at <paramref name="now"/>.</summary>
    public IReadOnlyList<RetentionCutoff> Cutoffs(DateTimeOffset now) =>
    [
        new(DefaultRule, DefaultDays, Due(DefaultDays, now)),
        .. Types.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new RetentionCutoff(TypeRule(t.Key), t.Value, Due(t.Value, now))),
        .. Events.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new RetentionCutoff(EventRule(e.Key), e.Value, Due(e.Value, now))),
    ];

    public static DateTimeOffset? Due(int? days, DateTimeOffset now) => days is { } d ? now - TimeSpan.FromDays(d) : null;

    /// <summary>The policy as the API shows and stores it, keys in ordinal order.</summary>
    public JsonObject ToJson()
    {
        var events = new JsonObject();
        foreach (var (name, days) in Events.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            events[name] = days;
        }

        var types = new JsonObject();
        foreach (var (name, days) in Types.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            types[name] = days;
        }

        return new JsonObject { ["defaultDays"] = DefaultDays, ["events"] = events, ["types"] = types };
    }

    /// <summary>Reads a whole policy; every problem is reported with the field it is in.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out RetentionPolicy? policy, out IReadOnlyList<RetentionPolicyError> errors)
    {
        policy = null;
        var problems = new List<RetentionPolicyError>();
        errors = problems;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            problems.Add(new("body", $"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}). "
                + Example));
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new("body", $"The policy is a JSON object; got {AccessPolicy.Describe(root.ValueKind)}. " + Example));
                return false;
            }

            int? defaultDays = null;
            var events = new Dictionary<string, int?>(StringComparer.Ordinal);
            var types = new Dictionary<string, int?>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    problems.Add(new(property.Name, $"\"{property.Name}\" appears more than once; keep one."));
                    continue;
                }

                switch (property.Name)
                {
                    case "defaultDays":
                        defaultDays = ReadDays(property.Value, "defaultDays", problems);
                        break;
                    case "events":
                        ReadRules(property.Value, "events", EventRule, problems, events, name =>
                            name.Length == 0 ? "An event name cannot be empty."
                            : name.Length > MaxEventNameLength ? $"Event names are at most {MaxEventNameLength} characters; this one has {name.Length}."
                            : null);
                        if (events.Count > MaxEventRules)
                        {
                            problems.Add(new("events", $"At most {MaxEventRules:N0} event names can have a rule of their own; this policy has {events.Count:N0}."));
                        }

                        break;
                    case "types":
                        ReadRules(property.Value, "types", TypeRule, problems, types, name =>
                            TypeNames.Contains(name, StringComparer.Ordinal) ? null
                            : $"\"{name}\" is not a call type. Use one of: {string.Join(", ", TypeNames)}.");
                        break;
                    default:
                        problems.Add(new(property.Name, $"\"{property.Name}\" is not part of a retention policy. Use defaultDays, events and types. " + Example));
                        break;
                }
            }

            if (problems.Count > 0)
            {
                return false;
            }

            policy = new RetentionPolicy(defaultDays, events, types);
            return true;
        }
    }

    private const string Example = "Example: {\"defaultDays\": 395, \"events\": {\"Page Viewed\": 30, \"Order Completed\": null}, \"types\": {\"page\": 90}}.";

    private static void ReadRules(JsonElement value, string field, Func<string, string> fieldOf, List<RetentionPolicyError> problems,
        Dictionary<string, int?> into, Func<string, string?> checkName)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new(field, $"{field} is an object of name → days (or null to keep forever); got {AccessPolicy.Describe(value.ValueKind)}."));
            return;
        }

        foreach (var rule in value.EnumerateObject())
        {
            var where = fieldOf(rule.Name);
            if (checkName(rule.Name) is { } wrongName)
            {
                problems.Add(new(where, wrongName));
            }
            else if (into.ContainsKey(rule.Name))
            {
                problems.Add(new(where, "This name appears more than once; keep one."));
            }
            else
            {
                into[rule.Name] = ReadDays(rule.Value, where, problems);
            }
        }
    }

    private static int? ReadDays(JsonElement value, string field, List<RetentionPolicyError> problems)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            problems.Add(new(field, $"Days are a whole number from {MinDays} to {MaxDays:N0}, or null to keep forever; got {AccessPolicy.Describe(value.ValueKind)}."));
            return null;
        }

        var raw = value.GetRawText();
        if (!value.TryGetInt32(out var days) || days > MaxDays)
        {
            problems.Add(new(field, $"Days are a whole number from {MinDays} to {MaxDays:N0}, or null to keep forever; got {raw}."));
            return null;
        }

        if (days < MinDays)
        {
            problems.Add(new(field, $"{raw} days is too short: events are kept at least {MinDays} day, the collector's dedup window, or a retried duplicate could be stored again."));
            return null;
        }

        return days;
    }
}
