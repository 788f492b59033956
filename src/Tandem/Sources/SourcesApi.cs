using System.Security.Claims;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage;
using Tandem.Text;
using Tandem.Trust;

namespace Tandem.Sources;

/// <summary>Create, list, rename, disable and rotate sources; read their live event feed and rejections.</summary>
internal static class SourcesApi
{
    private const int MaxLimit = 1_000;
    private const int DefaultLimit = 50;

    /// <summary>
    /// A feed page stops once this much event JSON is written, whatever the limit: a thousand wide
    /// events cost seconds of masking and tens of megabytes (issue 15). Always at least one event.
    /// </summary>
    private const int MaxPageBytes = 4 * 1024 * 1024;

    public sealed record CreateSourceRequest(string? Name);

    public sealed record UpdateSourceRequest(string? Name, bool? Enabled);

    /// <summary>A source as every reader sees it: of the write key, only its last four characters.</summary>
    public sealed record SourceView(string Id, string Name, string WriteKeyEnd, bool Enabled, DateTimeOffset CreatedAt)
    {
        public static SourceView From(Source s) => new(s.Id, s.Name, s.WriteKeyEnd, s.Enabled, s.CreatedAt);
    }

    /// <summary>The answer to create and rotate-key: the only one that holds the whole write key, which is not stored.</summary>
    public sealed record IssuedSourceView(string Id, string Name, string WriteKey, string WriteKeyEnd, bool Enabled, DateTimeOffset CreatedAt)
    {
        public static IssuedSourceView From(IssuedSource issued) =>
            new(issued.Source.Id, issued.Source.Name, issued.WriteKey, issued.Source.WriteKeyEnd, issued.Source.Enabled, issued.Source.CreatedAt);
    }

    public sealed record RejectionView(long Id, DateTimeOffset ReceivedAt, int? Index, string Reason, string Field, string Detail, JsonElement? Payload, string? RawPayload);

    /// <param name="Next">What to pass as <c>before</c> for the next (older) page; null on the last page.</param>
    public sealed record RejectionsPage(IReadOnlyList<RejectionView> Rejections, long? Next);

    public static RouteGroupBuilder MapSourcesApi(this RouteGroupBuilder api)
    {
        var sources = api.MapGroup("/sources").WithTags("Sources");
        sources.MapPost("/", CreateAsync).RequireScope(Scopes.SourcesWrite).WithSummary("Creates a source with a new write key, shown in this answer only");
        sources.MapGet("/", (SourcesService service) => TypedResults.Ok(service.List().Select(SourceView.From).ToArray())).RequireScope(Scopes.SourcesRead).WithSummary("Lists sources (of each write key, its last four characters)");
        sources.MapGet("/{id}", Get).RequireScope(Scopes.SourcesRead).WithSummary("Gets one source");
        sources.MapPatch("/{id}", UpdateAsync).RequireScope(Scopes.SourcesWrite).WithSummary("Renames, disables or enables a source");
        sources.MapPost("/{id}/rotate-key", RotateKey).RequireScope(Scopes.SourcesWrite).WithSummary("Gives the source a new write key, shown in this answer only; the old one stops working at once");
        sources.MapGet("/{id}/events", Events).RequireScope(Scopes.EventsRead)
            .WithSummary("Newest stored events of the source, as stored (live debugger feed); ?limit= ≤ 1000, ?after= head for polling, ?before= next for older pages");
        sources.MapGet("/{id}/rejections", Rejections).RequireScope(Scopes.EventsRead)
            .WithSummary("What the collector refused from this source, with the reason, newest first; ?limit= ≤ 1000, ?before= next for older pages");
        return api;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, SourcesService service, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateSourceRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var created = service.Create(user.ToCaller(), body!.Name);
        return created.Value is { } issued
            ? TypedResults.Created($"/api/v1/sources/{issued.Source.Id}", IssuedSourceView.From(issued))
            : Problems.From(created.Refusal!);
    }

