using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>The promises the fuzz suite checks for every generated request.</summary>
public enum Invariant
{
    /// <summary>200, 400, 401, 413 or 429, never 5xx; JSON, problem+json for errors.</summary>
    AnswerIsKnownAndJson,

    /// <summary>A 200's <c>rejected</c> indexes are exactly the refused events; every other event is stored, in order. Nothing is stored otherwise.</summary>
    BatchKeepsTheValidEvents,

    /// <summary>Every stored event is in its customer's profile (Profile API) or listed as not applicable, with a reason.</summary>
    AcknowledgedReachesProfiles,

    /// <summary>Every refusal is in the source's rejections with the reason the answer gave.</summary>
    RefusalsAreKept,

    /// <summary>No read path answers 5xx, and every answer is valid UTF-8 JSON whose strings can be read.</summary>
    ReadsNeverFail,

    /// <summary>What is stored is valid Unicode, read back from the events feed.</summary>
    StoredIsValidUtf8,
}

public sealed record Violation(Invariant Invariant, string Kind, string Detail);

/// <summary>What one case did: the collector's answer and every promise it broke.</summary>
public sealed record CaseOutcome(int Status, string? Reason, string Answer, IReadOnlyList<Violation> Violations);

/// <summary>
/// Sends one generated case to a real Tandem over HTTP, then reads back everything a user could read
/// about it and checks the <see cref="Invariant"/>s. Each case gets a source of its own, so its feed
/// and rejections hold only its own events, and unique customers, so no case can break another's checks.
/// </summary>
public sealed class CollectorProbe(HttpClient http, Uri baseAddress, string adminToken, Func<TimeSpan, Task<bool>> caughtUp)
{
    private const int MaxEventsFollowed = 25;
    private const int MaxProfilePages = 15;
    private long _cases;
    private bool _processorStalled;

    /// <summary>Puts a suppression in force: the collector then checks every event's identifiers against it (issue 14, finding 1).</summary>
    public async Task PrepareAsync()
    {
        var (_, writeKey) = await CreateSourceAsync("fuzz setup");
        using var identify = Post("/v1/identify", Encoding.UTF8.GetBytes("""{"userId":"fuzz-suppressed","traits":{"email":"fuzz-suppressed@example.com"}}"""), writeKey);
        using var sent = await http.SendAsync(identify);
        await caughtUp(TimeSpan.FromSeconds(30));
        using var request = Admin(HttpMethod.Post, "/api/v1/privacy/requests");
        request.Content = JsonContent.Create(new { type = "suppress", identifier = "email:fuzz-suppressed@example.com" });
        using var filed = await http.SendAsync(request);
        if (!filed.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("Could not put a suppression in force: " + await filed.Content.ReadAsStringAsync());
        }
    }

    public async Task<CaseOutcome> RunAsync(CollectCase c)
    {
        var number = Interlocked.Increment(ref _cases);
        var tag = "fz" + number.ToString(CultureInfo.InvariantCulture);
        var (sourceId, writeKey) = await CreateSourceAsync("fuzz " + tag);
        var violations = new List<Violation>();
        void Fail(Invariant invariant, string kind, string detail) => violations.Add(new Violation(invariant, kind, detail));

        var body = c.Body(tag, number, writeKey);
        using var request = Post(c.Route, c.Wire(body), c.Key switch { KeyPlace.Basic or KeyPlace.Bearer or KeyPlace.Body => writeKey, KeyPlace.Unknown => "no-such-key", _ => null }, c);
        using var response = await http.SendAsync(request);
        var answer = await ReadBack.FromAsync("POST " + c.Route, response);

        // 1. The answer.
        if (answer.Status is not (200 or 400 or 401 or 413 or 429))
        {
            Fail(Invariant.AnswerIsKnownAndJson, $"collector answered {answer.Status}", answer.Summary);
        }

        if (answer.Json is null || answer.Unreadable is not null)
        {
            Fail(Invariant.AnswerIsKnownAndJson, "answer is not readable JSON", answer.Summary);
        }
        else if (answer.Status != 200 && answer.MediaType != "application/problem+json")
        {
            Fail(Invariant.AnswerIsKnownAndJson, "error is not problem+json", answer.Summary);
        }

        var refused = Refused(answer);

        // 2. What was stored.
        var (stored, complete) = await FeedAsync(sourceId, Fail);

        // A feed that cannot be read (or paged) says nothing about what is stored: that is ReadsNeverFail's finding alone.
        if (!complete)
        {
        }
        else if (answer.Status == 200 && answer.Json is { } accepted)
        {
            CheckAcknowledged(c, tag, accepted, refused, stored, Fail);
        }
        else if (stored.Count > 0 && answer.Status < 500)
        {
            Fail(Invariant.BatchKeepsTheValidEvents, $"answered {answer.Status} yet stored events", $"{stored.Count} stored; answer: {answer.Summary}");
        }

        // 3. What was refused.
        var rejections = await ReadAsync($"/api/v1/sources/{sourceId}/rejections?limit=1000", "rejections", Fail);
        CheckRefusals(answer, refused, rejections, Fail);

        // 4. Where the stored events went, and 5. that every read of them works.
        if (stored.Count > 0)
        {
            await CheckProfilesAsync(stored, Fail);
        }

        await ReadAsync("/api/v1/profiles?search=" + tag, "profile search", Fail);
        return new CaseOutcome(answer.Status, answer.Json is { } a ? ReadBack.StringOf(a, "reason") : null, answer.Summary, violations);
    }

