using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The audit hash as docs/trust.md "How the hash is computed" defines it, computed here with SHA-256
/// directly: what a user checking the log with their own tools would write. The expectation never comes
/// from <c>AuditChain.Hash</c>, so a change to what the server hashes (a field left out, lengths in
/// characters) fails here even though the server's own verify, using the same function, would agree.
/// </summary>
public sealed class AuditHashVectorTests
{
    [Fact]
    public void DocumentedVector_HashesToTheValuePrintedInTheDoc()
    {
        // The vector printed in docs/trust.md, its hash worked out apart from Tandem (Python's hashlib).
        const string Expected = "467e72c559f50f05339e5603c755ea8a810b4aafb282312b3f82e71115780609";
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

        Assert.Equal(1_795_435_200_000, at);
        Assert.Equal(Expected, DocumentedHash(new string('0', 64), 42, at, "member:mbr_7", "source.update", "source:src_3",
            """{"name":"Web"}""", """{"name":"Café shop"}""", null));
        Assert.Equal(Expected, AuditChain.Hash(new string('0', 64), 42, at, "member:mbr_7", "source.update", "source:src_3",
            """{"name":"Web"}""", """{"name":"Café shop"}""", null));
    }

    [Fact]
    public async Task ARenamedSource_IsRecordedUnderTheDocumentedHash_InTheDatabase_TheApiAndTheHead()
    {
        await using var server = await TandemServer.StartAsync();
        using var rename = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{server.DefaultSourceId}", new { name = "Café <shop> ✓" }));
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);

        var reported = (await server.AdminGetAsync("/api/v1/audit?action=source.update")).GetProperty("records")[0];
        var seq = reported.GetProperty("seq").GetInt64();
        Assert.Equal("Café <shop> ✓", reported.GetProperty("after").GetProperty("name").GetString());
        Assert.NotEqual("Café <shop> ✓", reported.GetProperty("before").GetProperty("name").GetString());

        // The fields exactly as stored: before and after are hashed as the JSON text in audit.db.
        var stored = StoredRecord(server.DataDirectory, seq);
        Assert.NotNull(stored.Before);
        Assert.Equal(reported.GetProperty("prevHash").GetString(), stored.PrevHash);
        Assert.Equal(reported.GetProperty("at").GetDateTimeOffset().ToUnixTimeMilliseconds(), stored.At);
        var expected = DocumentedHash(stored.PrevHash, seq, stored.At, stored.Actor, stored.Action, stored.Target, stored.Before, stored.After, stored.Detail);

        Assert.Equal(expected, stored.Hash);
        Assert.Equal(expected, reported.GetProperty("hash").GetString());
        var head = await server.AdminGetAsync("/api/v1/audit/head");
        if (head.GetProperty("seq").GetInt64() == seq)
        {
            Assert.Equal(expected, head.GetProperty("hash").GetString());
        }
    }

    /// <summary>docs/trust.md: SHA-256 over prevHash, seq, at, actor, action, target, before, after, detail.</summary>
    private static string DocumentedHash(string prevHash, long seq, long at, string actor, string action, string target, string? before, string? after, string? detail)
    {
        var encoding = new List<byte>();
        Text(prevHash);
        BigEndian(seq);
        BigEndian(at);
        Text(actor);
        Text(action);
        Text(target);
        Text(before);
        Text(after);
        Text(detail);
        return Convert.ToHexStringLower(SHA256.HashData([.. encoding]));

        void BigEndian(long value)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(bytes, value);
            encoding.AddRange(bytes);
        }

        void Text(string? value)
        {
            if (value is null)
            {
                encoding.Add(0);
                return;
            }

            var utf8 = Encoding.UTF8.GetBytes(value);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, utf8.Length);
            encoding.Add(1);
            encoding.AddRange(length);
            encoding.AddRange(utf8);
        }
    }

    private sealed record Stored(long At, string Actor, string Action, string Target, string? Before, string? After, string? Detail, string PrevHash, string Hash);

    private static Stored StoredRecord(string dataDirectory, long seq)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "audit.db"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT at, actor, action, target, before, after, detail, prev_hash, hash FROM audit WHERE seq = $seq";
        command.Parameters.AddWithValue("$seq", seq);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), $"audit.db holds no record #{seq}");
        string? Nullable(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return new Stored(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            Nullable(4), Nullable(5), Nullable(6), reader.GetString(7), reader.GetString(8));
    }
}