    private static IResult Get(string id, SourcesService service) =>
        service.Find(id) is { } source ? TypedResults.Ok(SourceView.From(source)) : Problems.NotFound("Source", id);

    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, SourcesService service, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateSourceRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var updated = service.Update(user.ToCaller(), id, body!.Name, body.Enabled);
        return updated.Value is { } source ? TypedResults.Ok(SourceView.From(source)) : Problems.From(updated.Refusal!);
    }

    private static IResult RotateKey(string id, SourcesService service, ClaimsPrincipal user)
    {
        var rotated = service.RotateKey(user.ToCaller(), id);
        return rotated.Value is { } issued ? TypedResults.Ok(IssuedSourceView.From(issued)) : Problems.From(rotated.Refusal!);
    }

    private static async Task Events(HttpContext context, string id, SourceRegistry registry, IEventLogReader log, PiiGuard pii, string? limit, string? after, string? before)
    {
        if (registry.FindById(id) is not { } source)
        {
            await Problems.NotFound("Source", id).ExecuteAsync(context);
            return;
        }

        var (size, badLimit) = Paging.Limit(limit, DefaultLimit, MaxLimit);
        var (newerThan, badAfter) = Paging.Sequence(after, "after", minimum: 0, expected: "the head of a previous answer, to get only newer events");
        var (olderThan, badBefore) = Paging.Sequence(before, "before");
        if ((badLimit ?? badAfter ?? badBefore) is { } invalid)
        {
            await invalid.ExecuteAsync(context);
            return;
        }

        // One more than asked tells whether an older page exists, without a count.
        var entries = log.ReadNewest(source.Key, size + 1, newerThan ?? 0, olderThan ?? long.MaxValue);
        var more = entries.Count > size;
        var lens = pii.For(context);
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter, TandemJson.Writer);
        writer.WriteStartObject();
        writer.WriteNumber("head", log.Head);
        writer.WriteStartArray("events");
        var start = writer.BytesCommitted + writer.BytesPending;
        var written = 0;
        foreach (var entry in entries.Take(size))
        {
            writer.WriteStartObject();
            writer.WriteNumber("seq", entry.Seq);
            writer.WritePropertyName("event");
            lens.Event(entry.Payload, $"events[{entry.Seq}]").WriteTo(writer);

            writer.WriteEndObject();
            written++;
            if (writer.BytesCommitted + writer.BytesPending - start >= MaxPageBytes)
            {
                break;
            }
        }

        // A page cut short by its size goes on like one cut by the limit: from the last event sent.
        var cut = written < Math.Min(size, entries.Count);
        writer.WriteEndArray();
        WriteNext(writer, more || cut ? entries[written - 1].Seq : null);
        writer.WriteEndObject();
        await writer.FlushAsync();
        lens.AuditRead();
    }

    private static IResult Rejections(HttpContext context, string id, SourceRegistry registry, IEventLogReader log, PiiGuard pii, string? limit, string? before)
    {
        if (registry.FindById(id) is not { } source)
        {
            return Problems.NotFound("Source", id);
        }

        var (size, badLimit) = Paging.Limit(limit, DefaultLimit, MaxLimit);
        var (olderThan, badBefore) = Paging.Sequence(before, "before");
        if ((badLimit ?? badBefore) is { } invalid)
        {
            return invalid;
        }

        var rows = log.ReadRejections(source.Key, size + 1, olderThan ?? long.MaxValue);
        var more = rows.Count > size;
        var lens = pii.For(context);

        // Bounded like the events feed: the page ends once the refused payloads pass MaxPageBytes.
        var kept = 0;
        for (long bytes = 0; kept < Math.Min(size, rows.Count) && (kept == 0 || bytes < MaxPageBytes); kept++)
        {
            bytes += rows[kept].Payload.Length;
        }

        more |= kept < Math.Min(size, rows.Count);
        var views = rows.Take(kept).Select(r =>
        {
            // The payload is kept byte for byte; show it as JSON when it is JSON, as text otherwise.
            // Refused data is customer data too: masked like events, and text that cannot be
            // classified is treated as red. Text that is not valid Unicode reads as U+FFFD.
            var payload = UnicodeRepair.RepairIfNeeded(r.Payload);
            JsonElement? json = null;
            string? raw = null;
            try
            {
                using var document = JsonDocument.Parse(payload);
                json = JsonSerializer.SerializeToElement(lens.Event(payload, $"rejections[{r.Id}]"));
            }
            catch (JsonException)
            {
                raw = lens.Unclassified(System.Text.Encoding.UTF8.GetString(payload), $"rejections[{r.Id}]");
            }

            return new RejectionView(r.Id, r.ReceivedAt, r.Index, r.Reason, r.Field, r.Detail, json, raw);
        }).ToArray();
        lens.AuditRead();
        return TypedResults.Ok(new RejectionsPage(views, more ? views[^1].Id : null));
    }

    /// <summary><c>"next"</c>: what to pass as <c>before</c> for the next (older) page; null on the last page.</summary>
    private static void WriteNext(Utf8JsonWriter writer, long? next)
    {
        if (next is { } seq)
        {
            writer.WriteNumber("next", seq);
        }
        else
        {
            writer.WriteNull("next");
        }
    }
}
