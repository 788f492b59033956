using Microsoft.Data.Sqlite;

namespace Tandem.Storage;

/// <summary>Opens SQLite files of the data folder with the settings every Tandem store relies on.</summary>
internal static class SqliteDatabase
{
    /// <summary>
    /// WAL with <c>synchronous=FULL</c>: a commit returns only after fsync, which is what lets the
    /// collector acknowledge an event as durable.
    /// </summary>
    /// <param name="reader">A pooled connection for reads beside the writer: no schema or journal changes.</param>
    public static SqliteConnection Open(string path, bool reader = false)
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
}
