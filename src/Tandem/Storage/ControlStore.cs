using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Tandem.Sources;

namespace Tandem.Storage;

/// <summary>
/// The operational state of a workspace (<c>tandem.db</c>): the workspace itself, sources, log
/// checkpoints and settings (members and tokens: see Tandem.Trust). Writes are rare; they share one
/// connection under a lock.
/// </summary>
internal sealed class ControlStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, long> _positions = new(StringComparer.Ordinal);

    public ControlStore(string dataDirectory)
    {
        _connection = ControlSchema.Open(dataDirectory);
    }

    public string? WorkspaceId()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id FROM workspace LIMIT 1";
            return command.ExecuteScalar() as string;
        }
    }

    public void CreateWorkspace(string id, string name, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO workspace(id, name, created_at) VALUES ($id, $name, $now)";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

    public IReadOnlyList<Source> LoadSources()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT key, id, name, write_key, write_key_end, enabled, created_at FROM sources ORDER BY key";
            using var reader = command.ExecuteReader();
            var sources = new List<Source>();
            while (reader.Read())
            {
                sources.Add(new Source(reader.GetString(1), reader.GetInt32(0), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.GetInt64(5) != 0, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
            }

            return sources;
        }
    }

    /// <summary>Inserts a source and returns it with its storage key; only the write key's digest is stored.</summary>
    public Source InsertSource(string id, string name, string writeKey, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO sources(id, name, write_key, write_key_end, enabled, created_at, updated_at)
                VALUES ($id, $name, $key, $end, 1, $now, $now) RETURNING key
                """;
            var (digest, end) = (WriteKeyDigest.Of(writeKey), WriteKeyDigest.End(writeKey));
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$key", digest);
            command.Parameters.AddWithValue("$end", end);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            var key = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            return new Source(id, key, name, digest, end, true, now);
        }
    }

    public void UpdateSource(Source source, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                UPDATE sources SET name = $name, write_key = $key, write_key_end = $end, enabled = $enabled, updated_at = $now
                WHERE id = $id
                """;
            command.Parameters.AddWithValue("$id", source.Id);
            command.Parameters.AddWithValue("$name", source.Name);
            command.Parameters.AddWithValue("$key", source.WriteKeyDigest);
            command.Parameters.AddWithValue("$end", source.WriteKeyEnd);
            command.Parameters.AddWithValue("$enabled", source.Enabled ? 1 : 0);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

    /// <summary>A workspace setting stored as JSON text, or null when never set; settings documents are read through SettingsService, which caches them.</summary>
    public string? Setting(string key)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT value FROM settings WHERE key = $key";
            command.Parameters.AddWithValue("$key", key);
            return command.ExecuteScalar() as string;
        }
    }

    public void SaveSetting(string key, string value, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO settings(key, value, updated_at) VALUES ($key, $value, $now)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$value", value);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

    public long Checkpoint(string consumer)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq FROM checkpoints WHERE consumer = $c";
            command.Parameters.AddWithValue("$c", consumer);
            return command.ExecuteScalar() is long seq ? seq : 0;
        }
    }

    /// <summary>
    /// A consumer's live position, kept in memory only (no write per read round): what the lag metric
    /// reports between the durable checkpoints a consumer saves with <see cref="SaveCheckpoint"/>.
    /// </summary>
    public void ReportPosition(string consumer, long seq) => _positions[consumer] = seq;

    /// <summary>The position a consumer resumes from after a restart; also reported as its live position.</summary>
    public void SaveCheckpoint(string consumer, long seq)
    {
        ReportPosition(consumer, seq);
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO checkpoints(consumer, seq) VALUES ($c, $s)
                ON CONFLICT(consumer) DO UPDATE SET seq = excluded.seq
                """;
            command.Parameters.AddWithValue("$c", consumer);
            command.Parameters.AddWithValue("$s", seq);
            command.ExecuteNonQuery();
        }
    }

    public IReadOnlyDictionary<string, long> Checkpoints()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT consumer, seq FROM checkpoints";
            using var reader = command.ExecuteReader();
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            while (reader.Read())
            {
                result[reader.GetString(0)] = reader.GetInt64(1);
            }

            foreach (var (consumer, seq) in _positions)
            {
                result[consumer] = seq;
            }

            return result;
        }
    }

    public void Dispose() => _connection.Dispose();
}
