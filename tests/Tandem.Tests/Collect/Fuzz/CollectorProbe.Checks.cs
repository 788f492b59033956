using System.Globalization;
using System.Text.Json;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>The checks that need only the case, the answer and what the feeds returned.</summary>
public sealed partial class CollectorProbe
{
    private static readonly DateTimeOffset Epoch = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A refused field's "missing_…" reason, and the field it names.</summary>
    private static readonly Dictionary<string, string> MissingField = new(StringComparer.Ordinal)
    {
        ["missing_event"] = "event",
        ["missing_group_id"] = "groupId",
        ["missing_previous_id"] = "previousId",
        ["missing_user_id"] = "userId",
        ["missing_type"] = "type",
    };

    private static bool Sane(DateTimeOffset time, DateTimeOffset latest) => time >= Epoch && time <= latest;

    private static void CheckAcknowledged(CollectCase c, string tag, long number, JsonElement answer, List<(int? Index, string Reason)> refused,
        List<StoredEvent> stored, Action<Invariant, string, string> fail)
    {
        var acknowledged = answer.TryGetProperty("accepted", out var a) && a.TryGetInt32(out var n) ? n : -1;
        var deduplicated = answer.TryGetProperty("deduplicated", out var d) && d.TryGetInt32(out var m) ? m : 0;
        if (acknowledged != stored.Count)
        {
            fail(Invariant.BatchKeepsTheValidEvents, "accepted count differs from what is stored", $"answer says accepted {acknowledged}, the feed holds {stored.Count}");
        }

        if (c.EventCount is not { } count)
        {
            return;
        }

        var indexes = refused.Select(r => r.Index).ToList();
        if (indexes.Any(i => i is null || i < 0 || i >= count) || indexes.Distinct().Count() != indexes.Count)
        {
            fail(Invariant.BatchKeepsTheValidEvents, "rejected indexes are not distinct events of the batch", $"{count} events, rejected [{string.Join(",", indexes)}]");
            return;
        }

        var kept = Enumerable.Range(0, count).Where(i => !indexes.Contains(i)).ToList();
        if (kept.Count - deduplicated != stored.Count)
        {
            fail(Invariant.BatchKeepsTheValidEvents, "an event neither refused nor stored",
                $"{count} sent, {indexes.Count} refused, {deduplicated} deduplicated, {stored.Count} stored");
            return;
        }

        for (var i = 0; i < kept.Count && deduplicated == 0; i++)
        {
            var sent = c.Events[c.IsBatch ? kept[i] : 0].PlainText("messageId", tag, kept[i], number * 10_000 + kept[i]);
            if (sent is not null && sent != stored[i].MessageId)
            {
                fail(Invariant.BatchKeepsTheValidEvents, "a stored event is not the one sent",
                    $"event {kept[i]} was sent with messageId {sent}; in its place the feed holds {stored[i].MessageId ?? "(unreadable)"}");
            }
        }
    }

