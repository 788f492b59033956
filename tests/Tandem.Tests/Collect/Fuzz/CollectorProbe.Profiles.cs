using System.Globalization;
using System.Text.Json;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>Where acknowledged events must end: in their customer's profile, or in the processor's not-applied list.</summary>
public sealed partial class CollectorProbe
{
    private async Task CheckProfilesAsync(List<StoredEvent> stored, DateTimeOffset? latestSane, Action<Invariant, string, string> fail)
    {
        if (!_processorStalled && !await caughtUp(TimeSpan.FromSeconds(10)))
        {
            _processorStalled = true;
            fail(Invariant.AcknowledgedReachesProfiles, "processor did not catch up", "the profile processor did not reach the log head within 10 s; later cases skip this check");
        }

        var processor = await ReadAsync("/api/v1/processor", "processor", fail);
        if (processor?.Json is { } state && ReadBack.StringOf(state, "fault") is { } fault)
        {
            fail(Invariant.AcknowledgedReachesProfiles, "processor reports a fault", fault);
        }

        var notApplied = await ReadAsync("/api/v1/processor/not-applied?limit=1000", "not-applied list", fail);
        var listed = notApplied is { Status: 200, Json: { } list } ? Listed(list) : [];
        var profiles = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal);
        // An event whose identifiers cannot be read is StoredIsValidUtf8's finding: no profile can be asked for it.
        foreach (var e in stored.Where(e => e.Identifiers.Count > 0).Take(MaxEventsFollowed))
        {
            if (_processorStalled)
            {
                return;
            }

            var found = false;
            var unknown = false;
            foreach (var identifier in e.Identifiers)
            {
                if (!profiles.TryGetValue(identifier, out var messageIds))
                {
                    messageIds = await ProfileEventsAsync(identifier, latestSane, fail);
                    profiles[identifier] = messageIds;
                }

                found |= e.MessageId is not null && messageIds is not null && messageIds.Contains(e.MessageId);
                unknown |= ReferenceEquals(messageIds, Unknown);
            }

            if (!found && unknown)
            {
                continue; // the Profile API could not be read: ReadsNeverFail says so, nothing more can be told
            }

            var seq = e.Seq.ToString(CultureInfo.InvariantCulture);
            if (!found && !listed.Contains(seq) && !(e.MessageId is not null && listed.Contains(e.MessageId)))
            {
                fail(Invariant.AcknowledgedReachesProfiles, "stored event in no profile and not listed as not applied",
                    $"seq {seq} ({e.Type}, messageId {e.MessageId ?? "(unreadable)"}) is not in the events of [{string.Join(", ", e.Identifiers)}] nor at /api/v1/processor/not-applied ({notApplied?.Status})");
            }
        }
    }

    private static readonly HashSet<string> Unknown = [];

    /// <summary>The messageIds of a customer's events through the Profile API (and a read of every other section); null when there is no such profile, <see cref="Unknown"/> when it could not be read.</summary>
    private async Task<HashSet<string>?> ProfileEventsAsync(string identifier, DateTimeOffset? latestSane, Action<Invariant, string, string> fail)
    {
        if (identifier.Any(char.IsControl))
        {
            // Kestrel answers 400, with no body, to a path holding a control character, before Tandem
            // sees the request: such a customer cannot be asked for by that identifier at all.
            return Unknown;
        }

        var path = "/v1/profiles/" + Uri.EscapeDataString(identifier);
        foreach (var section in new[] { "traits", "identifiers", "metadata" })
        {
            var read = await ReadAsync($"{path}/{section}", "Profile API", fail);
            if (section == "metadata" && latestSane is { } latest && read?.Json is { } metadata)
            {
                foreach (var name in new[] { "firstSeen", "lastSeen" })
                {
                    if (ReadBack.StringOf(metadata, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, out var seen) && !Sane(seen, latest))
                    {
                        fail(Invariant.TimestampsAreSane, "profile first or last seen outside 1970 to a day after receipt", $"{identifier}: {name} {text}");
                    }
                }
            }
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        for (var page = 0; page < MaxProfilePages; page++)
        {
            var events = await ReadAsync($"{path}/events?limit=200" + (cursor is null ? "" : "&cursor=" + cursor), "Profile API", fail);
            if (events?.Json is not { ValueKind: JsonValueKind.Object } json || events.Status != 200)
            {
                return events?.Status == 404 ? null : Unknown;
            }

            foreach (var e in json.GetProperty("data").EnumerateArray())
            {
                if (ReadBack.StringOf(e, "messageId") is { } id)
                {
                    ids.Add(id);
                }
            }

            cursor = json.TryGetProperty("cursor", out var c) ? ReadBack.StringOf(c, "next") : null;
            if (cursor is null)
            {
                break;
            }
        }

        return ids;
    }

    /// <summary>Every <c>seq</c> number and <c>messageId</c> anywhere in the not-applied list: its shape is not settled yet.</summary>
    private static HashSet<string> Listed(JsonElement element)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Walk(item);
                }
            }
            else if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    if (p.NameEquals("seq") && p.Value.ValueKind == JsonValueKind.Number)
                    {
                        found.Add(p.Value.GetRawText());
                    }
                    else if (p.NameEquals("messageId") && ReadBack.StringOf(e, "messageId") is { } id)
                    {
                        found.Add(id);
                    }

                    Walk(p.Value);
                }
            }
        }

        Walk(element);
        return found;
    }
}
