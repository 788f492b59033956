using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Tandem.Collect;
using Tandem.Privacy;
using Tandem.Settings;
using Tandem.Sources;
using Tandem.Storage;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Hosting;

/// <summary>How one Tandem server runs: where its data lives, where it listens, its limits.</summary>
public sealed record TandemOptions
{
    public string DataDirectory { get; init; } = "./tandem-data";

    public string Urls { get; init; } = "http://127.0.0.1:5080";

    /// <summary>Admin token to create on first start; when null one is generated and printed once.</summary>
    public string? AdminToken { get; init; }

    public IngestLogOptions IngestLog { get; init; } = new();

    public ProcessorOptions Processor { get; init; } = new();

    public RetentionOptions Retention { get; init; } = new();

    /// <summary>
    /// Reverse proxies (addresses, or networks such as <c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c> are believed: behind them, the caller's address (sign-in throttling, the
    /// audit log, <c>context.ip</c>) and scheme (the session cookie's <c>Secure</c> flag) are the client's.
    /// Empty by default: forwarded headers from anyone else are ignored.
    /// </summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>The least severe log level written. ASP.NET Core's own lines start at Warning unless this is Debug or Trace.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>One log line per HTTP request (method, route pattern, status, duration; see <see cref="RequestLog"/>); off by default, so the first-start token stays in view.</summary>
    public bool LogRequests { get; init; }

    /// <summary>Open connections at once; further ones are closed as they open (see <see cref="ServerLimits"/>).</summary>
    public int MaxConnections { get; init; } = ServerLimits.DefaultMaxConnections;

    /// <summary>The audit log's signing key (at least 32 characters; <c>TANDEM_AUDIT_KEY</c>); ignored when <see cref="AuditKeyFile"/> is set.</summary>
    public string? AuditKey { get; init; }

    /// <summary>A file outside the data folder holding the audit log's signing key.</summary>
    public string? AuditKeyFile { get; init; }

    /// <summary>Where first-start secrets are printed (stdout by default).</summary>
    public TextWriter? Announce { get; init; }
}

/// <summary>Composes the Tandem server: one place that lists every part, in order.</summary>
public static class TandemHost
{
    /// <exception cref="StartRefusedException">The chosen admin token is too weak, a URL is not an address, or its port is taken.</exception>
    public static WebApplication Build(TandemOptions options, TimeProvider? time = null, Action<ILoggingBuilder>? logging = null)
    {
        if (AdminTokenRule.Weakness(options.AdminToken) is { } weak)
        {
            throw new StartRefusedException($"TANDEM_ADMIN_TOKEN is too weak to be the admin token: {weak} {AdminTokenRule.HowToMakeOne}");
        }

        var forwarded = ForwardedHeaders(options.TrustedProxies);
        ListenAddresses.Check(options.Urls); // a busy port or a typo is said before the data folder is touched
        Trust.AuditKey.From(options); // so is an audit key that is too short or kept in the data folder
        var folderLock = DataFolderLock.Acquire(options.DataDirectory);
        try
        {
            return Build(options, time, logging, forwarded, folderLock);
        }
        catch
        {
            folderLock.Dispose();
            throw;
        }
    }

