using Microsoft.Data.Sqlite;
using Tandem.Trust;

namespace Tandem.Storage.Sqlite;

/// <summary>Members in <c>tandem.db</c>'s <c>members</c> table; one connection, one statement at a time.</summary>
internal sealed class SqliteMemberStore(ControlDatabase database) : IMemberStore, IDisposable
{
    private readonly SqliteConnection _connection = database.Connect();
    private readonly Lock _gate = new();

    public static SqliteMemberStore Open(string dataDirectory) => new(ControlDatabase.Open(dataDirectory));

    public IReadOnlyList<Member> LoadAll()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id, email, name, roles, disabled, created_at, updated_at, session_stamp FROM members";
            using var reader = command.ExecuteReader();
            var members = new List<Member>();
            while (reader.Read())
            {
                members.Add(new Member(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries), reader.GetInt64(4) != 0,
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), reader.GetString(7)));
            }

            return members;
        }
    }

    public void Insert(Member member, string passwordHash) => Write("""
        INSERT INTO members(id, email, name, roles, password_hash, created_at, updated_at, session_stamp)
        VALUES ($id, $email, $name, $roles, $hash, $created, $updated, $stamp)
        """, member.Id, ("$email", member.Email), ("$name", member.Name), ("$roles", string.Join(' ', member.Roles)), ("$hash", passwordHash),
        ("$created", member.CreatedAt.ToUnixTimeMilliseconds()), ("$updated", member.UpdatedAt.ToUnixTimeMilliseconds()), ("$stamp", member.SessionStamp));

    public void Update(Member member) => Write(
        "UPDATE members SET name = $name, roles = $roles, disabled = $disabled, updated_at = $now WHERE id = $id",
        member.Id, ("$name", member.Name), ("$roles", string.Join(' ', member.Roles)), ("$disabled", member.Disabled ? 1 : 0),
        ("$now", member.UpdatedAt.ToUnixTimeMilliseconds()));

    public bool Delete(string id) => Write("DELETE FROM members WHERE id = $id", id) > 0;

    public void ResetPassword(string id, string passwordHash) =>
        Write("UPDATE members SET password_hash = $hash, failed_sign_ins = 0, locked_until = NULL WHERE id = $id", id, ("$hash", passwordHash));

    public void Rehash(string id, string passwordHash) => Write("UPDATE members SET password_hash = $hash WHERE id = $id", id, ("$hash", passwordHash));

    public void SetSessionStamp(string id, string stamp) => Write("UPDATE members SET session_stamp = $stamp WHERE id = $id", id, ("$stamp", stamp));

    public MemberSecrets ReadSecrets(string id)
    {
        lock (_gate)
        {
            using var read = _connection.CreateCommand();
            read.CommandText = "SELECT password_hash, failed_sign_ins, locked_until FROM members WHERE id = $id";
            read.Parameters.AddWithValue("$id", id);
            using var reader = read.ExecuteReader();
            return reader.Read()
                ? new MemberSecrets(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt32(1),
                    reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)))
                : default;
        }
    }

    public void WriteFailures(string id, int failed, DateTimeOffset? lockedUntil) =>
        Write("UPDATE members SET failed_sign_ins = $failed, locked_until = $until WHERE id = $id", id,
            ("$failed", failed), ("$until", lockedUntil is { } until ? until.ToUnixTimeMilliseconds() : DBNull.Value));

    private int Write(string sql, string id, params (string Name, object Value)[] values)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$id", id);
            foreach (var (name, value) in values)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return command.ExecuteNonQuery();
        }
    }

    public void Dispose() => _connection.Dispose();
}
