using Microsoft.Data.Sqlite;
using Tandem.Privacy;

namespace Tandem.Storage.Sqlite;

/// <summary>Suppressions in a file of their own, <c>suppressions.db</c>; one connection, one statement or transaction at a time.</summary>
internal sealed class SqliteSuppressionStore : ISuppressionStore, IDisposable
{
    public const string FileName = "suppressions.db";

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public SqliteSuppressionStore(string dataDirectory)
    {
        _connection = SqliteDatabase.Open(Path.Combine(dataDirectory, FileName));
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS suppressions(
                request_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, dropped INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS suppressed_identifiers(
                digest BLOB PRIMARY KEY, type TEXT NOT NULL, request_id TEXT NOT NULL, prefilter INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS suppressed_by_request ON suppressed_identifiers(request_id);
            """);
    }

    public int Add(string requestId, DateTimeOffset at, IReadOnlyCollection<SuppressedIdentifier> identifiers)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT OR IGNORE INTO suppressions(request_id, created_at) VALUES ($r, $at)";
                insert.Parameters.AddWithValue("$r", requestId);
                insert.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
                insert.ExecuteNonQuery();
            }

            var added = 0;
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT OR IGNORE INTO suppressed_identifiers(digest, type, request_id, prefilter) VALUES ($d, $t, $r, $p)";
                var digest = insert.Parameters.Add("$d", SqliteType.Blob);
                var prefilter = insert.Parameters.Add("$p", SqliteType.Integer);
                var type = insert.Parameters.Add("$t", SqliteType.Text);
                insert.Parameters.AddWithValue("$r", requestId);
                foreach (var id in identifiers)
                {
                    digest.Value = id.Digest.ToArray();
                    prefilter.Value = (long)id.Prefilter;
                    type.Value = id.Type;
                    added += insert.ExecuteNonQuery();
                }
            }

            transaction.Commit();
            return added;
        }
    }

    public IReadOnlyList<string> RequestsCovering(ReadOnlyMemory<byte> digest)
    {
        lock (_gate)
        {
            using var find = _connection.CreateCommand();
            find.CommandText = "SELECT request_id FROM suppressed_identifiers WHERE digest = $d";
            find.Parameters.AddWithValue("$d", digest.ToArray());
            using var reader = find.ExecuteReader();
            var requests = new List<string>();
            while (reader.Read())
            {
                requests.Add(reader.GetString(0));
            }

            return requests;
        }
    }

    public void Remove(IReadOnlyCollection<string> requestIds)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            foreach (var request in requestIds)
            {
                using var delete = _connection.CreateCommand();
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM suppressed_identifiers WHERE request_id = $r; DELETE FROM suppressions WHERE request_id = $r";
                delete.Parameters.AddWithValue("$r", request);
                delete.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    public IReadOnlyList<Suppression> List()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                SELECT s.request_id, s.created_at, s.dropped, COALESCE(group_concat(i.type, ','), '')
                FROM suppressions s LEFT JOIN suppressed_identifiers i ON i.request_id = s.request_id
                GROUP BY s.request_id ORDER BY s.created_at DESC, s.request_id
                """;
            using var reader = command.ExecuteReader();
            var result = new List<Suppression>();
            while (reader.Read())
            {
                result.Add(new Suppression(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                    [.. reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)], reader.GetInt64(2)));
            }

            return result;
        }
    }

    public void AddDropped(string requestId, long count)
    {
        lock (_gate)
        {
            using var update = _connection.CreateCommand();
            update.CommandText = "UPDATE suppressions SET dropped = dropped + $n WHERE request_id = $r";
            update.Parameters.AddWithValue("$n", count);
            update.Parameters.AddWithValue("$r", requestId);
            update.ExecuteNonQuery();
        }
    }

    public IReadOnlyList<SuppressedEntry> LoadAll()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT digest, request_id, prefilter FROM suppressed_identifiers";
            using var reader = command.ExecuteReader();
            var entries = new List<SuppressedEntry>();
            while (reader.Read())
            {
                entries.Add(new SuppressedEntry((byte[])reader.GetValue(0), reader.GetString(1), (uint)reader.GetInt64(2)));
            }

            return entries;
        }
    }

    public void Dispose() => _connection.Dispose();
}
