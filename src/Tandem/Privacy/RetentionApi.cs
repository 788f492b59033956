using System.Security.Claims;
using System.Text.Json.Nodes;
using Tandem.Hosting;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Privacy;

/// <summary>
/// Retention: the policy (how long events are kept), the runs that enforce it, and running it now.
/// Changes and runs need <c>privacy:admin</c>; reading the policy and the run reports needs
/// <c>audit:read</c>, since they are the record of what was deleted and when.
/// </summary>
internal static class RetentionApi
{
    public const int DefaultRuns = 20;
    public const int MaxRuns = 100;

    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddSingleton<RetentionJob>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        return services;
    }

    public static RouteGroupBuilder MapRetentionApi(this RouteGroupBuilder api)
    {
        var retention = api.MapGroup("/retention").WithTags("Retention");
        retention.MapGet("", (RetentionJob job, IRetentionRunStore runs) => TypedResults.Ok(View(job, runs)))
            .RequireScope(Scopes.AuditRead).WithSummary("The retention policy, when the job runs next, and its last run");
        retention.MapPut("", PutPolicyAsync).RequireScope(Scopes.PrivacyAdmin)
            .WithSummary("Replaces the retention policy: {\"defaultDays\": 395, \"events\": {\"Page Viewed\": 30}, \"types\": {\"page\": 90}}; null keeps forever");
        retention.MapPost("/runs", async (RetentionJob job, ClaimsPrincipal user) => TypedResults.Ok(await job.RunAsync(RetentionJob.Manual, user.Actor())))
            .RequireScope(Scopes.PrivacyAdmin).WithSummary("Runs retention now and answers what it removed");
        retention.MapGet("/runs", ListRuns).RequireScope(Scopes.AuditRead)
            .WithSummary("Recent retention runs, newest first; ?limit=N (≤ 100)");
        return api;
    }

    private static JsonObject View(RetentionJob job, IRetentionRunStore runs) => new()
    {
        ["policy"] = job.Policy.ToJson(),
        ["interval"] = job.Interval.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        ["nextRunAt"] = job.NextRunAt,
        ["lastRun"] = runs.Latest() is { } last ? System.Text.Json.JsonSerializer.SerializeToNode(last, System.Text.Json.JsonSerializerOptions.Web) : null,
    };

    private static async Task<IResult> PutPolicyAsync(HttpRequest request, SettingsService settings, RetentionJob job, IRetentionRunStore runs, ClaimsPrincipal user)
    {
        var (json, problem) = await JsonBody.ReadTextAsync(request);
        if (problem is not null)
        {
            return problem;
        }

        var change = settings.Save(user.Actor(), RetentionPolicyDocument.Instance, json!);
        return change.Refused is { } refused ? refused.AsProblem() : TypedResults.Ok(View(job, runs));
    }

    private static IResult ListRuns(IRetentionRunStore runs, string? limit)
    {
        var (size, invalid) = Paging.Limit(limit, DefaultRuns, MaxRuns);
        return invalid ?? TypedResults.Ok(runs.Recent(size));
    }
}
