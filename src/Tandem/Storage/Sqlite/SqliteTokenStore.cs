using Microsoft.Data.Sqlite;
using Tandem.Trust;

namespace Tandem.Storage.Sqlite;

/// <summary>API tokens in <c>tandem.db</c>'s <c>api_tokens</c> table; one connection, one statement at a time.</summary>
internal sealed class SqliteTokenStore(ControlDatabase database) : ITokenStore, IDisposable
{
    private const string Columns = "id, name, owner_id, scopes, created_at, expires_at, revoked_at, parent_id, maker_id";

    private const string LineageSql =
        "WITH RECURSIVE lineage(id) AS (SELECT id FROM api_tokens WHERE id = $id UNION SELECT t.id FROM api_tokens t JOIN lineage ON t.parent_id = lineage.id)";

    private readonly SqliteConnection _connection = database.Connect();
    private readonly Lock _gate = new();

    public static SqliteTokenStore Open(string dataDirectory) => new(ControlDatabase.Open(dataDirectory));

    public ApiToken? FindByDigest(string digest) => Query("WHERE token_hash = $p", digest).FirstOrDefault();

    public ApiToken? Find(string id) => Query("WHERE id = $p", id).FirstOrDefault();

    public IReadOnlyList<ApiToken> List(string? ownerId) =>
        ownerId is null ? Query("ORDER BY created_at, id", null) : Query("WHERE owner_id = $p ORDER BY created_at, id", ownerId);

    public IReadOnlyList<string> Lineage(string id)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = LineageSql + " SELECT id FROM lineage";
            command.Parameters.AddWithValue("$id", id);
            using var reader = command.ExecuteReader();
            var ids = new List<string>();
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }
    }

    public bool RevokeLineage(string id, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = LineageSql + " UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $now) WHERE id IN (SELECT id FROM lineage)";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
            return command.ExecuteNonQuery() > 0;
        }
    }

    public void Insert(ApiToken token, string digest)
    {
        lock (_gate)
        {
            Insert(token, digest, null);
        }
    }

    public void ReplaceAdmins(IReadOnlyList<string> revokedIds, DateTimeOffset at, ApiToken token, string digest)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            foreach (var id in revokedIds)
            {
                using var revoke = _connection.CreateCommand();
                revoke.Transaction = transaction;
                revoke.CommandText = "UPDATE api_tokens SET revoked_at = $now WHERE id = $id";
                revoke.Parameters.AddWithValue("$id", id);
                revoke.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
                revoke.ExecuteNonQuery();
            }

            foreach (var id in revokedIds)
            {
                using var detach = _connection.CreateCommand();
                detach.Transaction = transaction;
                detach.CommandText = "UPDATE api_tokens SET parent_id = NULL WHERE parent_id = $id";
                detach.Parameters.AddWithValue("$id", id);
                detach.ExecuteNonQuery();
            }

            Insert(token, digest, transaction);
            transaction.Commit();
        }
    }

    private void Insert(ApiToken token, string digest, SqliteTransaction? transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR REPLACE INTO api_tokens(id, name, token_hash, scopes, created_at, owner_id, expires_at, revoked_at, parent_id, maker_id)
            VALUES ($id, $name, $hash, $scopes, $now, $owner, $expires, NULL, $parent, $maker)
            """;
        command.Parameters.AddWithValue("$parent", (object?)token.ParentId ?? DBNull.Value);
        command.Parameters.AddWithValue("$maker", (object?)token.MakerId ?? DBNull.Value);
        command.Parameters.AddWithValue("$id", token.Id);
        command.Parameters.AddWithValue("$name", token.Name);
        command.Parameters.AddWithValue("$hash", digest);
        command.Parameters.AddWithValue("$scopes", string.Join(' ', token.Scopes));
        command.Parameters.AddWithValue("$now", token.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$owner", (object?)token.OwnerId ?? DBNull.Value);
        command.Parameters.AddWithValue("$expires", token.ExpiresAt is { } at ? at.ToUnixTimeMilliseconds() : DBNull.Value);
        command.ExecuteNonQuery();
    }

    private List<ApiToken> Query(string where, string? parameter)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM api_tokens " + where;
            if (parameter is not null)
            {
                command.Parameters.AddWithValue("$p", parameter);
            }

            using var reader = command.ExecuteReader();
            var tokens = new List<ApiToken>();
            while (reader.Read())
            {
                tokens.Add(Read(reader));
            }

            return tokens;
        }
    }

    private static ApiToken Read(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
        reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));

    public void Dispose() => _connection.Dispose();
}
