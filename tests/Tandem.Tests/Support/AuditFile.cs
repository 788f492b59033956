using Microsoft.Data.Sqlite;
using Tandem.Trust;

namespace Tandem.Tests.Support;

/// <summary>A data folder's <c>audit.db</c> as someone with access to the files sees it: what the tamper tests use.</summary>
internal static class AuditFile
{
    /// <summary>A connection of its own (not pooled), so a test leaves no handle on the file.</summary>
    public static SqliteConnection Open(string dataDirectory)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, AuditLog.DatabaseFile),
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static void Execute(string dataDirectory, string sql)
    {
        using var connection = Open(dataDirectory);
        Execute(connection, sql);
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// What a forger who knows the documented scheme computes after an edit: record <paramref name="seq"/>'s
    /// hash from its stored columns, linked to <paramref name="previous"/> (its stored prev_hash when null).
    /// </summary>
    public static string RecomputedHash(SqliteConnection connection, long seq, string? previous = null)
    {
        using var read = connection.CreateCommand();
        read.CommandText = $"SELECT prev_hash, at, actor, action, target, before, after, detail FROM audit WHERE seq = {seq}";
        using var reader = read.ExecuteReader();
        Assert.True(reader.Read(), $"no record #{seq}");
        return AuditChain.Hash(previous ?? reader.GetString(0), seq, reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
            Text(reader, 5), Text(reader, 6), Text(reader, 7));
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
