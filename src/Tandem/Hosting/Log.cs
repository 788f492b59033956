namespace Tandem.Hosting;

/// <summary>
/// Every log message of Tandem, source-generated: consistent wording, no allocation when disabled. Event ids
/// by capability: host and collector 1-19, sign-in 20-39, audit log 60-69, profile processor 100-119,
/// privacy requests 200-209, retention 210-219.
/// </summary>
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

    // Audit log (60-69)
    [LoggerMessage(60, LogLevel.Error, "The audit log's anchor does not match its records: {Problem} The finding is recorded as the next audit record; run ./tandem audit verify.")]
    public static partial void TailMismatch(ILogger logger, string problem);

    [LoggerMessage(61, LogLevel.Error, "The audit anchor cannot be written ({Reason}). Changes are refused with 503 audit_unavailable until it can; the next one rewrites it.")]
    public static partial void AnchorUnwritable(ILogger logger, string reason);

    [LoggerMessage(62, LogLevel.Warning, "The audit log is not signed (no $TANDEM_AUDIT_KEY or --audit-key-file): edits are detected, but someone who can write the data folder can forge records, cut the tail or empty the log undetected. See docs/trust.md.")]
    public static partial void Unsigned(ILogger logger);

    [LoggerMessage(63, LogLevel.Error, "A summary of refused calls could not be written to the audit log: {Reason}")]
    public static partial void SummaryFailed(ILogger logger, string reason);

    // Profile processor (100-119)
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Profiles loaded from snapshot at log position {Position}: {Profiles} profiles")]
    public static partial void SnapshotLoaded(ILogger logger, long position, int profiles);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "The profile snapshot could not be read; it was moved to {Path} and profiles are rebuilt from the log")]
    public static partial void SnapshotUnreadable(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Profile snapshot written at log position {Position}: {Profiles} profiles")]
    public static partial void SnapshotWritten(ILogger logger, long position, int profiles);

    [LoggerMessage(EventId = 103, Level = LogLevel.Error, Message = "The profile snapshot could not be written; will try again")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Event {Seq} was not applied to profiles ({Reason}): {Detail}. It stays in the log and is listed at /api/v1/processor/not-applied")]
    public static partial void EventNotApplied(ILogger logger, long seq, string reason, string detail);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Event {Seq} names no customer ({Reason}); counted at /api/v1/processor/not-applied")]
    public static partial void EventUnattributed(ILogger logger, long seq, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Event {Seq} could not be folded into the computed trait {Trait}")]
    public static partial void BackfillFailed(ILogger logger, long seq, string trait, Exception exception);

    [LoggerMessage(EventId = 107, Level = LogLevel.Critical, Message = "The profile processor stopped")]
    public static partial void ProcessorFailed(ILogger logger, Exception exception);

    // Privacy requests (200-209)
    [LoggerMessage(EventId = 200, Level = LogLevel.Error, Message = "Privacy request {Id} failed; it can be retried")]
    public static partial void RequestFailed(ILogger logger, string id, Exception exception);

    // Retention (210-219)
    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Retention run {Id} {Status}: {Events} events and {Rejections} refused events removed")]
    public static partial void RunFinished(ILogger logger, long id, string status, long events, long rejections);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "A retention run failed; the next run tries again")]
    public static partial void RunFailed(ILogger logger, Exception exception);
}
