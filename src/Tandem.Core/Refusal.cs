namespace Tandem;

/// <summary>How a refusal is answered: the API maps each kind to one status (<c>Problems.Answer</c> in Tandem's host).</summary>
public enum RefusalKind
{
    Invalid,
    Unauthorized,
    NotFound,
    Conflict,
    Forbidden,
    Throttled,

    /// <summary>Tandem cannot take the request now (the ingest log's backlog is past its bound); the caller retries in a second.</summary>
    Overloaded,

    /// <summary>Not ready yet (profiles still loading); the refusal's <c>retryAfterSeconds</c> says when to come back.</summary>
    Unavailable,
}

/// <summary>
/// Why a service did not do what it was asked, as data: the API, the CLI and the console each say it
/// their own way, and a test can read it without HTTP. The fields are those of a problem answer.
/// </summary>
/// <param name="RetryAfter">When a throttled caller may try again; the API sends it as Retry-After.</param>
public sealed record Refusal(RefusalKind Kind, string Code, string Title, string Detail, string? Field = null,
    IReadOnlyDictionary<string, object?>? Extensions = null, DateTimeOffset? RetryAfter = null)
{
    public static Refusal NotFound(string what, string id) =>
        new(RefusalKind.NotFound, "not_found", $"{what} not found", $"No {what.ToLowerInvariant()} has the id '{id}'. List them to find the right id.", "id");
}

/// <summary>What a service did, or why it did not.</summary>
public readonly record struct Outcome<T>(T? Value, Refusal? Refusal)
{
    public bool Succeeded => Refusal is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Refusal refusal) => new(default, refusal);
}
