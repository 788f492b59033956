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
                }

                index++;
            }
        }
    }

    private static bool NeedsRepair(JsonElement root, ReadOnlySpan<byte> member) =>
        root.TryGetProperty(member, out var value) && UnicodeRepair.NeedsRepair(JsonMarshal.GetRawUtf8Value(value));
}
