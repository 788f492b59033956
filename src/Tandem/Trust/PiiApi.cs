using System.Security.Claims;
using Tandem.Hosting;
using Tandem.Settings;

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

    private static async Task<IResult> PutPolicyAsync(HttpRequest request, SettingsService settings, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        var change = settings.Save(user.Actor(), PiiPolicyDocument.Instance, json!);
        return change.Refused is { } refused ? refused.AsProblem() : TypedResults.Text(change.After!.ToJson(), "application/json");
    }
}
