using Microsoft.Data.Sqlite;

namespace Tandem.Storage.Sqlite;

/// <summary>Opens SQLite files of the data folder with the settings every Tandem store relies on.</summary>
internal static class SqliteDatabase
{
    /// <summary>
    /// WAL with <c>synchronous=FULL</c>: a commit returns only after fsync, which is what lets the
    /// collector acknowledge an event as durable.
    /// </summary>
    /// <param name="reader">A pooled connection for reads beside the writer: no schema or journal changes.</param>
    /// <param name="pageSize">Page size of a file this creates; an existing file keeps its own.</param>
    public static SqliteConnection Open(string path, bool reader = false, int? pageSize = null)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = reader ? SqliteOpenMode.ReadWrite : SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout=30000;");
        if (!reader)
        {
            if (pageSize is { } bytes)
            {
                // Only a new, empty file takes it: once in WAL mode, the page size is fixed.
                Execute(connection, $"PRAGMA page_size={bytes};");
            }

            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        }

        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Moves the write-ahead log into the file and truncates it, so overwritten rows leave no copy in
    /// it. Best effort: false when a reader held it (SQLite answers "busy" rather than failing), in
    /// which case a later checkpoint moves it on.
    /// </summary>
    public static bool TruncateWriteAheadLog(SqliteConnection connection)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            using var reader = command.ExecuteReader();
            return reader.Read() && reader.GetInt64(0) == 0;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>Adds the columns a table lacks (data folders made before they existed); each is "name TYPE".</summary>
    public static void AddMissingColumns(SqliteConnection connection, string table, params string[] columns)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        using (var info = connection.CreateCommand())
        {
            info.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
            using var reader = info.ExecuteReader();
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }

        foreach (var column in columns.Where(c => !present.Contains(c.Split(' ')[0])))
        {
            Execute(connection, $"ALTER TABLE {table} ADD COLUMN {column}");
        }
    }
}
