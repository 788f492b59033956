using System.Runtime.InteropServices;
using System.Text.Json;
using Tandem.Text;

namespace Tandem.Collect;

/// <summary>How the parser tells the sender which events held text that was not valid Unicode.</summary>
public sealed partial class SpecParser
{
    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private const string UnicodeDetail =
        "Text in this event was not valid Unicode (invalid UTF-8 bytes, or a \\uD800–\\uDFFF escape without its pair); each bad sequence was stored as U+FFFD (�). " +
        "Encode text as UTF-8, and do not cut strings in the middle of an emoji.";

    /// <summary>
    /// Finds the events of a body that needs repair, before it is repaired. System.Text.Json reads
    /// such text without complaint (it throws only when a string is read), so the body parses as sent.
    /// </summary>
    private static void NoteRepairs(ReadOnlyMemory<byte> body, MessageType? routeType, CollectOutcome outcome)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException)
        {
            return; // refused as a whole after the repair, with its sample repaired too
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (routeType is not null)
            {
                outcome.Repairs.Add(new Repair(0, "invalid_unicode", "body", UnicodeDetail));
                NoteMessageId(root, 0, outcome);
                return;
            }

            if (!root.TryGetProperty("batch"u8, out var batch) || batch.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            // Batch-level context and integrations are copied into every event.
            var everyEvent = NeedsRepair(root, "context"u8) || NeedsRepair(root, "integrations"u8);
            var index = 0;
            foreach (var item in batch.EnumerateArray())
            {
                if (everyEvent || UnicodeRepair.NeedsRepair(JsonMarshal.GetRawUtf8Value(item)))
                {
                    outcome.Repairs.Add(new Repair(index, "invalid_unicode", new Where(index).Path(), UnicodeDetail));
                    NoteMessageId(item, index, outcome);
                }

                index++;
            }
        }
    }

    /// <summary>
    /// A retry sends the same broken bytes, and must still be a duplicate; two different broken ids must
    /// not become one, or the second event would be dropped as a retry of the first. So a repaired
    /// messageId carries a hash of what was sent.
    /// </summary>
    private static void NoteMessageId(JsonElement e, int index, CollectOutcome outcome)
    {
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("messageId"u8, out var id) && id.ValueKind == JsonValueKind.String
            && UnicodeRepair.NeedsRepair(JsonMarshal.GetRawUtf8Value(id)))
        {
            var hash = System.IO.Hashing.XxHash64.HashToUInt64(JsonMarshal.GetRawUtf8Value(id));
            (outcome.MessageIdSuffixes ??= [])[index] = "~" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static bool NeedsRepair(JsonElement root, ReadOnlySpan<byte> member) =>
        root.TryGetProperty(member, out var value) && UnicodeRepair.NeedsRepair(JsonMarshal.GetRawUtf8Value(value));
}
