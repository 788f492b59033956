using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Tandem.Storage;

namespace Tandem.Privacy;

/// <summary>The kinds of privacy request, as the API names them.</summary>
internal static class PrivacyRequestTypes
{
    public const string Export = "export";
    public const string Delete = "delete";
    public const string Suppress = "suppress";
    public const string Unsuppress = "unsuppress";
    public const string DeleteAndSuppress = "delete_and_suppress";

    public static readonly IReadOnlyList<string> All = [Export, Delete, Suppress, Unsuppress, DeleteAndSuppress];
}

/// <summary>Where a request stands: received, then processing, then completed or failed (a failed one can be retried).</summary>
internal static class PrivacyRequestStatus
{
    public const string Received = "received";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

/// <summary>One privacy request as kept.</summary>
/// <param name="Subject">The identifier as given (<c>email:ada@example.com</c>); once the person's data is deleted, only its type and a masked form remain.</param>
internal sealed record PrivacyRequest(
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
    public bool Open => Status is PrivacyRequestStatus.Received or PrivacyRequestStatus.Processing or PrivacyRequestStatus.Failed;
}

/// <summary>
/// Privacy requests (<c>tandem.db</c>, table <c>privacy_requests</c>): the record of what was asked,
/// by whom, when it is due (30 days after it was received, the GDPR's month) and what was done.
/// </summary>
internal sealed class PrivacyRequests : IDisposable
{
    public static readonly TimeSpan DueAfter = TimeSpan.FromDays(30);

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public PrivacyRequests(string dataDirectory)
    {
        _connection = ControlSchema.Open(dataDirectory);

        // A completed request's subject is overwritten with its masked form: the clear one must not
        // survive in freed pages, nor in the write-ahead log (truncated after each save).
        SqliteDatabase.Execute(_connection, "PRAGMA secure_delete=ON;");
    }

    public PrivacyRequest Create(string type, string subject, string requestedBy, DateTimeOffset now)
    {
        var request = new PrivacyRequest("prq_" + Guid.CreateVersion7(now).ToString("N"), type, subject, PrivacyRequestStatus.Received,
            requestedBy, now, now + DueAfter, null, null, null, 0);
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO privacy_requests(id, type, subject, status, requested_by, received_at, due_at)
                VALUES ($id, $type, $subject, $status, $by, $at, $due)
                """;
            command.Parameters.AddWithValue("$id", request.Id);
            command.Parameters.AddWithValue("$type", type);
            command.Parameters.AddWithValue("$subject", subject);
            command.Parameters.AddWithValue("$status", request.Status);
            command.Parameters.AddWithValue("$by", requestedBy);
            command.Parameters.AddWithValue("$at", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$due", request.DueAt.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }

        return request;
    }

    public void Save(PrivacyRequest request)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                UPDATE privacy_requests SET subject = $subject, status = $status, completed_at = $completed,
                    result = $result, error = $error, attempts = $attempts
                WHERE id = $id
                """;
            command.Parameters.AddWithValue("$id", request.Id);
            command.Parameters.AddWithValue("$subject", request.Subject);
            command.Parameters.AddWithValue("$status", request.Status);
            command.Parameters.AddWithValue("$completed", request.CompletedAt is { } c ? c.ToUnixTimeMilliseconds() : DBNull.Value);
            command.Parameters.AddWithValue("$result", request.Result is { } r ? r.ToJsonString() : DBNull.Value);
            command.Parameters.AddWithValue("$error", (object?)request.Error ?? DBNull.Value);
            command.Parameters.AddWithValue("$attempts", request.Attempts);
            command.ExecuteNonQuery();
            if (request.Status == PrivacyRequestStatus.Completed)
            {
                SqliteDatabase.TruncateWriteAheadLog(_connection);
            }
        }
    }

    /// <summary>True when <paramref name="text"/> has the shape of a request id: <c>prq_</c> and a GUID's 32 hex digits.</summary>
    public static bool IsId(string text) =>
        text.StartsWith("prq_", StringComparison.Ordinal) && Guid.TryParseExact(text.AsSpan(4), "N", out _);

    public PrivacyRequest? Find(string id) => Query("WHERE id = $id", c => c.Parameters.AddWithValue("$id", id), 1).FirstOrDefault();

    /// <summary>Newest first, optionally of one status and one type, before a cursor (a request id).</summary>
    public IReadOnlyList<PrivacyRequest> List(string? status, string? type, string? before, int limit) =>
        Query("""
            WHERE ($status IS NULL OR status = $status) AND ($type IS NULL OR type = $type)
              AND ($before IS NULL OR id < $before)
            ORDER BY id DESC
            """, c =>
        {
            c.Parameters.AddWithValue("$status", (object?)status ?? DBNull.Value);
            c.Parameters.AddWithValue("$type", (object?)type ?? DBNull.Value);
            c.Parameters.AddWithValue("$before", (object?)before ?? DBNull.Value);
        }, limit);

    /// <summary>Requests that were received or being processed when Tandem stopped: run again at start.</summary>
    public IReadOnlyList<PrivacyRequest> Unfinished() =>
        Query("WHERE status IN ('received', 'processing') ORDER BY id", _ => { }, 10_000);

    private List<PrivacyRequest> Query(string where, Action<SqliteCommand> bind, int limit)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"""
                SELECT id, type, subject, status, requested_by, received_at, due_at, completed_at, result, error, attempts
                FROM privacy_requests {where} LIMIT {limit}
                """;
            bind(command);
            using var reader = command.ExecuteReader();
            var result = new List<PrivacyRequest>();
            while (reader.Read())
            {
                result.Add(new PrivacyRequest(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                    reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                    reader.IsDBNull(8) ? null : JsonNode.Parse(reader.GetString(8)) as JsonObject,
                    reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetInt32(10)));
            }

            return result;
        }
    }

    public void Dispose() => _connection.Dispose();
}
