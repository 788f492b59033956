using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>A consent record as asked: each purpose given (true) or refused (false), in the order sent, and when the customer decided.</summary>
internal sealed record ConsentRecordRequest(IReadOnlyDictionary<string, bool> Purposes, DateTimeOffset At);

/// <summary>A customer's consent, read under the reader lock: standing per purpose of the catalog, and every change, oldest first.</summary>
internal sealed record ConsentStanding(string ProfileId, PurposeCatalog Catalog, IReadOnlyList<(Purpose Purpose, PurposeStanding Standing)> Purposes,
    IReadOnlyList<ConsentChange> History)
{
    public static ConsentStanding Of(Profile profile, PurposeCatalog catalog) =>
        new(profile.Id, catalog, [.. catalog.Purposes.Select(p => (p, PurposeCatalog.Standing(profile, p)))], profile.Consent?.History ?? []);
}

/// <summary>
/// The consent rules without HTTP: what a consent record may say, and recording it as an event of the
/// customer, through the same ingestion as the collector's events, answered once the profile holds it.
/// </summary>
internal sealed class ConsentService(ConsentRegistry registry, IngestionService ingestion, SpecParser parser, ProfileProcessor processor,
    AuditLog audit, TimeProvider time)
{
    /// <summary>The event consent recorded through the API is stored as: the name Segment's consent tools send.</summary>
    public const string ConsentEvent = "Segment Consent Preference Updated";

    /// <summary>Source key of events Tandem's own API writes to the log (real sources start at 1).</summary>
    public const int ApiSourceKey = 0;

    /// <summary>How far ahead of the clock a decision's time may be (a client's clock runs a little fast).</summary>
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The purposes in force.</summary>
    public PurposeCatalog Purposes => registry.Catalog;

    /// <summary>Reads <c>{"purposes":{"marketing":true,…},"timestamp"?}</c>: known purposes only, booleans only, no time in the future.</summary>
    public Outcome<ConsentRecordRequest> ReadRequest(string json)
    {
        var now = time.GetUtcNow();
        var catalog = registry.Catalog;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return Bad("body", "The body is not valid JSON: " + ex.Message);
        }

        if (root is not JsonObject body || body["purposes"] is not JsonObject purposes || purposes.Count == 0)
        {
            return Bad("purposes", "Send {\"purposes\": {\"marketing\": true, \"advertising\": false}} with at least one purpose.");
        }

        foreach (var (key, _) in body)
        {
            if (key is not ("purposes" or "timestamp"))
            {
                return Bad(key, $"'{key}' is not a field of a consent record; send purposes and, optionally, timestamp.");
            }
        }

        // Filled in the order sent and never removed from, so it keeps that order (the event's preferences follow it).
        var decisions = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var (name, value) in purposes)
        {
            if (catalog.Find(name) is null)
            {
                return Bad($"purposes.{name}", $"'{name}' is not a purpose of this workspace; use one of: {string.Join(", ", catalog.Purposes.Select(p => p.Name))}.");
            }

            if (value is not JsonValue v || v.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Bad($"purposes.{name}", "Each purpose takes true (consent given) or false (refused or withdrawn).");
            }

            decisions[name] = v.GetValue<bool>();
        }

        var at = now;
        if (body["timestamp"] is { } stamp)
        {
            if (stamp is not JsonValue t || t.GetValueKind() != JsonValueKind.String
                || !DateTimeOffset.TryParse(t.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out at))
            {
                return Bad("timestamp", "timestamp is an ISO 8601 time with its offset, such as 2026-11-23T10:00:00Z: when the customer decided.");
            }

            if (at > now + FutureTolerance)
            {
                return Bad("timestamp", "timestamp is in the future; send when the customer decided, or leave it out for now.");
            }
        }

        return new ConsentRecordRequest(decisions, at);
    }

    /// <summary>The customer's consent; <paramref name="hidden"/> (the caller's lens) makes a lookup by a type it may not see answer as an unknown profile.</summary>
    public Outcome<ConsentStanding> Read(string identifier, Func<string, bool>? hidden) =>
        ProfileApi.Find(identifier, processor, (_, profile) => ConsentStanding.Of(profile, registry.Catalog), hidden);

    /// <summary>
    /// Records the decisions as a consent event of the customer (durable before the answer), waits
    /// until the profile holds it, audits it, and answers the new standing. Refused for a suppressed
    /// person (a record would bring a profile back) and, like any ingestion, when the log is overloaded.
    /// </summary>
    public async Task<Outcome<ConsentStanding>> RecordAsync(Caller caller, string identifier, ConsentRecordRequest request, Func<string, bool>? hidden,
        CancellationToken cancellationToken = default)
    {
        var named = EventIdentifiers(identifier, hidden);
        if (named.Refusal is { } unknown)
        {
            return unknown;
        }

        var ids = named.Value!;
        var preferences = new JsonObject();
        foreach (var (purpose, granted) in request.Purposes)
        {
            preferences[purpose] = granted;
        }

        var message = new JsonObject
        {
            ["type"] = "track",
            ["event"] = ConsentEvent,
            ["messageId"] = "tandem-consent-" + Guid.NewGuid().ToString("N"),
            ["timestamp"] = request.At.ToString("O", CultureInfo.InvariantCulture),
            ["properties"] = new JsonObject(),
            ["context"] = new JsonObject
            {
                ["consent"] = new JsonObject { ["categoryPreferences"] = preferences },
                ["library"] = new JsonObject { ["name"] = "tandem-api" },
                ["tandem"] = new JsonObject { ["actor"] = caller.Actor },
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

        var now = time.GetUtcNow();
        var outcome = parser.Parse(JsonSerializer.SerializeToUtf8Bytes(message), MessageType.Track, now, clientIp: null);
        if (outcome.Error is not null || outcome.Accepted.Count != 1)
        {
            var why = outcome.Error?.Detail ?? outcome.Rejected.FirstOrDefault()?.Detail ?? "unknown";
            return new Refusal(RefusalKind.Invalid, "invalid_consent", "The consent event could not be formed", why, "identifier");
        }

        var admission = ingestion.Admit(new IngestRequest(ApiSourceKey, outcome.Accepted, [], now, WhenSuppressed.Refuse));
        if (admission.Refusal is { } refusal)
        {
            return refusal.Kind == RefusalKind.Conflict
                ? refusal with
                {
                    Detail = "A privacy request suppressed this person, so nothing about them is stored, consent included. Lift it with an unsuppress request first.",
                    Field = "identifier",
                }
                : refusal;
        }

        var stored = await admission.Commit!;
        await processor.WhenProcessedAsync(stored.LastSeq, cancellationToken);
        var standing = Read(identifier, hidden);
        if (standing.Refusal is null)
        {
            audit.Record(caller.Actor, "consent.recorded", "profile:" + standing.Value!.ProfileId, after: preferences, detail: $"at {request.At:O}");
        }

        return standing;
    }

    private sealed record EventIds(string? UserId, string? AnonymousId, Identifier? Other);

    /// <summary>
    /// The identifiers the consent event carries. A known customer is named by their user id (or an
    /// anonymous id) as well as the identifier given, so the event is a valid Spec event; consent for
    /// someone never seen can be recorded ahead only by user_id or anonymous_id.
    /// </summary>
    private Outcome<EventIds> EventIdentifiers(string identifier, Func<string, bool>? hidden)
    {
        var held = ProfileApi.Find(identifier, processor, (_, p) =>
            (UserId: p.Identifiers.FirstOrDefault(l => l.Identifier.Type == IdentifierType.UserId).Identifier.Value,
             AnonymousId: p.Identifiers.FirstOrDefault(l => l.Identifier.Type == IdentifierType.AnonymousId).Identifier.Value), hidden);
        _ = ProfileKey.TryParsePathSegment(identifier, out var key);
        var (type, value) = key;
        if (held.Refusal is null)
        {
            var (userId, anonymousId) = held.Value;
            Identifier? other = type is IdentifierType.UserId or IdentifierType.AnonymousId or ProfileKey.ProfileIdType ? null : new Identifier(type, value);
            return new EventIds(userId, userId is null ? anonymousId : null, other);
        }

        if (held.Refusal.Kind == RefusalKind.NotFound)
        {
            return type switch
            {
                IdentifierType.UserId => new EventIds(value, null, null),
                IdentifierType.AnonymousId => new EventIds(null, value, null),
                _ => new Refusal(RefusalKind.NotFound, "profile_not_found", "No profile has this identifier",
                    $"No customer is known by {type}:{value}. Consent for someone not seen yet can be recorded by user_id or anonymous_id.", "identifier"),
            };
        }

        return held.Refusal;
    }

    private static Refusal Bad(string field, string detail) =>
        new(RefusalKind.Invalid, "invalid_consent", "The consent record cannot be used", detail, field);
}
