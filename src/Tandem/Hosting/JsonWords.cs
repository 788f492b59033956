using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tandem.Hosting;

/// <summary>
/// Says in plain words what JSON a request field expects and what was sent in its place, so that a
/// refusal reads "\"enabled\" must be true or false; got text \"yes\"" rather than naming the .NET type
/// the body was read into (<c>Nullable`1</c>, <c>SourcesApi+UpdateSourceRequest</c>).
/// </summary>
internal static class JsonWords
{
    private const int MaxEchoed = 40;

    /// <summary>What a value of <paramref name="type"/> is written as in JSON.</summary>
    public static string Expected(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Expected(inner); // null is taken as "not sent", which needs no saying
        }

        if (type == typeof(string) || type == typeof(char))
        {
            return "text (a JSON string)";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte))
        {
            return "a whole number";
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number";
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return "a date and time such as \"2026-11-23T12:00:00Z\"";
        }

        if (type == typeof(DateOnly))
        {
            return "a date such as \"2026-11-23\"";
        }

        if (type == typeof(TimeSpan))
        {
            return "a duration such as \"01:30:00\"";
        }

        if (type == typeof(Guid))
        {
            return "an id such as \"0f8fad5b-d9cb-469f-a165-70867728950e\"";
        }

        if (type.IsEnum)
        {
            return "one of: " + string.Join(", ", Enum.GetNames(type).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)));
        }

        if (type == typeof(JsonElement) || type == typeof(object) || typeof(System.Text.Json.Nodes.JsonNode).IsAssignableFrom(type))
        {
            return "any JSON value";
        }

        if (ValueOfMap(type) is { } value)
        {
            return $"an object whose values are each {Expected(value)}";
        }

        if (ItemOf(type) is { } item)
        {
            return $"a list whose items are each {Expected(item)}";
        }

        return "an object ({…})";
    }

    /// <summary>
    /// What is expected at <paramref name="path"/> (as <see cref="JsonException.Path"/> writes it,
    /// <c>$.scopes[0]</c>) of a body read as <paramref name="root"/>; null when the path leads nowhere known.
    /// </summary>
    public static string? ExpectedAt(Type root, string path, JsonSerializerOptions options)
    {
        var type = root;
        foreach (var segment in Segments(path))
        {
            var next = segment.Index is not null ? ItemOf(type) : ValueOfMap(type) ?? PropertyType(type, segment.Name!, options);
            if (next is null)
            {
                return null;
            }

            type = next;
        }

        return Expected(type);
    }

    /// <summary>What was sent at <paramref name="path"/>: "a number (5)", "text \"yes\"", "a list"…; null when the body is not JSON.</summary>
    public static string? SentAt(ReadOnlyMemory<byte> body, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var element = document.RootElement;
            foreach (var segment in Segments(path))
            {
                if (segment.Index is { } index && element.ValueKind == JsonValueKind.Array && index < element.GetArrayLength())
                {
                    element = element[index];
                }
                else if (segment.Name is { } name && element.ValueKind == JsonValueKind.Object
                    && element.EnumerateObject().FirstOrDefault(p => p.NameEquals(name) || string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: not JsonValueKind.Undefined } property)
                {
                    element = property.Value;
                }
                else
                {
                    return null;
                }
            }

            return Describe(element);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A JSON value in words, with a short echo of scalars.</summary>
    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"text \"{Echo(element.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {Echo(element.GetRawText())}",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };

    /// <summary>The field a path names, as problems name fields (<c>scopes[0]</c>); <c>body</c> for the whole body.</summary>
    public static string Field(string? path)
    {
        var field = string.Concat(Segments(path ?? "$").Select((s, i) => s.Index is { } n ? $"[{n}]" : (i == 0 ? "" : ".") + s.Name));
        return field.Length == 0 ? "body" : field;
    }

    /// <summary>What a caller sent, cut to a length worth echoing back in a problem's detail.</summary>
    internal static string Echo(string? text) =>
        text is null ? "" : text.Length <= MaxEchoed ? text : string.Concat(text.AsSpan(0, MaxEchoed), "…");

    private readonly record struct Segment(string? Name, int? Index);

    /// <summary>Splits <c>$.a.b[2]['odd.name']</c> into its steps; stops at anything it does not understand.</summary>
    private static List<Segment> Segments(string path)
    {
        var segments = new List<Segment>();
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(new(path[(i + 1)..end], null));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['", StringComparison.Ordinal) && path.IndexOf("']", i + 2, StringComparison.Ordinal) is var close and > 0)
            {
                segments.Add(new(path[(i + 2)..close], null));
                i = close + 2;
            }
            else if (path[i] == '[' && path.IndexOf(']', i) is var bracket and > 0
                && int.TryParse(path.AsSpan(i + 1, bracket - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                segments.Add(new(null, index));
                i = bracket + 1;
            }
            else
            {
                break;
            }
        }

        return segments;
    }

    private static Type? PropertyType(Type type, string name, JsonSerializerOptions options)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var jsonName = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
                ?? options.PropertyNamingPolicy?.ConvertName(property.Name) ?? property.Name;
            if (string.Equals(jsonName, name, options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            {
                return property.PropertyType;
            }
        }

        return null;
    }

    private static Type? ItemOf(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        return type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    private static Type? ValueOfMap(Type type) =>
        type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)))
            ?.GetGenericArguments()[1];
}
