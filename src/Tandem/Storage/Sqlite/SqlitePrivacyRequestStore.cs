using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Tandem.Privacy;

namespace Tandem.Storage.Sqlite;

/// <summary>Privacy requests in <c>tandem.db</c>'s <c>privacy_requests</c> table; one connection, one statement at a time.</summary>
internal sealed class SqlitePrivacyRequestStore : IPrivacyRequestStore, IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public SqlitePrivacyRequestStore(ControlDatabase database)
    {
        _connection = database.Connect();

        // A completed request's subject is overwritten with its masked form: the clear one must not
        // survive in freed pages, nor in the write-ahead log (truncated after each save).
        SqliteDatabase.Execute(_connection, "PRAGMA secure_delete=ON;");
    }

    public static SqlitePrivacyRequestStore Open(string dataDirectory) => new(ControlDatabase.Open(dataDirectory));

    public PrivacyRequest Add(PrivacyRequest request)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO privacy_requests(id, type, subject, status, requested_by, received_at, due_at)
                VALUES ($id, $type, $subject, $status, $by, $at, $due)
                """;
            command.Parameters.AddWithValue("$id", request.Id);
            command.Parameters.AddWithValue("$type", request.Type);
            command.Parameters.AddWithValue("$subject", request.Subject);
            command.Parameters.AddWithValue("$status", request.Status);
            command.Parameters.AddWithValue("$by", request.RequestedBy);
            command.Parameters.AddWithValue("$at", request.ReceivedAt.ToUnixTimeMilliseconds());
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

    public PrivacyRequest? Find(string id) => Query("WHERE id = $id", c => c.Parameters.AddWithValue("$id", id), 1).FirstOrDefault();

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
