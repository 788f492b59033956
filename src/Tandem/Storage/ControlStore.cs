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
        _connection = SqliteDatabase.Open(Path.Combine(dataDirectory, "tandem.db"));
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS workspace(
                id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS sources(
                key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                write_key TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS checkpoints(
                consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS settings(
                key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
            """);
        // write_key holds a digest (WriteKeyDigest.Prefix…); write_key_end the last characters, to tell keys apart.
        SqliteDatabase.AddMissingColumns(_connection, "sources", "write_key_end TEXT NOT NULL DEFAULT ''");
        DigestClearWriteKeys();
    }

    /// <summary>
    /// Data folders made before write keys were digested hold them in clear: each becomes its digest, the
    /// key itself keeps working, and the old text is overwritten in the file and its write-ahead log.
    /// </summary>
    private void DigestClearWriteKeys()
    {
        var clear = new List<(long Key, string WriteKey)>();
        using (var select = _connection.CreateCommand())
        {
            select.CommandText = $"SELECT key, write_key FROM sources WHERE write_key NOT LIKE '{WriteKeyDigest.Prefix}%'";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                clear.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }

        if (clear.Count == 0)
        {
            return;
        }

        SqliteDatabase.Execute(_connection, "PRAGMA secure_delete = ON"); // freed cells are zeroed, not left readable
        using (var transaction = _connection.BeginTransaction())
        {
            foreach (var (key, writeKey) in clear)
            {
                using var update = _connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE sources SET write_key = $digest, write_key_end = $end WHERE key = $key";
                update.Parameters.AddWithValue("$digest", WriteKeyDigest.Of(writeKey));
                update.Parameters.AddWithValue("$end", WriteKeyDigest.End(writeKey));
                update.Parameters.AddWithValue("$key", key);
                update.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        SqliteDatabase.TruncateWriteAheadLog(_connection);
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
