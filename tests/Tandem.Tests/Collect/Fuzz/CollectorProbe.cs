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

    /// <summary>A BOM, gzip or another content type does not change what the collector makes of a body.</summary>
    TransportChangesNothing,

    /// <summary>A refusal names the real problem: a wrong type is not "missing", a cut gzip is not "invalid JSON", too deep says so.</summary>
    ReasonsArePrecise,

    /// <summary>Stored timestamps and a profile's first and last seen lie between 1970 and a day after receipt.</summary>
    TimestampsAreSane,
}

public sealed record Violation(Invariant Invariant, string Kind, string Detail);

/// <summary>What one case did: the collector's answer and every promise it broke.</summary>
public sealed record CaseOutcome(int Status, string? Reason, string Answer, IReadOnlyList<Violation> Violations);

/// <summary>
/// Sends one generated case to a real Tandem over HTTP, then reads back everything a user could read
/// about it and checks the <see cref="Invariant"/>s. Each case gets a source of its own, so its feed
/// and rejections hold only its own events, and unique customers, so no case can break another's checks.
/// </summary>
/// <param name="storedPayloads">The stored events of a source by id, read from the log itself: checks what is stored even when every reader fails on it.</param>
public sealed partial class CollectorProbe(HttpClient http, Uri baseAddress, string adminToken, Func<TimeSpan, Task<bool>> caughtUp,
    Func<string, IReadOnlyList<byte[]>>? storedPayloads = null)
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
        var violations = new List<Violation>();
        void Fail(Invariant invariant, string kind, string detail) => violations.Add(new Violation(invariant, kind, detail));
        var (answer, sourceId) = await SendAsync(c, tag, number);

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
        CheckReasons(c, answer, refused, Fail);
        if (answer.Status == 400 && c.Encoding != BodyEncoding.TruncatedGzip && (c.Bom || c.Encoding == BodyEncoding.Gzip || c.ContentType != "application/json"))
        {
            var plain = await SendAsync(c with { Bom = false, Encoding = BodyEncoding.Plain, ContentType = "application/json" });
            var reason = answer.Json is { } j ? ReadBack.StringOf(j, "reason") : null;
            var plainReason = plain.Json is { } p ? ReadBack.StringOf(p, "reason") : null;
            if (plain.Status != answer.Status || plainReason != reason)
            {
                var what = c.Bom ? "a BOM" : c.Encoding == BodyEncoding.Gzip ? "gzip" : "content type " + (c.ContentType ?? "(none)");
                Fail(Invariant.TransportChangesNothing, what + " changed the answer", $"with it: {answer.Summary}; without: {plain.Summary}");
            }
        }

        // 2. What was stored.
        var (stored, complete) = await FeedAsync(sourceId, Fail);
        var logged = storedPayloads?.Invoke(sourceId);
        foreach (var payload in logged ?? [])
        {
            if (ReadBack.Read(payload).Problem is { } problem)
            {
                Fail(Invariant.StoredIsValidUtf8, "stored event is not valid Unicode", $"{problem}: {HostileJson.Printable(payload.AsSpan(0, Math.Min(payload.Length, 600)))}");
                break;
            }
        }

        // When the feed cannot be read (or paged), what is stored is read from the log itself where the
        // probe can; failing that, the feed's failure is ReadsNeverFail's finding alone.
        var counted = complete ? stored : logged is null ? null : FromLog(logged);
        if (counted is not null && answer.Status == 200 && answer.Json is { } accepted)
        {
            CheckAcknowledged(c, tag, number, accepted, refused, counted, Fail);
        }
        else if (counted is { Count: > 0 } && answer.Status is not (200 or >= 500))
        {
            Fail(Invariant.BatchKeepsTheValidEvents, $"answered {answer.Status} yet stored events", $"{counted.Count} stored; answer: {answer.Summary}");
        }

        // 3. What was refused.
        var rejections = await ReadAsync($"/api/v1/sources/{sourceId}/rejections?limit=1000", "rejections", Fail);
        CheckRefusals(answer, refused, rejections, Fail);

        // 4. Where the stored events went, and 5. that every read of them works. When the feed cannot
        // tell, the events sent with plain ids and not refused are followed instead.
        CheckTimestamps(stored, Fail);
        var followed = counted ?? (answer.Status == 200 ? SentAndNotRefused(c, tag, number, refused) : []);
        if (followed.Count > 0)
        {
            var latest = stored.Select(e => e.ReceivedAt).DefaultIfEmpty(null).Max();
            await CheckProfilesAsync(followed, latest?.AddDays(1), Fail);
        }

        await ReadAsync("/api/v1/profiles?search=" + tag, "profile search", Fail);
        return new CaseOutcome(answer.Status, answer.Json is { } a ? ReadBack.StringOf(a, "reason") : null, answer.Summary, violations);
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

    private sealed record StoredEvent(long Seq, string? Type, string? MessageId, IReadOnlyList<string> Identifiers, string? Timestamp = null, DateTimeOffset? ReceivedAt = null);

    /// <summary>The feed's events oldest first, with the identifiers the Profile API can be asked by.</summary>
    private static List<StoredEvent> StoredEvents(ReadBack? feed)
    {
        if (feed?.Json is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("events", out var events))
        {
            return [];
        }

        return events.EnumerateArray().Reverse().Select(item => Stored(item.GetProperty("seq").GetInt64(), item.GetProperty("event"))).ToList();
    }

    /// <summary>Stored events read from the log's bytes, oldest first; invalid UTF-8 read as U+FFFD, as a lenient reader would.</summary>
    private static List<StoredEvent> FromLog(IReadOnlyList<byte[]> newestFirst)
    {
        var events = new List<StoredEvent>();
        foreach (var payload in newestFirst.Reverse())
        {
            try
            {
                using var document = JsonDocument.Parse(Encoding.UTF8.GetString(payload));
                events.Add(Stored(-1, document.RootElement.Clone()));
            }
            catch (JsonException)
            {
                events.Add(new StoredEvent(-1, null, null, []));
            }
        }

        return events;
    }

    private static StoredEvent Stored(long seq, JsonElement e)
    {
        var identifiers = new List<string>();
        foreach (var (field, type) in new[] { ("userId", "user_id"), ("anonymousId", "anonymous_id") })
        {
            if (ReadBack.StringOf(e, field) is { Length: > 0 } value)
            {
                identifiers.Add(type + ":" + value);
            }
        }

        // An event whose userId is blocked ("0") is filed under its other identifiers: the email in its traits,
        // and for an alias its previousId (a user id when known, else an anonymous id).
        foreach (var traits in new[] { ReadBack.Member(e, "traits"), ReadBack.Member(ReadBack.Member(e, "context"), "traits") })
        {
            // An email too long for a URL path, or holding a control character, is not linked (docs/unify.md).
            if (ReadBack.StringOf(traits, "email") is { Length: > 0 } email && Tandem.Unify.IdentityRules.Addressable(email.Trim()))
            {
                identifiers.Add("email:" + email);
            }
        }

        // The previousId of an alias: a user id when known, else an anonymous id.
        if (ReadBack.StringOf(e, "type") == "alias" && ReadBack.StringOf(e, "previousId") is { Length: > 0 } previous)
        {
            identifiers.Add("user_id:" + previous);
            identifiers.Add("anonymous_id:" + previous);
        }

        var receivedAt = DateTimeOffset.TryParse(ReadBack.StringOf(e, "receivedAt"), CultureInfo.InvariantCulture, out var r) ? r : (DateTimeOffset?)null;
        return new StoredEvent(seq, ReadBack.StringOf(e, "type"), ReadBack.StringOf(e, "messageId"), identifiers, ReadBack.StringOf(e, "timestamp"), receivedAt);
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

    /// <summary>Sends a case once more under a new tag, to a source of its own: to compare answers.</summary>
    private async Task<ReadBack> SendAsync(CollectCase c)
    {
        var number = Interlocked.Increment(ref _cases);
        return (await SendAsync(c, "fz" + number.ToString(CultureInfo.InvariantCulture), number)).Answer;
    }

    private async Task<(ReadBack Answer, string SourceId)> SendAsync(CollectCase c, string tag, long number)
    {
        var (sourceId, writeKey) = await CreateSourceAsync("fuzz " + tag);
        var body = c.Body(tag, number, writeKey);
        using var request = Post(c.Route, c.Wire(body), c.Key switch { KeyPlace.Basic or KeyPlace.Bearer or KeyPlace.Body => writeKey, KeyPlace.Unknown => "no-such-key", _ => null }, c);
        using var response = await http.SendAsync(request);
        return (await ReadBack.FromAsync("POST " + c.Route, response), sourceId);
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
