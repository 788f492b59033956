using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Tandem.Text;

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
public sealed partial class SpecParser(CollectLimits limits)
{
    /// <summary>How deep objects and arrays may nest in a body.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        SkipValidation = true,
        // Values are copied raw; names and stamped strings are only escaped where JSON requires it.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Parses a body sent to a single-event route (<paramref name="routeType"/>) or a batch route (null).</summary>
    /// <param name="clientIp">The connection's address, stamped as <c>context.ip</c> when the event has none; null for server-side senders.</param>
    public CollectOutcome Parse(ReadOnlyMemory<byte> body, MessageType? routeType, DateTimeOffset receivedAt, string? clientIp)
    {
        var outcome = new CollectOutcome();
        if (body.Span.StartsWith(ByteOrderMark))
        {
            body = body[ByteOrderMark.Length..]; // Windows tools write one; JSON readers must ignore it (RFC 8259, 8.1)
        }

        if (UnicodeRepair.NeedsRepair(body.Span))
        {
            // What is stored is always valid UTF-8, so that every reader can read everything stored.
            NoteRepairs(body, routeType, outcome);
            body = UnicodeRepair.Repair(body.Span);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            outcome.Error = NestingDepth.Exceeds(body.Span, MaxDepth)
                ? new BodyError("too_deep", "The body nests too deeply",
                    $"Objects and arrays nest more than {MaxDepth} levels deep somewhere in the body; the limit is {MaxDepth}. Flatten the deepest properties.",
                    "body")
                : new BodyError("invalid_json", "The request body is not valid JSON",
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
                StampOne(root, 0, type, new Where(null), batchLevel, receivedAt, clientIp, buffer, writer, outcome);
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
            root.TryGetProperty("sentAt"u8, out var sentAt) && sentAt.ValueKind == JsonValueKind.String && IsoTime.TryParse(sentAt, out var batchSentAt)
                ? batchSentAt
                : null);

        outcome.Accepted.Capacity = count;
        var index = 0;
        foreach (var item in batch.EnumerateArray())
        {
            var where = new Where(index);
            if (item.ValueKind != JsonValueKind.Object)
            {
                Reject(outcome, index, "not_an_object", where.Path(), $"Each event must be a JSON object; got {WithArticle(item.ValueKind)}.", item);
            }
            else if (JsonMarshal.GetRawUtf8Value(item).Length > limits.MaxEventBytes)
            {
                Reject(outcome, index, "event_too_large", where.Path(),
                    $"The event is {JsonMarshal.GetRawUtf8Value(item).Length:N0} bytes; the limit is {limits.MaxEventBytes:N0}. Move large values out of properties.", item);
            }
            else if (item.TryGetProperty("type"u8, out var typeElement) && typeElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                Reject(outcome, index, "wrong_type", where.Path("type"),
                    $"type must be a string, one of identify, track, page, screen, group, alias; got {WithArticle(typeElement.ValueKind)}.", item);
            }
            else if (typeElement.ValueKind != JsonValueKind.String)
            {
                Reject(outcome, index, "missing_type", where.Path("type"),
                    "Each event in a batch needs \"type\": one of identify, track, page, screen, group, alias.", item);
            }
            else if (!MessageTypes.TryParse(typeElement.GetString(), out var type))
            {
                Reject(outcome, index, "unknown_type", where.Path("type"),
                    $"\"{typeElement.GetString()}\" is not a Segment call type; use identify, track, page, screen, group or alias.", item);
            }
            else
            {
                StampOne(item, index, type, where, batchLevel, receivedAt, clientIp, buffer, writer, outcome);
            }

            index++;
        }
    }

    private readonly record struct BatchLevel(JsonElement Context, JsonElement Integrations, DateTimeOffset? SentAt);

    /// <summary>Where an event sits in the request, turned into text only when something is refused.</summary>
    private readonly record struct Where(int? BatchIndex)
    {
        public string Path(string? member = null)
        {
            var root = BatchIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $"batch[{i}]") : "body";
            return member is null ? root : root + "." + member;
        }
    }

