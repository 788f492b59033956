using System.Text.Json;
using Microsoft.Data.Sqlite;
using Tandem.Privacy;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// Retention reports in <c>tandem.db</c>'s <c>retention_runs</c> table, one JSON report per run. Runs are
/// few (one an hour), so they share one connection under a lock.
/// </summary>
internal sealed class SqliteRetentionRunStore(ControlDatabase database) : IRetentionRunStore, IDisposable
{
    private readonly SqliteConnection _connection = database.Connect();
    private readonly Lock _gate = new();

    public RetentionRun Add(RetentionRun run)
    {
        lock (_gate)
        {
            using var next = _connection.CreateCommand();
            next.CommandText = "SELECT COALESCE(MAX(id), 0) + 1 FROM retention_runs";
            var stored = run with { Id = (long)next.ExecuteScalar()! };
            using var insert = _connection.CreateCommand();
            insert.CommandText = "INSERT INTO retention_runs(id, started_at, finished_at, report) VALUES ($id, $started, $finished, $report)";
            insert.Parameters.AddWithValue("$id", stored.Id);
            insert.Parameters.AddWithValue("$started", stored.StartedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$finished", stored.FinishedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$report", JsonSerializer.Serialize(stored, JsonSerializerOptions.Web));
            insert.ExecuteNonQuery();
            return stored;
        }
    }

    public IReadOnlyList<RetentionRun> Recent(int limit)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT report FROM retention_runs ORDER BY id DESC LIMIT $limit";
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var runs = new List<RetentionRun>();
            while (reader.Read())
            {
                runs.Add(JsonSerializer.Deserialize<RetentionRun>(reader.GetString(0), JsonSerializerOptions.Web)!);
            }

            return runs;
        }
    }

    public void Dispose() => _connection.Dispose();
}