    private static void CheckAcknowledged(CollectCase c, string tag, JsonElement answer, List<(int? Index, string Reason)> refused,
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
            var sent = c.IsBatch ? c.Events[kept[i]].PlainMessageId(tag, kept[i]) : c.Events[0].PlainMessageId(tag, 0);
            if (sent is not null && sent != stored[i].MessageId)
            {
                fail(Invariant.BatchKeepsTheValidEvents, "a stored event is not the one sent",
                    $"event {kept[i]} was sent with messageId {sent}; in its place the feed holds {stored[i].MessageId ?? "(unreadable)"}");
            }
        }
    }

    private static void CheckRefusals(ReadBack answer, List<(int? Index, string Reason)> refused, ReadBack? rejections, Action<Invariant, string, string> fail)
    {
        if (answer.IsServerError || rejections?.Json is not { ValueKind: JsonValueKind.Array } rows)
        {
            return;
        }

        var expected = refused;
        if (answer.Status == 400 && expected.Count == 0 && ReadBack.StringOf(answer.Json ?? default, "reason") is { } reason)
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

    private async Task CheckProfilesAsync(List<StoredEvent> stored, Action<Invariant, string, string> fail)
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
        foreach (var e in stored.Take(MaxEventsFollowed))
        {
            if (_processorStalled)
            {
                return;
            }

            var found = false;
            foreach (var identifier in e.Identifiers)
            {
                if (!profiles.TryGetValue(identifier, out var messageIds))
                {
                    messageIds = await ProfileEventsAsync(identifier, fail);
                    profiles[identifier] = messageIds;
                }

                found |= e.MessageId is not null && messageIds is not null && messageIds.Contains(e.MessageId);
            }

            var seq = e.Seq.ToString(CultureInfo.InvariantCulture);
            if (!found && !listed.Contains(seq) && !(e.MessageId is not null && listed.Contains(e.MessageId)))
            {
                fail(Invariant.AcknowledgedReachesProfiles, "stored event in no profile and not listed as not applied",
                    $"seq {seq} ({e.Type}, messageId {e.MessageId ?? "(unreadable)"}) is not in the events of [{string.Join(", ", e.Identifiers)}] nor at /api/v1/processor/not-applied ({notApplied?.Status})");
            }
        }
    }

    /// <summary>The messageIds of a customer's events through the Profile API (and a read of every other section); null when there is no such profile.</summary>
    private async Task<HashSet<string>?> ProfileEventsAsync(string identifier, Action<Invariant, string, string> fail)
    {
        var path = "/v1/profiles/" + Uri.EscapeDataString(identifier);
        foreach (var section in new[] { "traits", "identifiers", "metadata" })
        {
            await ReadAsync($"{path}/{section}", "profile " + section, fail);
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        for (var page = 0; page < MaxProfilePages; page++)
        {
            var events = await ReadAsync($"{path}/events?limit=200" + (cursor is null ? "" : "&cursor=" + cursor), "profile events", fail);
            if (events?.Json is not { ValueKind: JsonValueKind.Object } json || events.Status != 200)
            {
                return page == 0 ? null : ids;
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

    private async Task<ReadBack?> ReadAsync(string path, string what, Action<Invariant, string, string> fail)
    {
        using var request = Admin(HttpMethod.Get, path);
        using var response = await http.SendAsync(request);
        var read = await ReadBack.FromAsync(what, response);
        if (read.IsServerError)
        {
            fail(Invariant.ReadsNeverFail, $"{what} answered {read.Status}", $"GET {path}: {read.Summary}");
        }
        else if (read.Unreadable is not null && read.Status != 404)
        {
            fail(Invariant.ReadsNeverFail, $"{what} is not readable JSON", $"GET {path}: {read.Summary}");
        }

        return read;
    }

    /// <summary>Every stored event of the source, oldest first, paging back with <c>before</c>; incomplete when a page cannot be read or the feed cannot page.</summary>
    private async Task<(List<StoredEvent> Events, bool Complete)> FeedAsync(string sourceId, Action<Invariant, string, string> fail)
    {
        const int Page = 1000;
        var all = new List<StoredEvent>();
        long? before = null;
        for (var page = 0; page < 10; page++)
        {
            var read = await ReadAsync($"/api/v1/sources/{sourceId}/events?limit={Page}" + (before is { } b ? "&before=" + b.ToString(CultureInfo.InvariantCulture) : ""), "events feed", fail);
            if (read?.Unreadable is { } unreadable && !read.IsServerError)
            {
                fail(Invariant.StoredIsValidUtf8, "stored event is not valid Unicode", unreadable);
            }

            if (read is not { Status: 200, Json: not null })
            {
                return (all, false);
            }

            var events = StoredEvents(read);
            var older = events.Where(e => before is null || e.Seq < before).ToList();
            if (before is not null && older.Count == 0 && events.Count > 0)
            {
                return (all, false); // this server's feed has no cursor
            }

            all.InsertRange(0, older);
            if (events.Count < Page)
            {
                return (all, true);
            }

            before = events[0].Seq;
        }

        return (all, false);
    }

    private sealed record StoredEvent(long Seq, string? Type, string? MessageId, IReadOnlyList<string> Identifiers);

    /// <summary>The feed's events oldest first, with the identifiers the Profile API can be asked by.</summary>
    private static List<StoredEvent> StoredEvents(ReadBack? feed)
    {
        if (feed?.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("events", out var events))
        {
            return [];
        }

        return events.EnumerateArray().Reverse().Select(item =>
        {
            var e = item.GetProperty("event");
            var identifiers = new List<string>();
            foreach (var (field, type) in new[] { ("userId", "user_id"), ("anonymousId", "anonymous_id") })
            {
                if (ReadBack.StringOf(e, field) is { Length: > 0 } value)
                {
                    identifiers.Add(type + ":" + value);
                }
            }

            return new StoredEvent(item.GetProperty("seq").GetInt64(), ReadBack.StringOf(e, "type"), ReadBack.StringOf(e, "messageId"), identifiers);
        }).ToList();
    }

    /// <summary>The refused events an answer names, in a 200's <c>rejected</c> or a 400 problem's.</summary>
    private static List<(int? Index, string Reason)> Refused(ReadBack answer)
    {
        if (answer.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("rejected", out var rejected) || rejected.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return rejected.EnumerateArray()
            .Select(r => (r.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : (int?)null, ReadBack.StringOf(r, "reason") ?? "?"))
            .ToList();
    }

    private async Task<(string Id, string WriteKey)> CreateSourceAsync(string name)
    {
        using var request = Admin(HttpMethod.Post, "/api/v1/sources");
        request.Content = JsonContent.Create(new { name });
        using var response = await http.SendAsync(request);
        var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (created.GetProperty("id").GetString()!, created.GetProperty("writeKey").GetString()!);
    }

    private HttpRequestMessage Admin(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(baseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        return request;
    }

    private HttpRequestMessage Post(string route, byte[] wire, string? writeKey, CollectCase? c = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, route)) { Content = new ByteArrayContent(wire) };
        request.Content.Headers.ContentType = null;
        if ((c is null ? "application/json" : c.ContentType) is { } type)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
        }

        if (c is not null && c.Encoding != BodyEncoding.Plain)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        if (writeKey is not null && c?.Key != KeyPlace.Body)
        {
            request.Headers.Authorization = c?.Key == KeyPlace.Bearer
                ? new AuthenticationHeaderValue("Bearer", writeKey)
                : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        }

        return request;
    }
}
