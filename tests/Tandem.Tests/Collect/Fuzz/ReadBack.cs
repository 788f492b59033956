using System.Text;
using System.Text.Json;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>One HTTP answer as a reader sees it: status, media type, the bytes, and the JSON when every reader could read it.</summary>
public sealed record ReadBack(string What, int Status, string? MediaType, byte[] Bytes, JsonElement? Json, string? Unreadable)
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public bool IsServerError => Status >= 500;

    public string Text => Encoding.UTF8.GetString(Bytes.AsSpan(0, Math.Min(Bytes.Length, 2000)));

    public string Summary => $"{What} answered {Status} {MediaType}: {(Unreadable is null ? "" : "[" + Unreadable + "] ")}{Text}";

    public static async Task<ReadBack> FromAsync(string what, HttpResponseMessage response)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var (json, problem) = Read(bytes);
        return new ReadBack(what, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, bytes, json, problem);
    }

    /// <summary>
    /// Reads JSON the strictest way a client would: valid UTF-8, parsed by <see cref="JsonDocument"/>,
    /// and every string and property name read with GetString (which throws on a lone surrogate escape).
    /// </summary>
    public static (JsonElement? Json, string? Problem) Read(byte[] bytes)
    {
        try
        {
            Strict.GetCharCount(bytes);
        }
        catch (DecoderFallbackException e)
        {
            return (null, $"not valid UTF-8 at byte {e.Index}");
        }

        JsonElement root;
        try
        {
            // Answers wrap a stored event (at most 64 deep) in a few levels of their own; docs/collect.md says readers need 128.
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 128 });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return (null, "not JSON: " + e.Message);
        }

        return FirstUnreadable(root, "$") is { } problem ? (root, problem) : (root, null);
    }

    /// <summary>The path of the first string a reader cannot read, with why; null when all can be read.</summary>
    public static string? FirstUnreadable(JsonElement element, string path)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    element.GetString();
                    return null;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (FirstUnreadable(item, $"{path}[{i++}]") is { } problem)
                        {
                            return problem;
                        }
                    }

                    return null;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        var name = property.Name;
                        if (FirstUnreadable(property.Value, path + "." + name) is { } problem)
                        {
                            return problem;
                        }
                    }

                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException e)
        {
            return $"string at {path} cannot be read: {e.Message}";
        }
    }

    /// <summary>A member, or an undefined element when absent or <paramref name="element"/> is not an object.</summary>
    public static JsonElement Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    /// <summary>A string member, or null when absent, not a string, or unreadable.</summary>
    public static string? StringOf(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
