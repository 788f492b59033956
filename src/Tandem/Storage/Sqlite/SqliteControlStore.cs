using Microsoft.Data.Sqlite;
using Tandem.Sources;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The workspace row, its settings documents, sources and log checkpoints, in <c>tandem.db</c>: one adapter
/// behind three ports. Writes are rare; they share one connection under a lock.
/// </summary>
internal sealed class SqliteControlStore(ControlDatabase database) : IWorkspaceStore, ISourceStore, ICheckpointStore, IDisposable
{
    private readonly SqliteConnection _connection = database.Connect();
    private readonly Lock _gate = new();

    public static SqliteControlStore Open(string dataDirectory) => new(ControlDatabase.Open(dataDirectory));

    public string? WorkspaceId()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id FROM workspace LIMIT 1";
            return command.ExecuteScalar() as string;
        }
    }

    public void CreateWorkspace(string id, string name, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO workspace(id, name, created_at) VALUES ($id, $name, $now)";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

    public IReadOnlyList<Source> Load()
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

    public Source Insert(string id, string name, string writeKeyDigest, string writeKeyEnd, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO sources(id, name, write_key, write_key_end, enabled, created_at, updated_at)
                VALUES ($id, $name, $key, $end, 1, $now, $now) RETURNING key
                """;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$key", writeKeyDigest);
            command.Parameters.AddWithValue("$end", writeKeyEnd);
            command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
            var key = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            return new Source(id, key, name, writeKeyDigest, writeKeyEnd, true, at);
        }
    }

    public void Update(Source source, DateTimeOffset at)
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
            command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

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

    public void SaveSetting(string key, string value, DateTimeOffset at)
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
            command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
    }

    public long Read(string consumer)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq FROM checkpoints WHERE consumer = $c";
            command.Parameters.AddWithValue("$c", consumer);
            return command.ExecuteScalar() is long seq ? seq : 0;
        }
    }

    public void Save(string consumer, long seq)
    {
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

    public IReadOnlyDictionary<string, long> All()
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

            return result;
        }
    }

    public void Dispose() => _connection.Dispose();
}
