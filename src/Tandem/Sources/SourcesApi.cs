using System.Security.Claims;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Trust;

namespace Tandem.Sources;

/// <summary>Create, list, rename, disable and rotate sources; read their live event feed and rejections.</summary>
internal static class SourcesApi
{
    private const int MaxNameLength = 100;
    private const int MaxLimit = 1_000;

    public sealed record CreateSourceRequest(string? Name);

    public sealed record UpdateSourceRequest(string? Name, bool? Enabled);

    public sealed record SourceView(string Id, string Name, string WriteKey, bool Enabled, DateTimeOffset CreatedAt)
    {
        public static SourceView From(Source s) => new(s.Id, s.Name, s.WriteKey, s.Enabled, s.CreatedAt);
    }

    /// <summary>A source as the audit log keeps it: the write key is a secret, so only its last four characters.</summary>
    private sealed record AuditedSource(string Id, string Name, bool Enabled, string WriteKeyEnding)
    {
        public static AuditedSource From(Source s) => new(s.Id, s.Name, s.Enabled, "…" + s.WriteKey[^Math.Min(4, s.WriteKey.Length)..]);
    }

    public sealed record RejectionView(long Id, DateTimeOffset ReceivedAt, int? Index, string Reason, string Field, string Detail, JsonElement? Payload, string? RawPayload);

    public static RouteGroupBuilder MapSourcesApi(this RouteGroupBuilder api)
    {
        var sources = api.MapGroup("/sources").WithTags("Sources");
        sources.MapPost("/", CreateAsync).RequireScope(Scopes.SourcesWrite).WithSummary("Creates a source with a new write key");
        sources.MapGet("/", (SourceRegistry registry) => TypedResults.Ok(registry.All.Select(SourceView.From).ToArray())).RequireScope(Scopes.SourcesRead).WithSummary("Lists sources");
        sources.MapGet("/{id}", Get).RequireScope(Scopes.SourcesRead).WithSummary("Gets one source");
        sources.MapPatch("/{id}", UpdateAsync).RequireScope(Scopes.SourcesWrite).WithSummary("Renames, disables or enables a source");
        sources.MapPost("/{id}/rotate-key", RotateKey).RequireScope(Scopes.SourcesWrite).WithSummary("Gives the source a new write key; the old one stops working at once");
        sources.MapGet("/{id}/events", Events).RequireScope(Scopes.EventsRead).WithSummary("Newest stored events of the source, as stored (live debugger feed)");
        sources.MapGet("/{id}/rejections", Rejections).RequireScope(Scopes.EventsRead).WithSummary("What the collector refused from this source, with the reason");
        return api;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, SourceRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateSourceRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (ValidateName(body!.Name) is { } invalid)
        {
            return invalid;
        }

        var (source, error) = registry.Create(body.Name!.Trim());
        if (source is not null)
        {
            audit.Record(user, "source.create", "source:" + source.Id, after: AuditedSource.From(source));
        }

        return error == SourceChangeError.NameTaken
            ? NameTaken(body.Name)
            : TypedResults.Created($"/api/v1/sources/{source!.Id}", SourceView.From(source));
    }

