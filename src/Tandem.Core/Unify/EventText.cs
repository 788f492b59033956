using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Tandem.Unify;

/// <summary>Finds text in a stored event that is not valid Unicode, before the engine reads any of it.</summary>
internal static class EventText
{
    private const int MaxShown = 200;

    /// <summary>
    /// Null when every string and name in <paramref name="payload"/> is valid Unicode; else where the
    /// first invalid one is (a path such as <c>traits.email</c>). Cheap for the common case: one
    /// vectorised UTF-8 check, and a look for <c>\uD8..</c>–<c>\uDF..</c> escapes (about 60 ns for a
    /// 790-byte track call on the 2-core VM, against the 10–13 µs the processor spends per event);
    /// only an event that fails either is walked.
    /// </summary>
    public static string? FindInvalid(byte[] payload)
    {
        if (!Tandem.Text.UnicodeRepair.NeedsRepair(payload))
        {
            return null;
        }

        return Walk(payload);
    }

    /// <summary>The path of the first invalid string or name; a payload that is not JSON at all is left to the parser to report.</summary>
    private static string? Walk(byte[] payload)
    {
        var frames = new List<Frame>(); // open containers, outermost first
        var reader = new Utf8JsonReader(payload);
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (!IsValid(ref reader))
                        {
                            frames[^1].Name = null;
                            return frames.Count == 1 ? "a field name" : $"a field name in {Shorten(PathOf(frames))}";
                        }

                        frames[^1].Name = reader.GetString();
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        NextElement(frames);
                        frames.Add(new Frame(reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    default:
                        NextElement(frames);
                        if (reader.TokenType == JsonTokenType.String && !IsValid(ref reader))
                        {
                            return frames.Count == 0 ? "the event" : Shorten(PathOf(frames));
                        }

                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        // Invalid bytes outside any string make the JSON itself invalid, which the parser reports.
        return null;
    }

    private static void NextElement(List<Frame> frames)
    {
        if (frames.Count > 0 && frames[^1].IsArray)
        {
            frames[^1].Index++;
        }
    }

    private static string PathOf(List<Frame> frames)
    {
        var path = new StringBuilder();
        foreach (var frame in frames)
        {
            if (frame.IsArray)
            {
                path.Append('[').Append(frame.Index).Append(']');
            }
            else if (frame.Name is { } name)
            {
                path.Append(path.Length == 0 ? "" : ".").Append(name);
            }
        }

        return path.ToString();
    }

    private sealed class Frame(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public int Index { get; set; } = -1;

        public string? Name { get; set; }
    }

    private static bool IsValid(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8.IsValid(reader.ValueSpan);
        }

        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string Shorten(string path) => Shown(path)!;

    /// <summary>
    /// The messageId or type of an event that could not be applied, as far as it can be read: a text
    /// that is not valid Unicode is shown with its invalid bytes replaced (U+FFFD) or its escapes as
    /// written, so the list itself is always valid text.
    /// </summary>
    public static (string? MessageId, string? Type, long ReceivedAtMs) Peek(byte[] payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, long.MinValue);
            }

            var root = document.RootElement;
            var receivedAt = root.TryGetProperty("receivedAt"u8, out var r) && r.ValueKind == JsonValueKind.String
                && Collect.IsoTime.TryParse(r, out var at) ? at.ToUnixTimeMilliseconds() : long.MinValue;
            return (Text(root, "messageId"u8), Text(root, "type"u8), receivedAt);
        }
        catch (JsonException)
        {
            return (null, null, long.MinValue);
        }
    }

    private static string? Text(JsonElement root, ReadOnlySpan<byte> name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            return null;
        }

        string text;
        try
        {
            text = ProfileEngine.ScalarText(value)!;
        }
        catch (InvalidOperationException)
        {
            text = Encoding.UTF8.GetString(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value)).Trim('"');
        }

        return Shown(text);
    }

    /// <summary>A messageId or type as the list keeps it: null when empty, cut short when long (the list's memory stays bounded).</summary>
    public static string? Shown(string? text) =>
        string.IsNullOrEmpty(text) ? null
        : text.Length <= MaxShown ? text
        : text[..(char.IsHighSurrogate(text[MaxShown - 1]) ? MaxShown - 1 : MaxShown)] + "…"; // never half a pair
}
