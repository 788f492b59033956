using System.Buffers;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Hosting;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>
/// Profile exports: a page of customers' traits for a declared use. The caller names the purposes
/// the data will serve; a customer who does not allow every one of them is skipped, and the skips
/// are counted in the answer, in the use's tally (<c>GET /api/v1/consent/uses</c>) and in the audit log.
/// </summary>
internal static class ProfileExportApi
{
    public const int MaxPage = 1_000;
    private const int DefaultPage = 100;

    public static RouteGroupBuilder MapProfileExportApi(this RouteGroupBuilder root)
    {
        root.MapPost("/exports/profiles", ExportAsync).RequireScope(Scopes.ProfilesRead).WithTags("Consent")
            .WithSummary("A page of profiles for a declared use: {\"use\",\"purposes\":[…],\"traits\"?,\"limit\"?,\"cursor\"?}; customers without consent are skipped and counted")
            .WhenProfilesLoaded();
        return root;
    }

    private sealed record ExportRequest(string Use, IReadOnlyList<Purpose> Purposes, HashSet<string>? Traits, int Limit, long After);

    private static async Task<IResult> ExportAsync(HttpContext context, ProfileProcessor processor, ConsentRegistry registry, PiiGuard pii, AuditLog audit, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        var (request, error) = Read(json!, registry.Catalog);
        if (error is not null)
        {
            return error;
        }

        var skippedByPurpose = new Dictionary<string, long>(StringComparer.Ordinal);
        var (page, skipped, more) = processor.Read(engine =>
        {
            var chosen = new List<(string Id, long Number, List<(string Key, byte[] Json)> Traits)>();
            var skippedHere = 0L;
            var hasMore = false;
            foreach (var profile in engine.ProfilesAfter(request!.After))
            {
                if (chosen.Count == request!.Limit)
                {
                    hasMore = true;
                    break;
                }

                var refused = request.Purposes.Where(p => !PurposeCatalog.Standing(profile, p).Allowed).ToList();
                if (refused.Count > 0)
                {
                    skippedHere++;
                    foreach (var purpose in refused)
                    {
                        skippedByPurpose[purpose.Name] = skippedByPurpose.GetValueOrDefault(purpose.Name) + 1;
                    }

                    continue;
                }

                var traits = new List<(string Key, byte[] Json)>();
                foreach (var (key, value) in profile.Traits.Entries())
                {
                    if (request.Traits is null || request.Traits.Contains(key))
                    {
                        traits.Add((key, value.Json));
                    }
                }

                chosen.Add((profile.Id, profile.Number, traits));
            }

            return (chosen, skippedHere, hasMore);
        });

        var purposes = request!.Purposes.Select(p => p.Name).ToArray();
        var tally = registry.RecordUse(request.Use, purposes, page.Count, skippedByPurpose, skipped);
        var lens = pii.For(context);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var w = new Utf8JsonWriter(buffer, TandemJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("use"u8, request.Use);
            w.WriteStartArray("purposes"u8);
            foreach (var p in purposes)
            {
                w.WriteStringValue(p);
            }

            w.WriteEndArray();
            w.WriteNumber("exported"u8, page.Count);
            w.WriteNumber("skipped"u8, skipped);
            w.WritePropertyName("skippedByPurpose"u8);
            JsonSerializer.Serialize(w, skippedByPurpose, JsonSerializerOptions.Web);
            w.WriteStartArray("data"u8);
            for (var i = 0; i < page.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("profileId"u8, page[i].Id);
                w.WritePropertyName("traits"u8);
                lens.WriteTraits(w, page[i].Traits, $"data[{i}].traits");
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("cursor"u8);
            w.WriteString("next"u8, more && page.Count > 0 ? page[^1].Id : null);
            w.WriteBoolean("hasMore"u8, more);
            w.WriteEndObject();
            w.WriteStartObject("totals"u8);
            w.WriteNumber("runs"u8, tally.Runs);
            w.WriteNumber("exported"u8, tally.Used);
            w.WriteNumber("skipped"u8, tally.Skipped);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        lens.AuditRead();
        audit.Record(user, "profiles.exported", "use:" + request.Use,
            after: new { purposes, exported = page.Count, skipped, skippedByPurpose });
        return TypedResults.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    private static (ExportRequest? Request, IResult? Problem) Read(string json, PurposeCatalog catalog)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return (null, Bad("body", "The body is not valid JSON: " + ex.Message));
        }

        if (root is not JsonObject body)
        {
            return (null, Bad("body", "Send {\"use\": \"spring newsletter\", \"purposes\": [\"marketing\"]}."));
        }

        foreach (var (key, _) in body)
        {
            if (key is not ("use" or "purposes" or "traits" or "limit" or "cursor"))
            {
                return (null, Bad(key, $"'{key}' is not a field of an export; use use, purposes, traits, limit and cursor."));
            }
        }

        if (JsonBody.Text(body["use"]) is not { Length: > 0 and <= 100 } use)
        {
            return (null, Bad("use", "Name the use of the data (1 to 100 characters), such as \"spring newsletter\": its skips are tallied under that name."));
        }

        if (body["purposes"] is not JsonArray list || list.Count == 0)
        {
            return (null, Bad("purposes", "Declare the purposes the data will serve, such as [\"marketing\"]: customers who did not consent to each are skipped."));
        }

        var purposes = new List<Purpose>();
        for (var i = 0; i < list.Count; i++)
        {
            if (JsonBody.Text(list[i]) is not { } name || catalog.Find(name) is not { } purpose)
            {
                return (null, Bad($"purposes[{i}]", $"Not a purpose of this workspace; use one of: {string.Join(", ", catalog.Purposes.Select(p => p.Name))}."));
            }

            if (!purposes.Contains(purpose))
            {
                purposes.Add(purpose);
            }
        }

        HashSet<string>? traits = null;
        if (body["traits"] is JsonArray keep)
        {
            traits = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < keep.Count; i++)
            {
                if (JsonBody.Text(keep[i]) is not { Length: > 0 } key)
                {
                    return (null, Bad($"traits[{i}]", "traits lists trait names to keep."));
                }

                traits.Add(key);
            }
        }
        else if (body["traits"] is not null)
        {
            return (null, Bad("traits", "traits lists trait names to keep; leave it out for every trait."));
        }

        var limit = DefaultPage;
        if (body["limit"] is { } l && (l is not JsonValue lv || !lv.TryGetValue(out limit) || limit is < 1 or > MaxPage))
        {
            return (null, Paging.InvalidLimit("limit", l.ToJsonString(), DefaultPage, MaxPage));
        }

        var after = 0L;
        if (body["cursor"] is { } c)
        {
            after = JsonBody.Text(c) is { } cursor && cursor.StartsWith("prf_", StringComparison.Ordinal)
                && long.TryParse(cursor.AsSpan(4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : -1;
            if (after < 0)
            {
                return (null, Paging.InvalidCursor("cursor", c.ToJsonString(), "the cursor.next value of the previous page (prf_…), unchanged", start: "the first profile"));
            }
        }

        return (new ExportRequest(use, purposes, traits, limit, after), null);
    }

    private static IResult Bad(string field, string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_export", "The export cannot be run", detail, field);
}
