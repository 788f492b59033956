using System.Buffers;
using System.Security.Claims;
using System.Text.Json;
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
    public static RouteGroupBuilder MapConsentApi(this RouteGroupBuilder root)
    {
        var api = root.MapGroup("").WhenProfilesLoaded();

        var consent = api.MapGroup("/consent").WithTags("Consent");
        consent.MapGet("/purposes", (ConsentService service) => TypedResults.Text(service.Purposes.ToJson(), "application/json"))
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

    private static IResult Read(string identifier, ConsentService service, SourceRegistry sources, PiiGuard pii, HttpContext context)
    {
        // Through the caller's lens: a lookup by a type it may not see answers as an unknown profile.
        var standing = service.Read(identifier, pii.For(context).Hides);
        return standing.Refusal is { } refusal ? Problems.Answer(refusal) : TypedResults.Bytes(Json(standing.Value!, sources), "application/json");
    }

    private static async Task<IResult> RecordAsync(string identifier, HttpRequest request, ConsentService service, SourceRegistry sources, ClaimsPrincipal user,
        PiiGuard pii, CancellationToken cancellationToken)
    {
        var lens = pii.For(request.HttpContext);
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        var record = service.ReadRequest(json!);
        if (record.Refusal is { } invalid)
        {
            return Problems.Answer(invalid);
        }

        var standing = await service.RecordAsync(user.ToCaller(), identifier, record.Value!, lens.Hides, cancellationToken);
        return standing.Refusal is { } refusal ? Problems.Answer(refusal) : TypedResults.Bytes(Json(standing.Value!, sources), "application/json");
    }

    /// <summary>The consent answer of a profile, as a privacy export includes it.</summary>
    internal static byte[] View(Profile profile, PurposeCatalog catalog, SourceRegistry sources) => Json(ConsentStanding.Of(profile, catalog), sources);

    /// <summary>The consent answer: standing per purpose, decisions per category, history oldest first.</summary>
    private static byte[] Json(ConsentStanding consent, SourceRegistry sources)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, TandemJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("profileId"u8, consent.ProfileId);
            w.WriteStartArray("purposes"u8);
            foreach (var (purpose, standing) in consent.Purposes)
            {
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
            foreach (var change in consent.History)
            {
                w.WriteStartObject();
                w.WriteString("status"u8, Name(change.Status));
                w.WriteStartArray("purposes"u8);
                foreach (var name in consent.Catalog.PurposesOf(change.Decision.Category))
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
