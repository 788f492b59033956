using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Hosting;

namespace Tandem.Settings;

/// <summary>How the API answers a refused settings document.</summary>
internal static class SettingsProblems
{
    /// <summary>A 400 that lists every problem with its field (the policy documents).</summary>
    public static ProblemHttpResult AsProblem(this SettingsRefusal refusal) =>
        Problems.Invalid(refusal.Code, refusal.Title, [.. refusal.Errors.Select(e => (e.Field, e.Detail))]);

    /// <summary>A 400 for the first problem alone, with the field it names (OIDC stops at the first).</summary>
    public static ProblemHttpResult AsSingleProblem(this SettingsRefusal refusal) =>
        Problems.Create(StatusCodes.Status400BadRequest, refusal.Code, refusal.Title, refusal.Errors[0].Detail, refusal.Errors[0].Field);
}
