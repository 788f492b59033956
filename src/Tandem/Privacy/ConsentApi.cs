using System.Buffers;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Settings;
using Tandem.Sources;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>
/// Consent: the workspace's purposes, a customer's consent with its history, recording consent
/// through the API, and the tally of what uses of data skipped for lack of it.
/// </summary>
internal static class ConsentApi
{
    /// <summary>The event consent recorded through the API is stored as: the name Segment's consent tools send.</summary>
    public const string ConsentEvent = "Segment Consent Preference Updated";

    /// <summary>Source key of events Tandem's own API writes to the log (real sources start at 1).</summary>
    public const int ApiSourceKey = 0;

    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    public static RouteGroupBuilder MapConsentApi(this RouteGroupBuilder root)
    {
        var api = root.MapGroup("").WhenProfilesLoaded();

        var consent = api.MapGroup("/consent").WithTags("Consent");
        consent.MapGet("/purposes", (ConsentRegistry registry) => TypedResults.Text(registry.Catalog.ToJson(), "application/json"))
            .RequireSignedIn().WithSummary("The purposes data may be used for, with the consent-management categories each answers to");
        consent.MapPut("/purposes", PutPurposesAsync).RequireScope(Scopes.PolicyWrite)
            .WithSummary("Replaces the purposes; every problem is reported with its field");
        consent.MapGet("/uses", (ConsentRegistry registry) => TypedResults.Ok(new { data = registry.Uses }))
            .RequireSignedIn().WithSummary("Every use of data that declared purposes: customers used and customers skipped for lack of consent");

        var profile = api.MapGroup("/profiles/{identifier}/consent").WithTags("Consent");
        profile.MapGet("/", Read).RequireScope(Scopes.ProfilesRead)
            .WithSummary("A customer's standing on each purpose, their decisions per category, and the history of changes");
        profile.MapPost("/", RecordAsync).RequireScope(Scopes.ProfilesWrite)
            .WithSummary("Records consent given or refused outside the event stream ({\"purposes\":{\"marketing\":false}}); answers the new standing");
        return root;
    }

    private static async Task<IResult> PutPurposesAsync(HttpRequest request, SettingsService settings, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        var change = settings.Save(user.Actor(), PurposesDocument.Instance, json!);
        return change.Refused is { } refused ? refused.AsProblem() : TypedResults.Text(change.After!.ToJson(), "application/json");
    }

    private static IResult Read(string identifier, ProfileProcessor processor, ConsentRegistry registry, SourceRegistry sources, PiiGuard pii, HttpContext context)
    {
        // Through the caller's lens: a lookup by a type it may not see answers as an unknown profile.
        var (answer, problem) = ProfileApi.Resolve(identifier, processor, (_, p) => View(p, registry.Catalog, sources), pii.For(context));
        return problem ?? TypedResults.Bytes(answer, "application/json");
    }

