using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>The PII access policy: which role sees which class of data in full, masked, or not at all.</summary>
internal static class PiiApi
{
    public static RouteGroupBuilder MapPiiApi(this RouteGroupBuilder api)
    {
        var pii = api.MapGroup("/pii").WithTags("PII");
        pii.MapGet("/policy", (PiiGuard guard) => TypedResults.Text(guard.Policy.ToJson(), "application/json"))
            .RequireSignedIn().WithSummary("The access policy: role × class (green, yellow, red) → full, masked or hidden");
        pii.MapPut("/policy", PutPolicyAsync).RequireScope(Scopes.PolicyWrite)
            .WithSummary("Changes the access policy; cells left out keep their default; every problem is reported with its cell");
        return api;
    }

    private static async Task<IResult> PutPolicyAsync(HttpRequest request, PiiGuard guard, AuditLog audit, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        if (!AccessPolicy.TryParse(json!, out var policy, out var errors))
        {
            return Problems.Invalid("invalid_policy", "The policy cannot be used", [.. errors.Select(e => (e.Field, e.Detail))]);
        }

        var before = guard.Policy;
        guard.SetPolicy(policy);
        audit.Append(user.Actor(), "pii.policy_change", "pii:policy", JsonNode.Parse(before.ToJson()), JsonNode.Parse(policy.ToJson()));
        return TypedResults.Text(policy.ToJson(), "application/json");
    }
}
