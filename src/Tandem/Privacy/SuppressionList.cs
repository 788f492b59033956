using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Tandem.Storage;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>One suppression: the request that made it, how many identifiers it covers, and the events it dropped.</summary>
public sealed record Suppression(string RequestId, DateTimeOffset CreatedAt, IReadOnlyList<string> IdentifierTypes, long Dropped);

/// <summary>
/// People whose future events the collector drops (counted, never stored), from <c>suppress</c> and
/// <c>delete_and_suppress</c> privacy requests. Identifiers are kept as SHA-256 digests
/// (<c>suppressions.db</c>), never in clear: the list must not become a copy of what was deleted.
/// The collector matches an event's userId, anonymousId, previousId, email and phone (in traits and
/// context.traits) and external ids against it; with no suppression in force it costs nothing.
/// </summary>
internal sealed class SuppressionList : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _dropped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _droppedSaved = new(StringComparer.Ordinal);
    private volatile FrozenDictionary<UInt128, string> _byDigest = FrozenDictionary<UInt128, string>.Empty;

    public SuppressionList(string dataDirectory, TimeProvider time)
    {
        _time = time;
        _connection = SqliteDatabase.Open(Path.Combine(dataDirectory, "suppressions.db"));
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS suppressions(
                request_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, dropped INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS suppressed_identifiers(
                digest BLOB PRIMARY KEY, type TEXT NOT NULL, request_id TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS suppressed_by_request ON suppressed_identifiers(request_id);
            """);
        Reload();
    }

    /// <summary>True when at least one identifier is suppressed: only then does the collector look.</summary>
    public bool Active => _byDigest.Count > 0;

    /// <summary>Suppresses the identifiers under the request; answers how many were newly suppressed.</summary>
    public int Suppress(string requestId, IEnumerable<Identifier> identifiers)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT OR IGNORE INTO suppressions(request_id, created_at) VALUES ($r, $at)";
                insert.Parameters.AddWithValue("$r", requestId);
                insert.Parameters.AddWithValue("$at", _time.GetUtcNow().ToUnixTimeMilliseconds());
                insert.ExecuteNonQuery();
            }

            var added = 0;
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT OR IGNORE INTO suppressed_identifiers(digest, type, request_id) VALUES ($d, $t, $r)";
                var digest = insert.Parameters.Add("$d", SqliteType.Blob);
                var type = insert.Parameters.Add("$t", SqliteType.Text);
                insert.Parameters.AddWithValue("$r", requestId);
                foreach (var id in identifiers.Distinct())
                {
                    digest.Value = Digest(id.Type, id.Value);
                    type.Value = id.Type;
                    added += insert.ExecuteNonQuery();
                }
            }

            transaction.Commit();
            Reload();
            return added;
        }
    }

    /// <summary>Lifts every suppression that covers the identifier (all of that person's identifiers with it); answers the requests lifted.</summary>
    public IReadOnlyList<string> Unsuppress(Identifier identifier)
    {
        lock (_gate)
        {
            SaveCountsLocked();
            var requests = new List<string>();
            using (var find = _connection.CreateCommand())
            {
                find.CommandText = "SELECT request_id FROM suppressed_identifiers WHERE digest = $d";
                find.Parameters.AddWithValue("$d", Digest(identifier.Type, identifier.Value));
                using var reader = find.ExecuteReader();
                while (reader.Read())
                {
                    requests.Add(reader.GetString(0));
                }
            }

            using var transaction = _connection.BeginTransaction();
            foreach (var request in requests)
            {
                using var delete = _connection.CreateCommand();
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM suppressed_identifiers WHERE request_id = $r; DELETE FROM suppressions WHERE request_id = $r";
                delete.Parameters.AddWithValue("$r", request);
                delete.ExecuteNonQuery();
                _dropped.Remove(request);
                _droppedSaved.Remove(request);
            }

            transaction.Commit();
            Reload();
            return requests;
        }
    }

    /// <summary>The suppression in force for this identifier, if any.</summary>
    public string? Find(Identifier identifier) => _byDigest.GetValueOrDefault(Key(Digest(identifier.Type, identifier.Value)));

    public IReadOnlyList<Suppression> List()
    {
        lock (_gate)
        {
            SaveCountsLocked();
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

    /// <summary>
    /// The suppression an event falls under, or null. Reads the identifiers the profile engine would
    /// link the event by; emails are compared in lower case and every value trimmed, as the engine keeps them.
    /// </summary>
    public string? Match(byte[] json)
    {
        var byDigest = _byDigest;
        if (byDigest.Count == 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? hit = null;
        bool Check(string type, JsonElement value)
        {
            var text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            };
            if (text is null)
            {
                return false;
            }

            hit = byDigest.GetValueOrDefault(Key(Digest(type, text)));
            return hit is not null;
        }

        bool CheckTraits(JsonElement traits) =>
            traits.ValueKind == JsonValueKind.Object
            && ((traits.TryGetProperty("email"u8, out var email) && Check(IdentifierType.Email, email))
                || (traits.TryGetProperty("phone"u8, out var phone) && Check(IdentifierType.Phone, phone)));

        if ((root.TryGetProperty("userId"u8, out var userId) && Check(IdentifierType.UserId, userId))
            || (root.TryGetProperty("anonymousId"u8, out var anonymousId) && Check(IdentifierType.AnonymousId, anonymousId))
            || (root.TryGetProperty("previousId"u8, out var previousId) && (Check(IdentifierType.UserId, previousId) || Check(IdentifierType.AnonymousId, previousId)))
            || (root.TryGetProperty("traits"u8, out var traits) && CheckTraits(traits)))
        {
            return hit;
        }

        if (root.TryGetProperty("context"u8, out var context) && context.ValueKind == JsonValueKind.Object)
        {
            if (context.TryGetProperty("traits"u8, out var contextTraits) && CheckTraits(contextTraits))
            {
                return hit;
            }

            if (context.TryGetProperty("externalIds"u8, out var external) && external.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in external.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String
                        && item.TryGetProperty("id"u8, out var id) && Check(type.GetString()!, id))
                    {
                        return hit;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>Like <see cref="Match"/> for a refused event's stored sample, which may not be JSON at all.</summary>
    public string? MatchRaw(byte[] payload)
    {
        if (_byDigest.Count == 0)
        {
            return null;
        }

        try
        {
            return Match(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Counts an event dropped under a suppression; the counts are saved when listed and on shutdown.</summary>
    public void CountDropped(string requestId)
    {
        lock (_dropped)
        {
            _dropped[requestId] = _dropped.GetValueOrDefault(requestId) + 1;
        }
    }

    private void SaveCountsLocked()
    {
        KeyValuePair<string, long>[] counts;
        lock (_dropped)
        {
            counts = [.. _dropped];
        }

        foreach (var (request, count) in counts)
        {
            var saved = _droppedSaved.GetValueOrDefault(request);
            if (count == saved)
            {
                continue;
            }

            using var update = _connection.CreateCommand();
            update.CommandText = "UPDATE suppressions SET dropped = dropped + $n WHERE request_id = $r";
            update.Parameters.AddWithValue("$n", count - saved);
            update.Parameters.AddWithValue("$r", request);
            update.ExecuteNonQuery();
            _droppedSaved[request] = count;
        }
    }

    private void Reload()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT digest, request_id FROM suppressed_identifiers";
        using var reader = command.ExecuteReader();
        var map = new Dictionary<UInt128, string>();
        while (reader.Read())
        {
            map[Key((byte[])reader.GetValue(0))] = reader.GetString(1);
        }

        _byDigest = map.ToFrozenDictionary();
    }

    /// <summary>SHA-256 of type and value as the engine keeps them (trimmed; emails in lower case).</summary>
    internal static byte[] Digest(string type, string value)
    {
        var kept = value.Trim();
        if (type == IdentifierType.Email)
        {
            kept = kept.ToLowerInvariant();
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(type + "\n" + kept));
    }

    private static UInt128 Key(byte[] digest) => new(BitConverter.ToUInt64(digest, 0), BitConverter.ToUInt64(digest, 8));

    public void Dispose()
    {
        lock (_gate)
        {
            SaveCountsLocked();
        }

        _connection.Dispose();
    }
}
