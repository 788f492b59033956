namespace Tandem.Hosting;

/// <summary>Every log message of Tandem, source-generated: consistent wording, no allocation when disabled.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Request body refused for source {SourceId}: {Reason}")]
    public static partial void BodyRefused(ILogger logger, string sourceId, string reason);

    [LoggerMessage(2, LogLevel.Information, "Workspace created in {DataDirectory}")]
    public static partial void WorkspaceCreated(ILogger logger, string dataDirectory);

    [LoggerMessage(3, LogLevel.Information, "Tandem is listening on {Urls} with data in {DataDirectory}")]
    public static partial void Listening(ILogger logger, string urls, string dataDirectory);

    [LoggerMessage(4, LogLevel.Information, "Demo traffic sent to {Sources} sources: {Outcome}")]
    public static partial void DemoSent(ILogger logger, int sources, string outcome);

    [LoggerMessage(5, LogLevel.Error, "Demo traffic failed")]
    public static partial void DemoFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "{Method} {Route} answered {Status} in {Milliseconds:0.0} ms")]
    public static partial void Request(ILogger logger, string method, string route, int status, double milliseconds);

    [LoggerMessage(20, LogLevel.Warning, "OIDC sign-in failed at the callback: {Reason}")]
    public static partial void OidcSignInFailed(ILogger logger, string reason, Exception? exception);
}