    private static IResult Get(string id, SourceRegistry registry) =>
        registry.FindById(id) is { } source ? TypedResults.Ok(SourceView.From(source)) : Problems.NotFound("Source", id);

    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, SourceRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateSourceRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Name is null && body.Enabled is null)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "nothing_to_change", "Nothing to change",
                "Send \"name\" to rename the source and/or \"enabled\" (true or false) to enable or disable it.", "body");
        }

        if (body.Name is not null && ValidateName(body.Name) is { } invalid)
        {
            return invalid;
        }

        var before = registry.FindById(id);
        var (source, error) = registry.Change(id, s => s with { Name = body.Name?.Trim() ?? s.Name, Enabled = body.Enabled ?? s.Enabled });
        if (error == SourceChangeError.None && before is not null)
        {
            audit.Record(user, "source.update", "source:" + id, AuditedSource.From(before), AuditedSource.From(source!));
        }

        return error switch
        {
            SourceChangeError.NotFound => Problems.NotFound("Source", id),
            SourceChangeError.NameTaken => NameTaken(body.Name!),
            _ => TypedResults.Ok(SourceView.From(source!)),
        };
    }

    private static IResult RotateKey(string id, SourceRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var before = registry.FindById(id);
        var (source, error) = registry.Change(id, s => s with { WriteKey = SourceRegistry.NewWriteKey() });
        if (error == SourceChangeError.None && before is not null)
        {
            audit.Record(user, "source.rotate_key", "source:" + id, AuditedSource.From(before), AuditedSource.From(source!));
        }

        return error == SourceChangeError.NotFound ? Problems.NotFound("Source", id) : TypedResults.Ok(SourceView.From(source!));
    }

    private static async Task Events(HttpContext context, string id, SourceRegistry registry, IngestLog log, PiiGuard pii, int? limit, long? after)
    {
        if (registry.FindById(id) is not { } source)
        {
            await Problems.NotFound("Source", id).ExecuteAsync(context);
            return;
        }

        if (LimitProblem(limit) is { } invalid)
        {
            await invalid.ExecuteAsync(context);
            return;
        }

        var entries = log.ReadNewest(source.Key, limit ?? 50, after ?? 0);
        var lens = pii.For(context);
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteNumber("head", log.Head);
        writer.WriteStartArray("events");
        foreach (var entry in entries)
        {
            writer.WriteStartObject();
            writer.WriteNumber("seq", entry.Seq);
            writer.WritePropertyName("event");
            lens.Event(entry.Payload, $"events[{entry.Seq}]").WriteTo(writer);

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync();
        lens.AuditRead();
    }

    private static IResult Rejections(HttpContext context, string id, SourceRegistry registry, IngestLog log, PiiGuard pii, int? limit)
    {
        if (registry.FindById(id) is not { } source)
        {
            return Problems.NotFound("Source", id);
        }

        if (LimitProblem(limit) is { } invalid)
        {
            return invalid;
        }

        var rows = log.ReadRejections(source.Key, limit ?? 50);
        var lens = pii.For(context);
        var views = rows.Select(r =>
        {
            // The payload is kept byte for byte; show it as JSON when it is JSON, as text otherwise.
            // Refused data is customer data too: masked like events, and text that cannot be
            // classified is treated as red.
            JsonElement? json = null;
            string? raw = null;
            try
            {
                using var document = JsonDocument.Parse(r.Payload);
                json = JsonSerializer.SerializeToElement(lens.Event(r.Payload, $"rejections[{r.Id}]"));
            }
            catch (JsonException)
            {
                raw = lens.Unclassified(System.Text.Encoding.UTF8.GetString(r.Payload), $"rejections[{r.Id}]");
            }

            return new RejectionView(r.Id, r.ReceivedAt, r.Index, r.Reason, r.Field, r.Detail, json, raw);
        }).ToArray();
        lens.AuditRead();
        return TypedResults.Ok(views);
    }

    private static IResult? ValidateName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "missing_name", "A source needs a name",
                "Send {\"name\":\"Website\"}: a non-empty name that says where the events come from.", "name");
        }

        return name.Trim().Length > MaxNameLength
            ? Problems.Create(StatusCodes.Status400BadRequest, "name_too_long", "The name is too long",
                $"Source names are at most {MaxNameLength} characters.", "name")
            : null;
    }

    private static IResult? LimitProblem(int? limit) =>
        limit is < 1 or > MaxLimit
            ? Problems.Create(StatusCodes.Status400BadRequest, "invalid_limit", "limit is out of range",
                $"limit must be between 1 and {MaxLimit}.", "limit")
            : null;

    private static IResult NameTaken(string name) =>
        Problems.Create(StatusCodes.Status409Conflict, "name_taken", "A source with this name exists",
            $"Another source is already named '{name.Trim()}'. Choose another name.", "name");
}
