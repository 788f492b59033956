using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Tandem.Unify;

/// <summary>What the not-applied list shows of an event: its messageId and type, cut to a readable length.</summary>
internal static class EventText
{
    private const int MaxShown = 200;

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

        // The payload was repaired before the engine read it, so reading the text cannot throw.
        return Shown(ProfileEngine.ScalarText(value));
    }

    /// <summary>A messageId or type as the list keeps it: null when empty, cut short when long (the list's memory stays bounded).</summary>
    public static string? Shown(string? text) =>
        string.IsNullOrEmpty(text) ? null
        : text.Length <= MaxShown ? text
        : text[..(char.IsHighSurrogate(text[MaxShown - 1]) ? MaxShown - 1 : MaxShown)] + "…"; // never half a pair
}
