using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Tandem.Hosting;
using Tandem.Storage;

namespace Tandem.Privacy;

/// <summary>What one retention run removed.</summary>
/// <param name="ByRule">Events removed per rule (<c>defaultDays</c>, <c>types.page</c>, <c>events["Page Viewed"]</c>).</param>
/// <param name="ByType">Events removed per call type (<c>track</c>, <c>page</c>…).</param>
/// <param name="ByEvent">Track events removed per event name.</param>
/// <param name="TimelineEntries">Entries taken out of profiles' event lists.</param>
internal sealed record RetentionRemoved(long Events, IReadOnlyDictionary<string, long> ByRule, IReadOnlyDictionary<string, long> ByType,
    IReadOnlyDictionary<string, long> ByEvent, long Rejections, long TimelineEntries);

/// <summary>The report of one retention run, as stored and as the API shows it.</summary>
/// <param name="Trigger"><c>schedule</c> (the timer) or <c>manual</c> (<c>POST /api/v1/retention/runs</c>).</param>
/// <param name="Status"><c>completed</c>, <c>failed</c> (see <paramref name="Error"/>) or <c>interrupted</c> (the server stopped); counts say what was removed before it ended.</param>
/// <param name="Cutoffs">Each rule of the policy the run used, with the time before which its events were due.</param>
internal sealed record RetentionRun(long Id, string Trigger, string Actor, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Status,
    string? Error, JsonObject Policy, IReadOnlyList<RetentionCutoff> Cutoffs, RetentionRemoved Removed)
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Interrupted = "interrupted";
}

/// <summary>
/// The reports of retention runs, in <c>tandem.db</c> (<c>retention_runs</c>), one JSON report per
/// run. A run is stored once it ends; runs are few (one an hour), so they share one connection under a lock.
/// </summary>
internal sealed class RetentionRuns : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public RetentionRuns(TandemOptions options)
    {
        _connection = ControlSchema.Open(options.DataDirectory);
    }

    /// <summary>Stores a run under the next id and answers it with that id.</summary>
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

    /// <summary>The newest runs, newest first.</summary>
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

    public RetentionRun? Latest() => Recent(1) is [var run] ? run : null;

    public void Dispose() => _connection.Dispose();
}
