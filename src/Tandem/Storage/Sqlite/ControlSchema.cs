using Microsoft.Data.Sqlite;
using Tandem.Sources;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The schema of <c>tandem.db</c>, in one place: every table of the workspace's control file and every
/// migration of a data folder made by an older Tandem, in the order they run. Each store that keeps its
/// rows in the file opens it with <see cref="Open"/>, so whichever opens first brings the file up to date
/// and no store creates or alters a table of its own.
/// </summary>
internal static class ControlSchema
{
    /// <summary>Opens <c>tandem.db</c> in <paramref name="dataDirectory"/>, creating or migrating its tables.</summary>
    public static SqliteConnection Open(string dataDirectory)
    {
        var connection = SqliteDatabase.Open(Path.Combine(dataDirectory, "tandem.db"));
        try
        {
            Apply(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Apply(SqliteConnection connection)
    {
        // One writer at a time: two stores opening the file together must not both add a column.
        SqliteDatabase.Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            CreateAndMigrate(connection);
            SqliteDatabase.Execute(connection, "COMMIT");
        }
        catch
        {
            SqliteDatabase.Execute(connection, "ROLLBACK");
            throw;
        }

        DigestClearWriteKeys(connection);
    }

    private static void CreateAndMigrate(SqliteConnection connection)
    {
        SqliteDatabase.Execute(connection, """
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
            CREATE TABLE IF NOT EXISTS members(
                id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
                roles TEXT NOT NULL, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0,
                failed_sign_ins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS api_tokens(
                id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                scopes TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS privacy_requests(
                id TEXT PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL,
                requested_by TEXT NOT NULL, received_at INTEGER NOT NULL, due_at INTEGER NOT NULL,
                completed_at INTEGER, result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS privacy_requests_by_time ON privacy_requests(received_at);
            CREATE TABLE IF NOT EXISTS retention_runs(
                id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, report TEXT NOT NULL);
            """);

        // Migrations of folders made by older versions, oldest first.
        // 1. Members gained tokens of their own (owner, expiry, revocation, lineage).
        SqliteDatabase.AddMissingColumns(connection, "api_tokens", "owner_id TEXT", "expires_at INTEGER", "revoked_at INTEGER", "parent_id TEXT", "maker_id TEXT");
        // 2. Sign-out everywhere: a member's session stamp.
        SqliteDatabase.AddMissingColumns(connection, "members", "session_stamp TEXT NOT NULL DEFAULT ''");
        // 3. Write keys are kept as digests (WriteKeyDigest.Prefix…) with their last characters, to tell keys apart.
        SqliteDatabase.AddMissingColumns(connection, "sources", "write_key_end TEXT NOT NULL DEFAULT ''");
    }

    /// <summary>
    /// Data folders made before write keys were digested hold them in clear: each becomes its digest, the
    /// key itself keeps working, and the old text is overwritten in the file and its write-ahead log.
    /// </summary>
    private static void DigestClearWriteKeys(SqliteConnection connection)
    {
        var clear = new List<(long Key, string WriteKey)>();
        using (var select = connection.CreateCommand())
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

        SqliteDatabase.Execute(connection, "PRAGMA secure_delete = ON"); // freed cells are zeroed, not left readable
        using (var transaction = connection.BeginTransaction())
        {
            foreach (var (key, writeKey) in clear)
            {
                using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE sources SET write_key = $digest, write_key_end = $end WHERE key = $key";
                update.Parameters.AddWithValue("$digest", WriteKeyDigest.Of(writeKey));
                update.Parameters.AddWithValue("$end", WriteKeyDigest.End(writeKey));
                update.Parameters.AddWithValue("$key", key);
                update.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        SqliteDatabase.TruncateWriteAheadLog(connection);
    }
}
