using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tandem.Collect;

/// <summary>
/// The inserts that copy journal records into log.db, prepared once per store transaction. Events are
/// bound by position through SQLitePCL's raw API: Microsoft.Data.Sqlite looks every parameter up by
/// name and wraps each call in safe-handle bookkeeping, a tenth of the time at 100,000 rows a second.
/// </summary>
internal sealed class StoreCommands : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _event;
    private readonly SqliteCommand _rejection;
    private readonly SqliteCommand _position;

    public StoreCommands(SqliteConnection connection, SqliteTransaction transaction)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db,
            "INSERT INTO events(seq, source_key, message_id, type, received_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            out _event));
        _rejection = connection.CreateCommand();
        _rejection.Transaction = transaction;
        _rejection.CommandText = """
            INSERT INTO rejections(source_key, received_at, batch_index, reason, field, detail, payload)
            VALUES ($source, $at, $index, $reason, $field, $detail, $payload)
            """;
        _position = connection.CreateCommand();
        _position.Transaction = transaction;
        _position.CommandText = "INSERT INTO log_meta(key, value) VALUES ('journal', $record) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    }

    public void Event(long seq, int sourceKey, string messageId, MessageType type, long receivedAtMs, ReadOnlySpan<byte> payload)
    {
        try
        {
            Check(raw.sqlite3_bind_int64(_event, 1, seq));
            Check(raw.sqlite3_bind_int64(_event, 2, sourceKey));
            Check(raw.sqlite3_bind_text(_event, 3, messageId));
            Check(raw.sqlite3_bind_int64(_event, 4, (int)type));
            Check(raw.sqlite3_bind_int64(_event, 5, receivedAtMs));
            Check(raw.sqlite3_bind_blob(_event, 6, payload));
            var done = raw.sqlite3_step(_event);
            if (done != raw.SQLITE_DONE)
            {
                Check(done);
            }
        }
        finally
        {
            raw.sqlite3_reset(_event);
        }
    }

    public void Rejection(int sourceKey, long receivedAtMs, Rejection rejection)
    {
        _rejection.Parameters.Clear();
        _rejection.Parameters.AddWithValue("$source", sourceKey);
        _rejection.Parameters.AddWithValue("$at", receivedAtMs);
        _rejection.Parameters.AddWithValue("$index", rejection.Index is { } i ? i : DBNull.Value);
        _rejection.Parameters.AddWithValue("$reason", rejection.Reason);
        _rejection.Parameters.AddWithValue("$field", rejection.Field);
        _rejection.Parameters.AddWithValue("$detail", rejection.Detail);
        _rejection.Parameters.AddWithValue("$payload", rejection.Payload);
        _rejection.ExecuteNonQuery();
    }

    /// <summary>Records the last journal record log.db holds, in the same transaction as the rows.</summary>
    public void Position(long record)
    {
        _position.Parameters.Clear();
        _position.Parameters.AddWithValue("$record", record);
        _position.ExecuteNonQuery();
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    public void Dispose()
    {
        _event.Dispose();
        _rejection.Dispose();
        _position.Dispose();
    }
}
