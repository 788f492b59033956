using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Tandem.Unify;

/// <summary>Why an event read from the log reached no customer profile: stable codes an operator can count and search for.</summary>
public static class NotAppliedReason
{
    /// <summary>The stored payload is not a JSON object (a damaged log or a writer other than Tandem's collector).</summary>
    public const string InvalidJson = "invalid_json";

    /// <summary>The payload's <c>type</c> is not a Segment call type.</summary>
    public const string UnknownType = "unknown_type";

    /// <summary>Some text in it is not valid Unicode (invalid UTF-8, or an unpaired surrogate escape such as <c>\ud83d</c>).</summary>
    public const string InvalidText = "invalid_text";

    /// <summary>It names no one: every identifier field is missing or blank (or of a type that is not configured).</summary>
    public const string NoIdentifier = "no_identifier";

    /// <summary>Every identifier it carries is blocked by the identity settings (shared-device protection): an outcome, not a fault.</summary>
    public const string BlockedIdentifier = "blocked_identifier";

    /// <summary>The engine failed while applying it: a defect in Tandem, to be reported.</summary>
    public const string ApplyFailed = "apply_failed";

    /// <summary>Every code, in the order documented.</summary>
    public static readonly IReadOnlyList<string> All = [InvalidJson, UnknownType, InvalidText, NoIdentifier, BlockedIdentifier, ApplyFailed];
}

/// <summary>One event the processor read but could not attribute to a customer, and why. It holds no event content.</summary>
/// <param name="ReceivedAtMs">When the collector received the event (from the event itself, so a replay gives the same value); <see cref="long.MinValue"/> when unreadable.</param>
public sealed record NotAppliedEvent(long Seq, int SourceKey, string? MessageId, string? Type, string Reason, string Detail, long ReceivedAtMs);

/// <summary>
/// The events not applied: exact totals per reason, and the newest <see cref="Kept"/> of them in log
/// order. Part of the engine's state (and its snapshot), so a replay of the log gives the same list.
/// </summary>
public sealed class NotAppliedEvents
{
    /// <summary>How many events the list keeps; older ones leave it, their totals stay.</summary>
    public const int Kept = 10_000;

    private readonly NotAppliedEvent[] _ring = new NotAppliedEvent[Kept];
    private readonly SortedDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private int _start;

    /// <summary>Events kept in the list.</summary>
    public int Count { get; private set; }

    /// <summary>Every event not applied so far, whether still in the list or not.</summary>
    public long Total { get; private set; }

    /// <summary>Exact totals by reason code, in code order.</summary>
    public IReadOnlyDictionary<string, long> Totals => _totals;

    internal void Add(NotAppliedEvent entry)
    {
        _totals[entry.Reason] = _totals.GetValueOrDefault(entry.Reason) + 1;
        Total++;
        Keep(entry);
    }

    private void Keep(NotAppliedEvent entry)
    {
        if (Count == Kept)
        {
            _ring[_start] = entry;
            _start = (_start + 1) % Kept;
        }
        else
        {
            _ring[(_start + Count) % Kept] = entry;
            Count++;
        }
    }

    private NotAppliedEvent At(int index) => _ring[(_start + index) % Kept];

    /// <summary>The kept events in log order.</summary>
    public IEnumerable<NotAppliedEvent> Oldest()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return At(i);
        }
    }

    /// <summary>Up to <paramref name="max"/> kept events with a seq below <paramref name="before"/> (all when null), newest first.</summary>
    public IReadOnlyList<NotAppliedEvent> Newest(int max, long? before = null)
    {
        // The list is in seq order: find the first kept event at or after the cursor, then walk back.
        int low = 0, high = Count;
        var bound = before ?? long.MaxValue;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (At(middle).Seq < bound)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        var page = new List<NotAppliedEvent>(Math.Min(max, low));
        for (var i = low - 1; i >= 0 && page.Count < max; i--)
        {
            page.Add(At(i));
        }

        return page;
    }

    /// <summary>Takes deleted events out of the list (retention); the totals keep them, like a profile's counters.</summary>
    internal void Drop(IReadOnlySet<long> seqs)
    {
        var kept = Oldest().Where(e => !seqs.Contains(e.Seq)).ToArray();
        Array.Clear(_ring);
        _start = 0;
        Count = 0;
        foreach (var entry in kept)
        {
            Keep(entry);
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(_totals.Count);
        foreach (var (reason, count) in _totals)
        {
            w.Write(reason);
            w.Write(count);
        }

        w.Write(Count);
        foreach (var e in Oldest())
        {
            w.Write(e.Seq);
            w.Write(e.SourceKey);
            w.Write(e.MessageId ?? "");
            w.Write(e.Type ?? "");
            w.Write(e.Reason);
            w.Write(e.Detail);
            w.Write(e.ReceivedAtMs);
        }
    }

    internal void Read(BinaryReader r)
    {
        var reasons = r.ReadInt32();
        for (var i = 0; i < reasons; i++)
        {
            var reason = r.ReadString();
            var count = r.ReadInt64();
            _totals[reason] = count;
            Total += count;
        }

        var kept = r.ReadInt32();
        for (var i = 0; i < kept; i++)
        {
            Keep(new NotAppliedEvent(r.ReadInt64(), r.ReadInt32(), EmptyAsNull(r.ReadString()), EmptyAsNull(r.ReadString()),
                string.Intern(r.ReadString()), r.ReadString(), r.ReadInt64()));
        }
    }

    private static string? EmptyAsNull(string s) => s.Length == 0 ? null : s;
}

/// <summary>Finds text in a stored event that is not valid Unicode, before the engine reads any of it.</summary>
internal static class EventText
{
    private const int MaxShown = 200;

    /// <summary>
    /// Null when every string and name in <paramref name="payload"/> is valid Unicode; else where the
    /// first invalid one is (a path such as <c>traits.email</c>). Cheap for the common case: one
    /// vectorised UTF-8 check, and a look for <c>\uD8..</c>–<c>\uDF..</c> escapes; only an event that
    /// fails either is walked.
    /// </summary>
    public static string? FindInvalid(byte[] payload)
    {
        if (Utf8.IsValid(payload) && !HasSurrogateEscape(payload))
        {
            return null;
        }

        return Walk(payload);
    }

    private static bool HasSurrogateEscape(ReadOnlySpan<byte> json)
    {
        while (json.IndexOf("\\u"u8) is var at and >= 0)
        {
            json = json[(at + 2)..];
            if (json.Length >= 2 && (json[0] | 0x20) == 'd' && (json[1] | 0x20) is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f'))
            {
                return true;
            }
        }

        return false;
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