    private static WebApplication Build(TandemOptions options, TimeProvider? time, Action<ILoggingBuilder>? logging, ForwardedHeadersOptions? forwarded,
        DataFolderLock folderLock)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            ServerLimits.Apply(kestrel.Limits, options.MaxConnections);
        });
        ConfigureLogging(builder, options);
        logging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(_ => folderLock); // made by a factory, so the container releases it when the app is disposed
        services.AddSingleton(options);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Encoder = TandemJson.Encoder;
            // Stored events may nest 64 deep (the collector's limit) and answers wrap them a few levels
            // more (feed, page, item): the default of 64 would fail the answer for such an event.
            json.SerializerOptions.MaxDepth = TandemJson.MaxDepth;
        });
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton<SettingsService>();
        services.AddEmbeddedStorage(options);
        services.AddSingleton<ConsumerPositions>();
        services.AddSingleton<SourceRegistry>();
        services.AddSingleton<SourcesService>();
        services.AddTrust(options.DataDirectory);
        services.AddSingleton<Workspace>();
        services.AddCollector();
        services.AddSingleton<UnifySettings>();
        services.AddSingleton<ProfileProcessor>();
        services.AddHostedService(sp => sp.GetRequiredService<ProfileProcessor>());
        services.AddSingleton<UnifyMetrics>();
        services.AddSingleton<ConsentRegistry>();
        services.AddSingleton<ConsentService>();
        services.AddSingleton(sp => new SuppressionList(sp.GetRequiredService<ISuppressionStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<UnifySettings>()));
        services.AddSingleton<PrivacyDesk>();
        services.AddHostedService(sp => sp.GetRequiredService<PrivacyDesk>());
        services.AddRetention();
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = FrameworkProblems.Explain);
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // A client's malformed parameter is answered with a problem; it is not a server error to log.
        services.Configure<ExceptionHandlerOptions>(o => o.SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException);
        services.AddOpenApi();
        services.AddHealthChecks()
            .AddCheck<IngestLogHealthCheck>("ingest-log", tags: ["ready"])
            .AddCheck<ProcessorHealthCheck>("profile-processor", tags: ["ready"]);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(CollectMetrics.MeterName, UnifyMetrics.MeterName, RetentionJob.MeterName, AuditLog.MeterName)
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());

        var app = builder.Build();
        app.Services.GetRequiredService<DataFolderLock>(); // first resolved, so last released: after every store is closed
        app.Services.GetRequiredService<Workspace>().EnsureCreated();
        app.Services.GetRequiredService<CollectMetrics>(); // instruments exist from the first scrape, not the first event
        app.Services.GetRequiredService<UnifyMetrics>();
        app.Services.GetRequiredService<AuditLog>(); // says at start whether the log is signed
        app.Services.GetRequiredService<OidcConfiguration>(); // adds the OIDC sign-in scheme when it is configured

        if (forwarded is not null)
        {
            app.UseForwardedHeaders(forwarded);
        }

        if (options.LogRequests)
        {
            app.UseRequestLog();
        }

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCors();
        app.UseAuthentication(); // no default scheme: it only answers the OIDC callback
        app.UseTokenCallAudit(); // before authorization, so refused calls are recorded too
        app.UseAuthorization();
        app.MapCollectorApi();
        app.MapProfileApi();
        app.MapGroup("/api/v1").MapSourcesApi().MapUnifyApi().MapTrustApi().MapOidcApi().MapAuditApi().MapPiiApi().MapConsentApi().MapProfileExportApi()
            .MapPrivacyApi().MapRetentionApi();
        app.MapOpenApi("/openapi/{documentName}.json").AllowPublic();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false }).AllowPublic();
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") }).AllowPublic();
        app.MapPrometheusScrapingEndpoint("/metrics").AllowPublic();
        return app;
    }

    /// <summary>
    /// Tandem's own lines at the chosen level; ASP.NET Core's at Warning, as its templates do (it writes four
    /// Information lines per request, which would scroll the first-start admin token away at once), or lower
    /// for Debug and Trace, except the categories that write URLs (<see cref="RequestLog.QuietCategories"/>):
    /// those stay at Warning, so no level puts a customer's email or search term in the log.
    /// </summary>
    private static void ConfigureLogging(WebApplicationBuilder builder, TandemOptions options)
    {
        builder.Logging.SetMinimumLevel(options.LogLevel);
        var framework = options.LogLevel < LogLevel.Information ? options.LogLevel : (LogLevel)Math.Max((int)options.LogLevel, (int)LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", framework);
        foreach (var category in RequestLog.QuietCategories)
        {
            builder.Logging.AddFilter(category, (LogLevel)Math.Max((int)framework, (int)LogLevel.Warning));
        }

        builder.Logging.AddFilter(RequestLog.Category, options.LogRequests ? LogLevel.Information : LogLevel.None);
    }

    /// <summary>What to believe of forwarded headers, and from whom; null when no proxy is trusted.</summary>
    /// <exception cref="ArgumentException">An entry is neither an IP address nor a network.</exception>
    private static ForwardedHeadersOptions? ForwardedHeaders(IReadOnlyList<string> proxies)
    {
        if (proxies.Count == 0)
        {
            return null;
        }

        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
            ForwardLimit = 1, // the address the nearest trusted proxy saw; what the client wrote before it is not evidence
        };
        forwarded.KnownProxies.Clear(); // the defaults trust loopback, which only a deliberate setting should
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            var text = proxy.Trim();
            if (System.Net.IPAddress.TryParse(text, out var address))
            {
                forwarded.KnownProxies.Add(address);
            }
            else if (System.Net.IPNetwork.TryParse(text, out var network))
            {
                forwarded.KnownIPNetworks.Add(network);
            }
            else
            {
                throw new ArgumentException(
                    $"Trusted proxy '{proxy}' is neither an IP address (10.0.0.5, ::1) nor a network in CIDR form (10.0.0.0/8).", nameof(proxies));
            }
        }

        return forwarded;
    }

    private sealed class ProcessorHealthCheck(ProfileProcessor processor) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(processor.Fault is { } fault
                ? HealthCheckResult.Unhealthy("The profile processor stopped: " + fault.Message)
                : processor.Loaded
                    ? HealthCheckResult.Healthy($"position {processor.Position}")
                    : HealthCheckResult.Degraded("Loading profiles from the snapshot"));
    }

    private sealed class IngestLogHealthCheck(IEventLog log) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(log.Fault is { } fault
                ? HealthCheckResult.Unhealthy("The ingest log writer stopped: " + fault.Message)
                : HealthCheckResult.Healthy($"head {log.Head}, backlog {log.PendingEvents}"));
    }
}