    private static void CheckRefusals(ReadBack answer, List<(int? Index, string Reason)> refused, ReadBack? rejections, Action<Invariant, string, string> fail)
    {
        if (answer.IsServerError || rejections?.Json is not { ValueKind: JsonValueKind.Object } page
            || !page.TryGetProperty("rejections", out var rows) || rows.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var expected = refused;
        if (answer.Status is 400 or 413 && expected.Count == 0 && ReadBack.StringOf(answer.Json ?? default, "reason") is { } reason)
        {
            expected = [(null, reason)];
        }

        if (answer.Status is 401 or 429)
        {
            expected = [];
        }

        var kept = rows.EnumerateArray()
            .Select(r => (Index: r.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : (int?)null, Reason: ReadBack.StringOf(r, "reason") ?? "?"))
            .ToList();
        string Key((int? Index, string Reason) r) => $"{r.Index?.ToString(CultureInfo.InvariantCulture) ?? "body"}:{r.Reason}";
        var want = expected.Select(Key).Order(StringComparer.Ordinal).ToList();
        var have = kept.Select(Key).Order(StringComparer.Ordinal).ToList();
        if (!want.SequenceEqual(have))
        {
            fail(Invariant.RefusalsAreKept, "refusals differ from the answer", $"answer {answer.Status} refused [{string.Join(", ", want)}]; rejections hold [{string.Join(", ", have)}]");
        }
    }

    private static void CheckReasons(CollectCase c, ReadBack answer, List<(int? Index, string Reason)> refused, Action<Invariant, string, string> fail)
    {
        var reason = answer.Json is { ValueKind: JsonValueKind.Object } json ? ReadBack.StringOf(json, "reason") : null;
        // .NET writes nothing at all for an empty body compressed, so a cut of it is an empty body, not a broken stream.
        var emptyBody = answer.Summary.Contains("does not contain any JSON tokens", StringComparison.Ordinal);
        if (answer.Status == 400 && reason == "invalid_json" && c.Encoding == BodyEncoding.TruncatedGzip && !emptyBody)
        {
            fail(Invariant.ReasonsArePrecise, "a cut gzip body reported as invalid_json", answer.Summary);
        }

        if (answer.Status == 400 && reason == "invalid_json" && c.Depth > 64 && c.Encoding != BodyEncoding.TruncatedGzip)
        {
            fail(Invariant.ReasonsArePrecise, "nesting past the limit reported as invalid_json", $"depth {c.Depth}: {answer.Summary}");
        }

        foreach (var (index, why) in refused)
        {
            if (!MissingField.TryGetValue(why, out var name) || c.EventCount is null || index is not { } i || i >= c.Events.Count)
            {
                continue;
            }

            var field = c.Events[c.IsBatch ? i : 0].Fields.LastOrDefault(f => f.Name == "\"" + name + "\"");
            var first = field is null || field.Value.Length == 0 ? (byte)0 : field.Value[0];
            var wrongType = first is (byte)'{' or (byte)'[' or (byte)'t' or (byte)'f' || (name is "event" or "type" && first is (byte)'-' or (>= (byte)'0' and <= (byte)'9'));
            if (wrongType)
            {
                fail(Invariant.ReasonsArePrecise, $"a value of the wrong type reported as {why}", $"event {i}: {name} is {HostileJson.Printable(field!.Value)}");
            }
        }
    }

    private static void CheckTimestamps(List<StoredEvent> stored, Action<Invariant, string, string> fail)
    {
        foreach (var e in stored)
        {
            if (e.ReceivedAt is { } received && e.Timestamp is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, out var time) && !Sane(time, received.AddDays(1)))
            {
                fail(Invariant.TimestampsAreSane, "stored timestamp outside 1970 to a day after receipt", $"seq {e.Seq}: timestamp {text}, receivedAt {received:O}");
            }
        }
    }

    /// <summary>The events a 200 did not refuse whose messageId and ids were plain text: what the Profile API must show, told from the request alone.</summary>
    private static List<StoredEvent> SentAndNotRefused(CollectCase c, string tag, long number, List<(int? Index, string Reason)> refused)
    {
        if (c.EventCount is not { } count)
        {
            return [];
        }

        var followed = new List<StoredEvent>();
        for (var i = 0; i < count; i++)
        {
            if (refused.Any(r => r.Index == i))
            {
                continue;
            }

            var e = c.Events[c.IsBatch ? i : 0];
            var at = number * 10_000 + i;
            var ids = new[] { ("userId", "user_id"), ("anonymousId", "anonymous_id") }
                .Select(f => e.PlainText(f.Item1, tag, i, at) is { } value ? f.Item2 + ":" + value : null)
                .OfType<string>().ToList();
            if (e.PlainText("messageId", tag, i, at) is { } messageId && ids.Count > 0)
            {
                followed.Add(new StoredEvent(-1, e.Kind, messageId, ids));
            }
        }

        return followed;
    }
}
