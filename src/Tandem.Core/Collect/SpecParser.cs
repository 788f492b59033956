using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Tandem.Collect;

/// <summary>
/// Turns a collector request body into stamped Segment Spec messages: validates each event for its
/// call type, merges batch-level <c>context</c> and <c>integrations</c>, and stamps
/// <c>receivedAt</c>, <c>messageId</c> and the skew-corrected <c>timestamp</c>.
/// </summary>
/// <remarks>
/// One pass over a pooled <see cref="JsonDocument"/> and one <see cref="Utf8JsonWriter"/> per body:
/// unknown fields are copied as raw JSON, never re-materialised as objects.
/// </remarks>
public sealed class SpecParser(CollectLimits limits)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Parses a body sent to a single-event route (<paramref name="routeType"/>) or a batch route (null).</summary>
    /// <param name="clientIp">The connection's address, stamped as <c>context.ip</c> when the event has none; null for server-side senders.</param>
    public CollectOutcome Parse(ReadOnlyMemory<byte> body, MessageType? routeType, DateTimeOffset receivedAt, string? clientIp)
    {
        var outcome = new CollectOutcome();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            outcome.Error = new BodyError("invalid_json", "The request body is not valid JSON",
                $"JSON parse error at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}: {FirstSentence(ex.Message)} Send a UTF-8 JSON object.",
                "body");
            return outcome;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                outcome.Error = new BodyError("not_an_object", "The request body must be a JSON object",
                    $"Got a JSON {Describe(root.ValueKind)}. Send one event as an object, or {{\"batch\":[...]}} to /v1/batch.", "body");
                return outcome;
            }

            if (root.TryGetProperty("writeKey", out var key) && key.ValueKind == JsonValueKind.String)
            {
                outcome.BodyWriteKey = key.GetString();
            }

            var buffer = new ArrayBufferWriter<byte>(1024);
            using var writer = new Utf8JsonWriter(buffer, WriterOptions);
            if (routeType is { } type)
            {
                if (body.Length > limits.MaxEventBytes)
                {
                    outcome.Error = new BodyError("event_too_large", "The event is larger than 32 KB",
                        $"The event is {body.Length:N0} bytes; the limit is {limits.MaxEventBytes:N0}. Move large values out of properties.", "body");
                    return outcome;
                }

                var batchLevel = new BatchLevel(default, default, null);
                StampOne(root, 0, type, "body", batchLevel, receivedAt, clientIp, buffer, writer, outcome);
                return outcome;
            }

            ParseBatch(root, receivedAt, clientIp, buffer, writer, outcome);
        }

        return outcome;
    }

    private void ParseBatch(JsonElement root, DateTimeOffset receivedAt, string? clientIp,
        ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer, CollectOutcome outcome)
    {
        if (!root.TryGetProperty("batch", out var batch))
        {
            outcome.Error = new BodyError("missing_batch", "The body has no batch array",
                "A batch call needs {\"batch\":[event, ...]}. To send one event, POST it to /v1/track, /v1/identify and so on.", "batch");
            return;
        }

        if (batch.ValueKind != JsonValueKind.Array)
        {
            outcome.Error = new BodyError("wrong_type", "batch must be an array",
                $"batch is a JSON {Describe(batch.ValueKind)}; send an array of events.", "batch");
            return;
        }

        var count = batch.GetArrayLength();
        if (count == 0)
        {
            outcome.Error = new BodyError("empty_batch", "The batch is empty",
                "batch holds no events. Send at least one event, or do not send the request.", "batch");
            return;
        }

        if (count > limits.MaxBatchEvents)
        {
            outcome.Error = new BodyError("too_many_events", $"The batch has more than {limits.MaxBatchEvents:N0} events",
                $"batch holds {count:N0} events; the limit is {limits.MaxBatchEvents:N0}. Split it into several requests.", "batch");
            return;
        }

        var batchLevel = new BatchLevel(
            ObjectOrDefault(root, "context"),
            ObjectOrDefault(root, "integrations"),
            root.TryGetProperty("sentAt", out var sentAt) && sentAt.ValueKind == JsonValueKind.String ? sentAt.GetString() : null);

        var index = 0;
        foreach (var item in batch.EnumerateArray())
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"batch[{index}]");
            if (item.ValueKind != JsonValueKind.Object)
            {
                Reject(outcome, index, "not_an_object", field, $"Each event must be a JSON object; got a {Describe(item.ValueKind)}.", item);
            }
            else if (JsonMarshal.GetRawUtf8Value(item).Length > limits.MaxEventBytes)
            {
                Reject(outcome, index, "event_too_large", field,
                    $"The event is {JsonMarshal.GetRawUtf8Value(item).Length:N0} bytes; the limit is {limits.MaxEventBytes:N0}. Move large values out of properties.", item);
            }
            else if (!item.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                Reject(outcome, index, "missing_type", field + ".type",
                    "Each event in a batch needs \"type\": one of identify, track, page, screen, group, alias.", item);
            }
            else if (!MessageTypes.TryParse(typeElement.GetString(), out var type))
            {
                Reject(outcome, index, "unknown_type", field + ".type",
                    $"\"{typeElement.GetString()}\" is not a Segment call type; use identify, track, page, screen, group or alias.", item);
            }
            else
            {
                StampOne(item, index, type, field, batchLevel, receivedAt, clientIp, buffer, writer, outcome);
            }

            index++;
        }
    }

    private readonly record struct BatchLevel(JsonElement Context, JsonElement Integrations, string? SentAt);

    private static void StampOne(JsonElement e, int index, MessageType type, string field, BatchLevel batchLevel,
        DateTimeOffset receivedAt, string? clientIp, ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer, CollectOutcome outcome)
    {
        if (!TryReadId(e, "userId", field, out var userId, out var problem)
            || !TryReadId(e, "anonymousId", field, out var anonymousId, out problem)
            || !TryReadId(e, "groupId", field, out var groupId, out problem)
            || !TryReadId(e, "previousId", field, out var previousId, out problem)
            || !TryReadObject(e, "context", field, out var context, out problem)
            || !TryReadObject(e, "integrations", field, out var integrations, out problem)
            || !TryReadObject(e, "properties", field, out _, out problem)
            || !TryReadObject(e, "traits", field, out _, out problem)
            || !TryReadTime(e, "timestamp", field, out var timestamp, out problem)
            || !TryReadTime(e, "originalTimestamp", field, out var originalTimestamp, out problem)
            || !TryReadTime(e, "sentAt", field, out var sentAt, out problem))
        {
            Reject(outcome, index, problem!.Value.Reason, problem.Value.Field, problem.Value.Detail, e);
            return;
        }

        if (sentAt is null && batchLevel.SentAt is not null && TryParseTime(batchLevel.SentAt, out var batchSentAt))
        {
            sentAt = batchSentAt;
        }

        string? missing = type switch
        {
            MessageType.Alias when previousId is null => "previousId",
            MessageType.Alias when userId is null => "userId",
            MessageType.Group when groupId is null => "groupId",
            _ => null,
        };
        if (missing is not null)
        {
            Reject(outcome, index, "missing_" + ToSnake(missing), $"{field}.{missing}",
                $"An alias call needs both previousId and userId; a group call needs groupId. Add \"{missing}\".", e);
            return;
        }

        if (userId is null && anonymousId is null)
        {
            Reject(outcome, index, "missing_identity", field,
                "Every event needs a userId or an anonymousId (a non-empty string). Set one of them.", e);
            return;
        }

        string? eventName = null;
        if (type == MessageType.Track)
        {
            if (!e.TryGetProperty("event", out var ev) || ev.ValueKind != JsonValueKind.String || ev.GetString()!.Trim().Length == 0)
            {
                Reject(outcome, index, "missing_event", field + ".event",
                    "A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".", e);
                return;
            }

            eventName = ev.GetString();
        }

        var messageId = e.TryGetProperty("messageId", out var mid) && mid.ValueKind == JsonValueKind.String && mid.GetString() is { Length: > 0 } given
            ? given
            : "tdm-" + Guid.CreateVersion7(receivedAt).ToString("N");

        var original = originalTimestamp ?? timestamp;
        var corrected = original is { } o && sentAt is { } s ? receivedAt - (s - o) : original ?? receivedAt;

        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        foreach (var p in e.EnumerateObject())
        {
            if (!IsStamped(p.Name))
            {
                p.WriteTo(writer);
            }
        }

        writer.WriteString("type"u8, type.Name());
        writer.WriteString("messageId"u8, messageId);
        if (eventName is not null)
        {
            writer.WriteString("event"u8, eventName);
        }

        WriteIfSet(writer, "userId"u8, userId);
        WriteIfSet(writer, "anonymousId"u8, anonymousId);
        WriteIfSet(writer, "groupId"u8, groupId);
        WriteIfSet(writer, "previousId"u8, previousId);
        WriteMerged(writer, "context"u8, batchLevel.Context, context, clientIp);
        if (batchLevel.Integrations.ValueKind == JsonValueKind.Object || integrations.ValueKind == JsonValueKind.Object)
        {
            WriteMerged(writer, "integrations"u8, batchLevel.Integrations, integrations, null);
        }

        if (original is { } ot)
        {
            WriteTime(writer, "originalTimestamp"u8, ot);
        }

        if (sentAt is { } st)
        {
            WriteTime(writer, "sentAt"u8, st);
        }

        WriteTime(writer, "timestamp"u8, corrected);
        WriteTime(writer, "receivedAt"u8, receivedAt);
        writer.WriteEndObject();
        writer.Flush();

        outcome.Accepted.Add(new StampedMessage(index, type, messageId, buffer.WrittenSpan.ToArray()));
    }

    private static bool IsStamped(string name) => name switch
    {
        "type" or "messageId" or "event" or "userId" or "anonymousId" or "groupId" or "previousId" or "context"
            or "integrations" or "timestamp" or "originalTimestamp" or "sentAt" or "receivedAt" or "writeKey" => true,
        _ => false,
    };

    private readonly record struct Problem(string Reason, string Field, string Detail);

    /// <summary>Identifiers may be strings or numbers (stored as strings); null or absent means not given.</summary>
    private static bool TryReadId(JsonElement e, string name, string field, out string? value, out Problem? problem)
    {
        value = null;
        problem = null;
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                var s = v.GetString()!;
                value = s.Length == 0 ? null : s;
                return true;
            case JsonValueKind.Number:
                value = v.GetRawText();
                return true;
            default:
                problem = new Problem("wrong_type", $"{field}.{name}", $"{name} must be a string (or a number); got a {Describe(v.ValueKind)}.");
                return false;
        }
    }

    private static bool TryReadObject(JsonElement e, string name, string field, out JsonElement value, out Problem? problem)
    {
        value = default;
        problem = null;
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            problem = new Problem("wrong_type", $"{field}.{name}", $"{name} must be a JSON object; got a {Describe(v.ValueKind)}.");
            return false;
        }

        value = v;
        return true;
    }

    private static bool TryReadTime(JsonElement e, string name, string field, out DateTimeOffset? value, out Problem? problem)
    {
        value = null;
        problem = null;
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind == JsonValueKind.String && TryParseTime(v.GetString()!, out var parsed))
        {
            value = parsed;
            return true;
        }

        problem = new Problem("invalid_timestamp", $"{field}.{name}",
            $"{name} must be an ISO-8601 date-time string such as \"2026-11-23T10:15:00.000Z\"; got {Truncate(v.GetRawText())}.");
        return false;
    }

    private static bool TryParseTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static JsonElement ObjectOrDefault(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : default;

    /// <summary>Writes batch-level members the event does not override, then the event's own; adds <c>ip</c> when asked and absent.</summary>
    private static void WriteMerged(Utf8JsonWriter writer, ReadOnlySpan<byte> name, JsonElement batchLevel, JsonElement own, string? ip)
    {
        writer.WritePropertyName(name);
        writer.WriteStartObject();
        var hasIp = false;
        if (batchLevel.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in batchLevel.EnumerateObject())
            {
                if (own.ValueKind != JsonValueKind.Object || !own.TryGetProperty(p.Name, out _))
                {
                    hasIp |= p.NameEquals("ip"u8);
                    p.WriteTo(writer);
                }
            }
        }

        if (own.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in own.EnumerateObject())
            {
                hasIp |= p.NameEquals("ip"u8);
                p.WriteTo(writer);
            }
        }

        if (ip is not null && !hasIp)
        {
            writer.WriteString("ip"u8, ip);
        }

        writer.WriteEndObject();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    internal static void WriteTime(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DateTimeOffset value)
    {
        Span<char> text = stackalloc char[32];
        value.UtcDateTime.TryFormat(text, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(name, text[..written]);
    }

    private static void Reject(CollectOutcome outcome, int index, string reason, string field, string detail, JsonElement item) =>
        outcome.Rejected.Add(new Rejection(index, reason, field, detail, JsonMarshal.GetRawUtf8Value(item).ToArray()));

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "object",
        _ => "value",
    };

    private static string ToSnake(string camel) => camel switch
    {
        "previousId" => "previous_id",
        "userId" => "user_id",
        "groupId" => "group_id",
        _ => camel,
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static string FirstSentence(string message)
    {
        var dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot < 0 ? message : message[..(dot + 1)];
    }
}
