using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Tandem.Trust;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The audit log in the data folder: its records in <c>audit.db</c> and its anchor in <c>audit.head</c>.
/// Appends are rare (management changes, privacy actions, management API calls), so they share one
/// connection under a lock; queries and verification read on connections of their own.
/// </summary>
internal sealed class SqliteAuditStore : IAuditStore, IDisposable
{
    private const string Columns = "seq, at, actor, action, target, before, after, detail, prev_hash, hash";
    private const int StableAnchorAttempts = 5;
    private static readonly JsonSerializerOptions AnchorJson = new(JsonSerializerDefaults.Web);

    private readonly string _directory;
    private readonly string _path;
    private readonly string _anchorPath;
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public SqliteAuditStore(string dataDirectory)
    {
        _directory = dataDirectory;
        _path = Path.Combine(dataDirectory, AuditLog.DatabaseFile);
        _anchorPath = Path.Combine(dataDirectory, AuditLog.AnchorFile);
        Existed = File.Exists(_path);
        _connection = SqliteDatabase.Open(_path);
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS audit(
                seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT NOT NULL, before TEXT NULL, after TEXT NULL, detail TEXT NULL,
                prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, seq);
            CREATE INDEX IF NOT EXISTS audit_action ON audit(action, seq);
            CREATE INDEX IF NOT EXISTS audit_target ON audit(target, seq);
            """);
        if (!HasMacColumn(_connection, null))
        {
            SqliteDatabase.Execute(_connection, "ALTER TABLE audit ADD COLUMN mac TEXT NULL");
        }
    }

    public bool Existed { get; }

    /// <summary>
    /// A reader of the log in <paramref name="dataDirectory"/> that creates and changes nothing, so it can
    /// check a log beside a running server or without one (<c>./tandem audit verify</c>).
    /// </summary>
    public static IAuditReader Reader(string dataDirectory) => new FolderReader(dataDirectory);

    public AuditHead? Last()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1";
            using var reader = command.ExecuteReader();
            return reader.Read() ? new AuditHead(reader.GetInt64(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))) : null;
        }
    }

    public string? HashAt(long seq)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT hash FROM audit WHERE seq = $seq";
            command.Parameters.AddWithValue("$seq", seq);
            return command.ExecuteScalar() as string;
        }
    }

    public bool AnySigned()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT EXISTS(SELECT 1 FROM audit WHERE mac IS NOT NULL)";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
        }
    }

    public void Insert(StoredAuditRecord record)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"INSERT INTO audit({Columns}, mac) VALUES ($seq, $at, $actor, $action, $target, $before, $after, $detail, $prev, $hash, $mac)";
            command.Parameters.AddWithValue("$seq", record.Seq);
            command.Parameters.AddWithValue("$at", record.At);
            command.Parameters.AddWithValue("$actor", record.Actor);
            command.Parameters.AddWithValue("$action", record.Action);
            command.Parameters.AddWithValue("$target", record.Target);
            command.Parameters.AddWithValue("$before", (object?)record.Before ?? DBNull.Value);
            command.Parameters.AddWithValue("$after", (object?)record.After ?? DBNull.Value);
            command.Parameters.AddWithValue("$detail", (object?)record.Detail ?? DBNull.Value);
            command.Parameters.AddWithValue("$prev", record.PrevHash);
            command.Parameters.AddWithValue("$hash", record.Hash);
            command.Parameters.AddWithValue("$mac", (object?)record.Mac ?? DBNull.Value);
            command.ExecuteNonQuery();
        }
    }

    public AuditPage Query(AuditQuery query)
    {
        using var connection = SqliteDatabase.Open(_path, reader: true);
        using var command = connection.CreateCommand();
        var conditions = new List<string>();
        void Where(string condition, string name, object value)
        {
            conditions.Add(condition);
            command.Parameters.AddWithValue(name, value);
        }

        if (query.Actor is { } actor)
        {
            Where("actor = $actor", "$actor", actor);
        }

        if (query.Action is { } action && action.EndsWith(".*", StringComparison.Ordinal))
        {
            // A range rather than LIKE: no wildcard escaping, and it uses the index. Text compares as
            // UTF-8 bytes, and '/' follows '.', so the range holds exactly the actions with this prefix.
            Where("action >= $prefix", "$prefix", action[..^1]);
            Where("action < $prefixEnd", "$prefixEnd", action[..^2] + "/");
        }
        else if (query.Action is { } exact)
        {
            Where("action = $action", "$action", exact);
        }

        if (query.Target is { } target)
        {
            Where("target = $target", "$target", target);
        }

        if (query.Since is { } since)
        {
            Where("at >= $since", "$since", since.ToUnixTimeMilliseconds());
        }

        if (query.Until is { } until)
        {
            Where("at < $until", "$until", until.ToUnixTimeMilliseconds());
        }

        if (query.Before is { } before)
        {
            Where("seq < $before", "$before", before);
        }

        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        command.CommandText = $"SELECT {Columns} FROM audit {where} ORDER BY seq DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(new AuditRecord(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), Parse(Text(reader, 5)), Parse(Text(reader, 6)), Text(reader, 7), reader.GetString(8), reader.GetString(9)));
        }

        // One record more than asked for says whether an older page exists.
        if (records.Count > query.Limit)
        {
            records.RemoveAt(records.Count - 1);
            return new AuditPage(records, records[^1].Seq);
        }

        return new AuditPage(records, null);
    }

    public AnchorRead ReadAnchor() => ReadAnchor(_anchorPath);

    public void WriteAnchor(AuditHead head) => WriteAnchor(_anchorPath, head);

    public T Walk<T>(Func<AnchorRead, IEnumerable<AuditRow>, T> check) => Walk(_directory, check);

    /// <summary>Replaces the anchor file whole: written to a temporary file, flushed to disk, renamed over the old one.</summary>
    public static void WriteAnchor(string path, AuditHead head)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(head, AnchorJson));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static AnchorRead ReadAnchor(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return default;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new AnchorRead(null, ex.Message);
        }

        try
        {
            var head = JsonSerializer.Deserialize<AuditHead>(bytes, AnchorJson);
            return head is { Seq: >= 0, Hash: { Length: 64 } hash } && hash.All(char.IsAsciiHexDigitLower) && head.Mac is null or { Length: 64 }
                ? new AnchorRead(head, null)
                : new AnchorRead(null, "it does not hold a seq and a SHA-256 hash");
        }
        catch (JsonException ex)
        {
            return new AnchorRead(null, "it is not the JSON Tandem writes: " + ex.Message);
        }
    }

    private static T Walk<T>(string dataDirectory, Func<AnchorRead, IEnumerable<AuditRow>, T> check)
    {
        var path = Path.Combine(dataDirectory, AuditLog.DatabaseFile);
        var anchorPath = Path.Combine(dataDirectory, AuditLog.AnchorFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The audit database {AuditLog.DatabaseFile} is missing from {Path.GetFullPath(dataDirectory)}.", path);
        }

        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var anchor = ReadAnchor(anchorPath);
                using var connection = OpenReadOnly(path);
                using var transaction = connection.BeginTransaction(deferred: true);
                // The first read fixes the snapshot. The server writes the anchor right after each
                // commit, so an anchor unchanged across that read is at most one record behind it.
                FixSnapshot(connection, transaction);
                if (ReadAnchor(anchorPath) == anchor || attempt == StableAnchorAttempts)
                {
                    return check(anchor, Rows(connection, transaction));
                }
            }
        }
        catch (SqliteException ex)
        {
            throw new IOException($"The audit database {AuditLog.DatabaseFile} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Every row, oldest first, read as the chain hashes it; a value of the wrong type makes a row without a record.</summary>
    private static IEnumerable<AuditRow> Rows(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // A log written before MACs existed has no mac column until a server opens it.
        var mac = HasMacColumn(connection, transaction) ? "mac" : "NULL";
        command.CommandText = $"SELECT {Columns}, {mac} FROM audit ORDER BY seq";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.IsDBNull(0))
            {
                yield return new AuditRow(null, null);
                continue;
            }

            var seq = reader.GetInt64(0);
            StoredAuditRecord? record;
            try
            {
                record = new StoredAuditRecord(seq, reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    Text(reader, 5), Text(reader, 6), Text(reader, 7), reader.GetString(8), reader.GetString(9), Text(reader, 10));
            }
            // Microsoft.Data.Sqlite throws InvalidOperationException for a NULL read as text or a number.
            catch (Exception ex) when (ex is InvalidOperationException or InvalidCastException or FormatException or OverflowException)
            {
                record = null;
            }

            yield return new AuditRow(seq, record);
        }
    }

    /// <summary>Reads the newest seq only: a head with a NULL where a value belongs is for the walk to report, not to throw here.</summary>
    private static void FixSnapshot(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq FROM audit ORDER BY seq DESC LIMIT 1";
        command.ExecuteScalar();
    }

    private static SqliteConnection OpenReadOnly(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            // Not pooled: a check from the CLI or a test must leave no handle on the file.
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static bool HasMacColumn(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM pragma_table_info('audit') WHERE name = 'mac'";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);

    public void Dispose() => _connection.Dispose();

    /// <summary>The log of a data folder, read only.</summary>
    private sealed class FolderReader(string dataDirectory) : IAuditReader
    {
        public T Walk<T>(Func<AnchorRead, IEnumerable<AuditRow>, T> check) => SqliteAuditStore.Walk(dataDirectory, check);
    }
}
