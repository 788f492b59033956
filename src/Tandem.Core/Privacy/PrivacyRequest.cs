using System.Text.Json.Nodes;

namespace Tandem.Privacy;

/// <summary>The kinds of privacy request, as the API names them.</summary>
public static class PrivacyRequestTypes
{
    public const string Export = "export";
    public const string Delete = "delete";
    public const string Suppress = "suppress";
    public const string Unsuppress = "unsuppress";
    public const string DeleteAndSuppress = "delete_and_suppress";

    public static readonly IReadOnlyList<string> All = [Export, Delete, Suppress, Unsuppress, DeleteAndSuppress];
}

/// <summary>Where a request stands: received, then processing, then completed or failed (a failed one can be retried).</summary>
public static class PrivacyRequestStatus
{
    public const string Received = "received";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

/// <summary>One privacy request as kept.</summary>
/// <param name="Subject">The identifier as given (<c>email:ada@example.com</c>); once the person's data is deleted, only its type and a masked form remain.</param>
public sealed record PrivacyRequest(
    string Id,
    string Type,
    string Subject,
    string Status,
    string RequestedBy,
    DateTimeOffset ReceivedAt,
    DateTimeOffset DueAt,
    DateTimeOffset? CompletedAt,
    JsonObject? Result,
    string? Error,
    int Attempts)
{
    /// <summary>How long after it was received a request is due: the GDPR's month.</summary>
    public static readonly TimeSpan DueAfter = TimeSpan.FromDays(30);

    /// <summary>A request as it is filed: received now, due <see cref="DueAfter"/> later, under a new time-ordered id.</summary>
    public static PrivacyRequest Receive(string type, string subject, string requestedBy, DateTimeOffset now) =>
        new("prq_" + Guid.CreateVersion7(now).ToString("N"), type, subject, PrivacyRequestStatus.Received, requestedBy, now, now + DueAfter, null, null, null, 0);

    /// <summary>True when <paramref name="text"/> has the shape of a request id: <c>prq_</c> and a GUID's 32 hex digits.</summary>
    public static bool IsId(string text) =>
        text.StartsWith("prq_", StringComparison.Ordinal) && Guid.TryParseExact(text.AsSpan(4), "N", out _);

    public bool Open => Status is PrivacyRequestStatus.Received or PrivacyRequestStatus.Processing or PrivacyRequestStatus.Failed;
}