    /// <summary>The Spec fields of one event, found in a single pass over its members.</summary>
    private struct Fields
    {
        public JsonElement MessageId, Event, UserId, AnonymousId, GroupId, PreviousId, Context, Integrations, Properties, Traits,
            Timestamp, OriginalTimestamp, SentAt;
    }

    private enum Field
    {
        None, Stamped, MessageId, Event, UserId, AnonymousId, GroupId, PreviousId, Context, Integrations, Properties, Traits,
        Timestamp, OriginalTimestamp, SentAt,
    }

    /// <summary>Classifies a member by its raw UTF-8 name; <see cref="Field.None"/> members are copied through unchanged.</summary>
    private static Field Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 when name.SequenceEqual("type"u8) => Field.Stamped,
        5 when name.SequenceEqual("event"u8) => Field.Event,
        6 when name.SequenceEqual("userId"u8) => Field.UserId,
        6 when name.SequenceEqual("traits"u8) => Field.Traits,
        6 when name.SequenceEqual("sentAt"u8) => Field.SentAt,
        7 when name.SequenceEqual("groupId"u8) => Field.GroupId,
        7 when name.SequenceEqual("context"u8) => Field.Context,
        8 when name.SequenceEqual("writeKey"u8) => Field.Stamped,
        9 when name.SequenceEqual("messageId"u8) => Field.MessageId,
        9 when name.SequenceEqual("timestamp"u8) => Field.Timestamp,
        10 when name.SequenceEqual("previousId"u8) => Field.PreviousId,
        10 when name.SequenceEqual("properties"u8) => Field.Properties,
        10 when name.SequenceEqual("receivedAt"u8) => Field.Stamped,
        11 when name.SequenceEqual("anonymousId"u8) => Field.AnonymousId,
        12 when name.SequenceEqual("integrations"u8) => Field.Integrations,
        17 when name.SequenceEqual("originalTimestamp"u8) => Field.OriginalTimestamp,
        _ => Field.None,
    };

    private static void StampOne(JsonElement e, int index, MessageType type, Where where, BatchLevel batchLevel,
        DateTimeOffset receivedAt, string? clientIp, ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer, CollectOutcome outcome)
    {
        var f = default(Fields);
        foreach (var p in e.EnumerateObject())
        {
            switch (Classify(JsonMarshal.GetRawUtf8PropertyName(p)))
            {
                case Field.MessageId: f.MessageId = p.Value; break;
                case Field.Event: f.Event = p.Value; break;
                case Field.UserId: f.UserId = p.Value; break;
                case Field.AnonymousId: f.AnonymousId = p.Value; break;
                case Field.GroupId: f.GroupId = p.Value; break;
                case Field.PreviousId: f.PreviousId = p.Value; break;
                case Field.Context: f.Context = p.Value; break;
                case Field.Integrations: f.Integrations = p.Value; break;
                case Field.Properties: f.Properties = p.Value; break;
                case Field.Traits: f.Traits = p.Value; break;
                case Field.Timestamp: f.Timestamp = p.Value; break;
                case Field.OriginalTimestamp: f.OriginalTimestamp = p.Value; break;
                case Field.SentAt: f.SentAt = p.Value; break;
                default: break;
            }
        }

        if (!CheckId(f.UserId, "userId", where, out var problem)
            || !CheckId(f.AnonymousId, "anonymousId", where, out problem)
            || !CheckId(f.GroupId, "groupId", where, out problem)
            || !CheckId(f.PreviousId, "previousId", where, out problem)
            || !CheckObject(f.Context, "context", where, out problem)
            || !CheckObject(f.Integrations, "integrations", where, out problem)
            || !CheckObject(f.Properties, "properties", where, out problem)
            || !CheckObject(f.Traits, "traits", where, out problem)
            || !TryReadTime(f.Timestamp, "timestamp", where, out var timestamp, out problem)
            || !TryReadTime(f.OriginalTimestamp, "originalTimestamp", where, out var originalTimestamp, out problem)
            || !TryReadTime(f.SentAt, "sentAt", where, out var sentAt, out problem))
        {
            Reject(outcome, index, problem!.Value.Reason, problem.Value.Field, problem.Value.Detail, e);
            return;
        }

        sentAt ??= batchLevel.SentAt;
        var hasUserId = HasId(f.UserId);
        string? missing = type switch
        {
            MessageType.Alias when !HasId(f.PreviousId) => "previousId",
            MessageType.Alias when !hasUserId => "userId",
            MessageType.Group when !HasId(f.GroupId) => "groupId",
            _ => null,
        };
        if (missing is not null)
        {
            Reject(outcome, index, "missing_" + ToSnake(missing), where.Path(missing),
                $"An alias call needs both previousId and userId; a group call needs groupId. Add \"{missing}\".", e);
            return;
        }

        if (!hasUserId && !HasId(f.AnonymousId))
        {
            Reject(outcome, index, "missing_identity", where.Path(),
                "Every event needs a userId or an anonymousId (a non-empty string). Set one of them.", e);
            return;
        }

        if (type == MessageType.Track && f.Event.ValueKind is not (JsonValueKind.String or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            Reject(outcome, index, "wrong_type", where.Path("event"),
                $"event must be a string, the name of the action (e.g. \"Order Completed\"); got {WithArticle(f.Event.ValueKind)}.", e);
            return;
        }

        if (type == MessageType.Track && (f.Event.ValueKind != JsonValueKind.String || IsBlank(f.Event)))
        {
            Reject(outcome, index, "missing_event", where.Path("event"),
                "A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".", e);
            return;
        }

        var messageId = f.MessageId.ValueKind == JsonValueKind.String && f.MessageId.GetString() is { Length: > 0 } given
            ? outcome.MessageIdSuffixes?.GetValueOrDefault(index) is { } suffix ? given + suffix : given
            : MessageIds.Next();

        var original = originalTimestamp ?? timestamp;
        var corrected = ClientTime.Corrected(original, sentAt, receivedAt);
        if (corrected is null)
        {
            outcome.Repairs.Add(new Repair(index, "timestamp_out_of_range", where.Path(originalTimestamp is null ? "timestamp" : "originalTimestamp"),
                ClientTime.OutOfRangeDetail));
        }

        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        foreach (var p in e.EnumerateObject())
        {
            var field = Classify(JsonMarshal.GetRawUtf8PropertyName(p));
            if (field is Field.None or Field.Properties or Field.Traits || (field == Field.Event && type != MessageType.Track))
            {
                WriteMember(writer, p);
            }
        }

        writer.WriteString("type"u8, type.Name());
        writer.WriteString("messageId"u8, messageId);
        if (type == MessageType.Track)
        {
            WriteRaw(writer, "event"u8, f.Event);
        }

        WriteId(writer, "userId"u8, f.UserId);
        WriteId(writer, "anonymousId"u8, f.AnonymousId);
        WriteId(writer, "groupId"u8, f.GroupId);
        WriteId(writer, "previousId"u8, f.PreviousId);
        WriteMerged(writer, "context"u8, batchLevel.Context, f.Context, clientIp);
        if (batchLevel.Integrations.ValueKind == JsonValueKind.Object || f.Integrations.ValueKind == JsonValueKind.Object)
        {
            WriteMerged(writer, "integrations"u8, batchLevel.Integrations, f.Integrations, null);
        }

        if (original is { } ot)
        {
            WriteTime(writer, "originalTimestamp"u8, ot);
        }

        if (sentAt is { } st)
        {
            WriteTime(writer, "sentAt"u8, st);
        }

        WriteTime(writer, "timestamp"u8, corrected ?? receivedAt);
        WriteTime(writer, "receivedAt"u8, receivedAt);
        writer.WriteEndObject();
        writer.Flush();

        outcome.Accepted.Add(new StampedMessage(index, type, messageId, buffer.WrittenSpan.ToArray()));
    }

    private readonly record struct Problem(string Reason, string Field, string Detail);

    /// <summary>An identifier is a non-empty string or a number; absent and null mean not given.</summary>
    private static bool HasId(JsonElement v) =>
        v.ValueKind == JsonValueKind.Number || (v.ValueKind == JsonValueKind.String && JsonMarshal.GetRawUtf8Value(v).Length > 2);

    /// <summary>The length of a string's text in UTF-8: its raw length less the quotes, unless escapes make it differ.</summary>
    private static int TextBytes(JsonElement text, ReadOnlySpan<byte> raw) =>
        raw.Contains((byte)'\\') ? Encoding.UTF8.GetByteCount(text.GetString()!) : raw.Length - 2;

    /// <summary>True for a string of nothing but whitespace, escaped (<c>"\u00a0"</c>) or not.</summary>
    private static bool IsBlank(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text);
        if (raw.Contains((byte)'\\') || !Ascii.IsValid(raw))
        {
            return string.IsNullOrWhiteSpace(text.GetString()); // rare; the body is valid Unicode by now, so this cannot throw
        }

        foreach (var b in raw)
        {
            if (b is not ((byte)'"' or (byte)' ' or (byte)'\t'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool CheckId(JsonElement v, string name, Where where, out Problem? problem)
    {
        var raw = v.ValueKind == JsonValueKind.String ? JsonMarshal.GetRawUtf8Value(v) : default;
        problem = v.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Number => null,
            // "" means not given, as null does; "  " is a bug in the sender that would file the event under nobody.
            JsonValueKind.String when HasId(v) && IsBlank(v) => new Problem("blank_identifier", where.Path(name),
                $"{name} holds only whitespace. Send the identifier itself, or leave {name} out."),
            // Identifiers travel in URL paths (/v1/profiles/user_id:…), which servers cap at a few KB.
            JsonValueKind.String when TextBytes(v, raw) > Unify.IdentityRules.MaxIdentifierBytes => new Problem("identifier_too_long", where.Path(name),
                $"{name} is {TextBytes(v, raw):N0} bytes of UTF-8; an identifier is at most {Unify.IdentityRules.MaxIdentifierBytes:N0}. Send an id, not a document."),
            // Raw control characters cannot appear in a JSON string, so only escaped text can hold one.
            JsonValueKind.String when raw.Contains((byte)'\\') && !Unify.IdentityRules.Addressable(v.GetString()!) => new Problem("invalid_identifier",
                where.Path(name), $"{name} holds a control character (U+0000–U+001F, such as a NUL or a line break), which no identifier has and no URL path can carry. Send the identifier without it."),
            JsonValueKind.String => null,
            _ => new Problem("wrong_type", where.Path(name), $"{name} must be a string (or a number); got {WithArticle(v.ValueKind)}."),
        };
        return problem is null;
    }

    private static bool CheckObject(JsonElement v, string name, Where where, out Problem? problem)
    {
        problem = v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object
            ? null
            : new Problem("wrong_type", where.Path(name), $"{name} must be a JSON object; got {WithArticle(v.ValueKind)}.");
        return problem is null;
    }

    private static bool TryReadTime(JsonElement v, string name, Where where, out DateTimeOffset? value, out Problem? problem)
    {
        value = null;
        problem = null;
        if (v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind == JsonValueKind.String && IsoTime.TryParse(v, out var parsed))
        {
            value = parsed;
            return true;
        }

        problem = new Problem("invalid_timestamp", where.Path(name),
            $"{name} must be an ISO-8601 date-time string such as \"2026-11-23T10:15:00.000Z\"; got {Truncate(v.GetRawText())}.");
        return false;
    }

    private static JsonElement ObjectOrDefault(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : default;

    private static void Reject(CollectOutcome outcome, int index, string reason, string field, string detail, JsonElement item) =>
        outcome.Rejected.Add(new Rejection(index, reason, field, detail, JsonMarshal.GetRawUtf8Value(item).ToArray()));

    /// <summary>The kind as a refusal says what it got: "got an array", "got null".</summary>
    private static string WithArticle(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array or JsonValueKind.Object => "an " + Describe(kind),
        JsonValueKind.Null => "null",
        _ => "a " + Describe(kind),
    };

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
