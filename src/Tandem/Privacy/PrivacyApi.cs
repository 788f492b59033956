using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Hosting;
using Tandem.Storage;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>Privacy requests (export, delete, suppress, unsuppress, delete and suppress) and the suppression list.</summary>
internal static class PrivacyApi
{
    private const int MaxIdentifierLength = 1_000;

    public static RouteGroupBuilder MapPrivacyApi(this RouteGroupBuilder root)
    {
        var privacy = root.MapGroup("/privacy").WithTags("Privacy").WhenProfilesLoaded();
        privacy.MapPost("/requests", FileAsync).RequireScope(Scopes.PrivacyAdmin)
            .WithSummary("Files a privacy request {\"type\",\"identifier\"} and carries it out; an export answers the person's data in \"export\"");
        privacy.MapGet("/requests", List).RequireScope(Scopes.PrivacyAdmin)
            .WithSummary("Privacy requests, newest first (?status=, ?type=, ?limit= ≤ 200, ?cursor=)");
        privacy.MapGet("/requests/{id}", One).RequireScope(Scopes.PrivacyAdmin).WithSummary("One privacy request: status, due date, what was done");
        privacy.MapPost("/requests/{id}/retry", RetryAsync).RequireScope(Scopes.PrivacyAdmin).WithSummary("Runs a failed privacy request again");
        privacy.MapGet("/suppressions", (SuppressionList list) => TypedResults.Ok(new { data = list.List() })).RequireScope(Scopes.PrivacyAdmin)
            .WithSummary("Suppressions in force: the request that made each, the identifier types it covers, the events it dropped");
        return root;
    }

    private static async Task<IResult> FileAsync(HttpContext context, PrivacyDesk desk, ProfileProcessor processor, TimeProvider time, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json!, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            return Bad("body", "The body is not valid JSON: " + ex.Message);
        }

        if (root is not JsonObject body)
        {
            return Bad("body", "Send {\"type\": \"delete\", \"identifier\": \"email:ada@example.com\"}.");
        }

        foreach (var (key, _) in body)
        {
            if (key is not ("type" or "identifier"))
            {
                return Bad(key, $"'{key}' is not a field of a privacy request; send type and identifier.");
            }
        }

        if (JsonBody.Text(body["type"]) is not { } type || !PrivacyRequestTypes.All.Contains(type))
        {
            return Bad("type", $"type is one of: {string.Join(", ", PrivacyRequestTypes.All)}.");
        }

        if (JsonBody.Text(body["identifier"]) is not { } identifier || !ProfileKey.TryParse(identifier, out var subject))
        {
            return Bad("identifier", "identifier is type:value, such as email:ada@example.com, user_id:42 or profile_id:prf_00000001.");
        }

        if (identifier.Length > MaxIdentifierLength)
        {
            return Bad("identifier", $"identifier is at most {MaxIdentifierLength} characters.");
        }

        switch (processor.Read(engine => subject.Check(engine.Rules, out _)))
        {
            case KeyCheck.UnknownType:
                var known = processor.Read(engine => string.Join(", ", engine.Rules.Types.Select(t => t.Name)));
                return Bad("identifier", $"'{subject.Type}' is not an identifier type of this workspace; use {ProfileKey.ProfileIdType} or one of: {known}.");
            case KeyCheck.Blocked:
                return Bad("identifier", $"The {subject.Type} given is a value no identifier may take (such as \"unknown\" or \"null\", or one the identity rules block), so it names no one.");
        }

        if (subject.IsProfileId && type is PrivacyRequestTypes.Unsuppress)
        {
            return Bad("identifier", "A suppression is lifted by one of the person's identifiers (such as their email), not a profile id: their profile may be gone.");
        }

        var (request, export) = await desk.FileAsync(type, identifier, user.Actor());
        var view = PrivacyRequestView.Of(request, time.GetUtcNow(), export);
        return request.Status == PrivacyRequestStatus.Completed
            ? TypedResults.Json(view, statusCode: StatusCodes.Status201Created)
            : Problems.Create(StatusCodes.Status500InternalServerError, "privacy_request_failed", "The privacy request was recorded but could not be carried out",
                $"{request.Error} The request {request.Id} is kept as failed; retry it with POST /api/v1/privacy/requests/{request.Id}/retry.", null,
                new Dictionary<string, object?> { ["request"] = view });
    }

    private static IResult List(string? status, string? type, string? limit, string? cursor, IPrivacyRequestStore requests, TimeProvider time)
    {
        var (size, badLimit) = Paging.Limit(limit, 50, 200);
        if (badLimit is not null)
        {
            return badLimit;
        }

        if (!string.IsNullOrEmpty(cursor) && !PrivacyRequest.IsId(cursor))
        {
            return Paging.InvalidCursor("cursor", cursor, "the cursor.next value of the previous page (a request id, prq_…), unchanged");
        }

        if (status is not null && status is not (PrivacyRequestStatus.Received or PrivacyRequestStatus.Processing or PrivacyRequestStatus.Completed or PrivacyRequestStatus.Failed))
        {
            return Bad("status", "status is received, processing, completed or failed.");
        }

        if (type is not null && !PrivacyRequestTypes.All.Contains(type))
        {
            return Bad("type", $"type is one of: {string.Join(", ", PrivacyRequestTypes.All)}.");
        }

        var page = requests.List(status, type, string.IsNullOrEmpty(cursor) ? null : cursor, size + 1);
        var now = time.GetUtcNow();
        var more = page.Count > size;
        var shown = page.Take(size).ToList();
        return TypedResults.Ok(new
        {
            data = shown.Select(r => PrivacyRequestView.Of(r, now)),
            cursor = new { next = more ? shown[^1].Id : null, hasMore = more },
        });
    }

    private static IResult One(string id, IPrivacyRequestStore requests, TimeProvider time) =>
        requests.Find(id) is { } request ? TypedResults.Ok(PrivacyRequestView.Of(request, time.GetUtcNow())) : NotFound(id);

    private static async Task<IResult> RetryAsync(string id, HttpContext context, IPrivacyRequestStore requests, PrivacyDesk desk, AuditLog audit, TimeProvider time, ClaimsPrincipal user)
    {
        if (requests.Find(id) is not { } request)
        {
            return NotFound(id);
        }

        if (request.Status != PrivacyRequestStatus.Failed)
        {
            return Problems.Create(StatusCodes.Status409Conflict, "not_failed", "Only a failed request is retried",
                $"Request {id} is {request.Status}; nothing to retry.", "id");
        }

        audit.Record(user, "privacy.request_retried", "privacy:" + id);
        var (ran, export) = await desk.RunAsync(request);
        return TypedResults.Ok(PrivacyRequestView.Of(ran, time.GetUtcNow(), export));
    }

    private static IResult NotFound(string id) =>
        Problems.Create(StatusCodes.Status404NotFound, "privacy_request_not_found", "No such privacy request",
            $"No privacy request has the id '{id}'. GET /api/v1/privacy/requests lists them.", "id");

    private static IResult Bad(string field, string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_privacy_request", "The privacy request cannot be filed", detail, field);
}
