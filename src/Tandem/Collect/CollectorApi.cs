using Tandem.Hosting;

using Tandem.Trust;

namespace Tandem.Collect;

/// <summary>The Segment-compatible collection routes under <c>/v1</c>, open to browsers through CORS.</summary>
internal static class CollectorApi
{
    public const string CorsPolicy = "collector";

    private static readonly (string Path, MessageType? Type)[] Routes =
    [
        ("identify", MessageType.Identify), ("i", MessageType.Identify),
        ("track", MessageType.Track), ("t", MessageType.Track),
        ("page", MessageType.Page), ("p", MessageType.Page),
        ("screen", MessageType.Screen), ("s", MessageType.Screen),
        ("group", MessageType.Group), ("g", MessageType.Group),
        ("alias", MessageType.Alias), ("a", MessageType.Alias),
        ("batch", null), ("b", null), ("import", null),
    ];

    public static IServiceCollection AddCollector(this IServiceCollection services)
    {
        services.AddSingleton(CollectLimits.Default);
        services.AddSingleton<SpecParser>();
        services.AddSingleton<IngestionService>();
        services.AddSingleton<Collector>();
        services.AddSingleton<CollectMetrics>();
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy
            .SetIsOriginAllowed(_ => true)
            .AllowAnyHeader()
            .WithMethods("GET", "POST")
            .AllowCredentials()
            .SetPreflightMaxAge(TimeSpan.FromDays(1))));
        return services;
    }

    public static IEndpointRouteBuilder MapCollectorApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireCors(CorsPolicy).WithTags("Collect");
        foreach (var (path, type) in Routes)
        {
            v1.MapPost("/" + path, (HttpContext context, Collector collector) => collector.HandleAsync(context, type))
                .AllowPublic() // a write key, not a member or token, authorises collection
                .WithSummary(type is null ? "Stores a batch of Segment Spec events" : $"Stores one {type.Value.Name()} event");
        }

        v1.MapGet("/projects/{writeKey}/settings", (HttpContext context, string writeKey, Collector collector) => collector.SettingsAsync(context, writeKey))
            .AllowPublic()
            .WithSummary("Settings analytics.js loads before it starts");
        return app;
    }
}