    private static async Task<IResult> RecordAsync(string identifier, HttpRequest request, ProfileProcessor processor, SpecParser parser, IngestLog log,
        ConsentRegistry registry, SourceRegistry sources, SuppressionList suppressions, AuditLog audit, TimeProvider time, ClaimsPrincipal user, PiiGuard pii)
    {
        var lens = pii.For(request.HttpContext);
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var (preferences, at, error) = ReadRequest(json!, registry.Catalog, now);
        if (error is not null)
        {
            return error;
        }

        var (ids, idProblem) = EventIdentifiers(identifier, processor, lens);
        if (idProblem is not null)
        {
            return idProblem;
        }

        var message = new JsonObject
        {
            ["type"] = "track",
            ["event"] = ConsentEvent,
            ["messageId"] = "tandem-consent-" + Guid.NewGuid().ToString("N"),
            ["timestamp"] = at.ToString("O", CultureInfo.InvariantCulture),
            ["properties"] = new JsonObject(),
            ["context"] = new JsonObject
            {
                ["consent"] = new JsonObject { ["categoryPreferences"] = preferences },
                ["library"] = new JsonObject { ["name"] = "tandem-api" },
                ["tandem"] = new JsonObject { ["actor"] = user.Actor() },
            },
        };
        if (ids.UserId is not null)
        {
            message["userId"] = ids.UserId;
        }

        if (ids.AnonymousId is not null)
        {
            message["anonymousId"] = ids.AnonymousId;
        }

        if (ids.Other is { } other)
        {
            message["context"]!["externalIds"] = new JsonArray(new JsonObject { ["type"] = other.Type, ["id"] = other.Value, ["collection"] = "users", ["encoding"] = "none" });
        }

        var outcome = parser.Parse(JsonSerializer.SerializeToUtf8Bytes(message), MessageType.Track, now, clientIp: null);
        if (outcome.Error is not null || outcome.Accepted.Count != 1)
        {
            var why = outcome.Error?.Detail ?? outcome.Rejected.FirstOrDefault()?.Detail ?? "unknown";
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid_consent", "The consent event could not be formed", why, "identifier");
        }

        if (suppressions.Match(outcome.Accepted[0].Json) is not null)
        {
            // The person asked not to be collected: a consent record would bring a profile back.
            return Problems.Create(StatusCodes.Status409Conflict, "suppressed", "This person is suppressed",
                "A privacy request suppressed this person, so nothing about them is stored, consent included. Lift it with an unsuppress request first.", "identifier");
        }

        var append = log.TryAppend(ApiSourceKey, outcome.Accepted, [], now);
        if (append is null)
        {
            return Problems.Create(StatusCodes.Status429TooManyRequests, "overloaded", "Tandem is catching up",
                "The ingest log's backlog is past its bound; nothing was recorded. Retry in a second.");
        }

        var stored = await append;
        await processor.WhenProcessedAsync(stored.LastSeq, request.HttpContext.RequestAborted);
        var (answer, notFound) = ProfileApi.Resolve(identifier, processor, (_, p) => (p.Id, View(p, registry.Catalog, sources)), lens);
        if (notFound is not null)
        {
            return notFound;
        }

        audit.Record(user, "consent.recorded", "profile:" + answer.Id, after: preferences, detail: $"at {at:O}");
        return TypedResults.Bytes(answer.Item2, "application/json");
    }

    /// <summary>Reads <c>{"purposes":{"marketing":true,…},"timestamp"?}</c>: known purposes only, booleans only, no time in the future.</summary>
    private static (JsonObject Preferences, DateTimeOffset At, IResult? Problem) ReadRequest(string json, PurposeCatalog catalog, DateTimeOffset now)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return ([], now, Bad("body", "The body is not valid JSON: " + ex.Message));
        }

        if (root is not JsonObject body || body["purposes"] is not JsonObject purposes || purposes.Count == 0)
        {
            return ([], now, Bad("purposes", "Send {\"purposes\": {\"marketing\": true, \"advertising\": false}} with at least one purpose."));
        }

        foreach (var (key, _) in body)
        {
            if (key is not ("purposes" or "timestamp"))
            {
                return ([], now, Bad(key, $"'{key}' is not a field of a consent record; send purposes and, optionally, timestamp."));
            }
        }

        var preferences = new JsonObject();
        foreach (var (name, value) in purposes)
        {
            if (catalog.Find(name) is null)
            {
                return ([], now, Bad($"purposes.{name}",
                    $"'{name}' is not a purpose of this workspace; use one of: {string.Join(", ", catalog.Purposes.Select(p => p.Name))}."));
            }

            if (value is not JsonValue v || v.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                return ([], now, Bad($"purposes.{name}", "Each purpose takes true (consent given) or false (refused or withdrawn)."));
            }

            preferences[name] = v.GetValue<bool>();
        }

        var at = now;
        if (body["timestamp"] is { } stamp)
        {
            if (stamp is not JsonValue t || t.GetValueKind() != JsonValueKind.String
                || !DateTimeOffset.TryParse(t.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out at))
            {
                return ([], now, Bad("timestamp", "timestamp is an ISO 8601 time with its offset, such as 2026-11-23T10:00:00Z: when the customer decided."));
            }

            if (at > now + FutureTolerance)
            {
                return ([], now, Bad("timestamp", "timestamp is in the future; send when the customer decided, or leave it out for now."));
            }
        }

        return (preferences, at, null);
    }

    private sealed record EventIds(string? UserId, string? AnonymousId, Identifier? Other);

    /// <summary>
    /// The identifiers the consent event carries. A known customer is named by their user id (or an
    /// anonymous id) as well as the identifier given, so the event is a valid Spec event; consent for
    /// someone never seen can be recorded ahead only by user_id or anonymous_id.
    /// </summary>
    private static (EventIds Ids, IResult? Problem) EventIdentifiers(string identifier, ProfileProcessor processor, PiiLens lens)
    {
        var (held, problem) = ProfileApi.Resolve(identifier, processor, (_, p) =>
            (p.Identifiers.FirstOrDefault(l => l.Identifier.Type == IdentifierType.UserId).Identifier.Value,
             p.Identifiers.FirstOrDefault(l => l.Identifier.Type == IdentifierType.AnonymousId).Identifier.Value), lens);
        _ = ProfileKey.TryParsePathSegment(identifier, out var key);
        var (type, value) = key;
        if (problem is null)
        {
            Identifier? other = type is IdentifierType.UserId or IdentifierType.AnonymousId or ProfileKey.ProfileIdType ? null : new Identifier(type, value);
            return (new EventIds(held.Item1, held.Item1 is null ? held.Item2 : null, other), null);
        }

        if (problem is IStatusCodeHttpResult { StatusCode: StatusCodes.Status404NotFound })
        {
            return type switch
            {
                IdentifierType.UserId => (new EventIds(value, null, null), null),
                IdentifierType.AnonymousId => (new EventIds(null, value, null), null),
                _ => (new EventIds(null, null, null), Problems.Create(StatusCodes.Status404NotFound, "profile_not_found", "No profile has this identifier",
                    $"No customer is known by {type}:{value}. Consent for someone not seen yet can be recorded by user_id or anonymous_id.", "identifier")),
            };
        }

        return (new EventIds(null, null, null), problem);
    }

    private static IResult Bad(string field, string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_consent", "The consent record cannot be used", detail, field);

    /// <summary>The consent answer: standing per purpose, decisions per category, history oldest first.</summary>
    internal static byte[] View(Profile profile, PurposeCatalog catalog, SourceRegistry sources)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, TandemJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("profileId"u8, profile.Id);
            w.WriteStartArray("purposes"u8);
            foreach (var purpose in catalog.Purposes)
            {
                var standing = PurposeCatalog.Standing(profile, purpose);
                w.WriteStartObject();
                w.WriteString("purpose"u8, purpose.Name);
                w.WriteString("status"u8, standing.Status is { } s ? Name(s) : null);
                w.WriteBoolean("allowed"u8, standing.Allowed);
                if (standing.Decision is { } d)
                {
                    WriteDecision(w, d, sources);
                }
                else
                {
                    w.WriteString("reason"u8, purpose.WithoutDecision == WithoutDecision.Allow ? "no decision; this purpose is opt-out" : "no decision; this purpose is opt-in");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("history"u8);
            foreach (var change in profile.Consent?.History ?? [])
            {
                w.WriteStartObject();
                w.WriteString("status"u8, Name(change.Status));
                w.WriteStartArray("purposes"u8);
                foreach (var name in catalog.PurposesOf(change.Decision.Category))
                {
                    w.WriteStringValue(name);
                }

                w.WriteEndArray();
                WriteDecision(w, change.Decision, sources);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenMemory.ToArray();
    }

    private static void WriteDecision(Utf8JsonWriter w, ConsentDecision d, SourceRegistry sources)
    {
        w.WriteString("category"u8, d.Category);
        w.WriteString("at"u8, DateTimeOffset.FromUnixTimeMilliseconds(d.AtMs));
        ProfileApi.WriteSource(w, sources, d.SourceKey);
        w.WriteNumber("seq"u8, d.Seq);
    }

    public static string Name(ConsentStatus status) => status switch
    {
        ConsentStatus.Granted => "granted",
        ConsentStatus.Revoked => "revoked",
        _ => "denied",
    };
}
