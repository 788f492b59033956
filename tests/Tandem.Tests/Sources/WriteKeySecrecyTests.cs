using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using Tandem.Tests.Support;

namespace Tandem.Tests.Sources;

/// <summary>
/// A write key lets anyone send events as its source: it is shown once, when issued, and kept only as a
/// digest, so neither a token that reads sources nor a copy of the data folder yields one.
/// </summary>
public sealed class WriteKeySecrecyTests
{
    private const string Track = """{"userId":"u","event":"E"}""";

    [Fact]
    public async Task ReadingSources_AnyToken_ShowsOnlyTheKeysLastFourCharacters()
    {
        await using var server = await TandemServer.StartAsync();
        var created = await server.CreateSourceAsync("Website");
        var id = created.GetProperty("id").GetString()!;
        var writeKey = created.GetProperty("writeKey").GetString()!;
        var (_, viewer) = await server.CreateTokenAsync(["sources:read"]);

        using var patched = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{id}", new { name = "Web shop" }));
        string[] answers =
        [
            (await server.AdminGetAsync("/api/v1/sources")).GetRawText(),
            (await server.AdminGetAsync($"/api/v1/sources/{id}")).GetRawText(),
            (await server.GetAsAsync("Bearer " + viewer, "/api/v1/sources")).GetRawText(),
            (await HttpAssert.JsonAsync(patched, HttpStatusCode.OK)).GetRawText(),
        ];

        Assert.All(answers, answer => Assert.DoesNotContain(writeKey, answer, StringComparison.Ordinal));
        Assert.All(answers, answer => Assert.DoesNotContain(server.WriteKey, answer, StringComparison.Ordinal));
        var listed = (await server.AdminGetAsync("/api/v1/sources")).EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);
        Assert.Equal(writeKey[^4..], listed.GetProperty("writeKeyEnd").GetString());
        Assert.False(listed.TryGetProperty("writeKey", out _));
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", Track, writeKey), HttpStatusCode.OK);
    }

    [Fact]
    public async Task DataFolder_AfterCreateAndRotate_HoldsNoWriteKey()
    {
        await using var server = await TandemServer.StartAsync();
        var created = await server.CreateSourceAsync("CRM");
        using var rotated = await server.Http.SendAsync(server.Admin(HttpMethod.Post, $"/api/v1/sources/{created.GetProperty("id").GetString()}/rotate-key"));
        var newKey = (await HttpAssert.JsonAsync(rotated, HttpStatusCode.OK)).GetProperty("writeKey").GetString()!;
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", Track, newKey), HttpStatusCode.OK);

        await server.RestartAsync(); // everything written and closed

        foreach (var key in new[] { server.WriteKey, created.GetProperty("writeKey").GetString()!, newKey })
        {
            Assert.Empty(FilesHolding(server.DataDirectory, key));
        }

        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", Track, newKey), HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_FolderWithAClearKeyFromAnOlderVersion_KeyKeepsWorkingAndIsNoLongerStored()
    {
        await using var server = await TandemServer.StartAsync();
        const string OldKey = "OldClearKey0123456789abcdefghijK";
        await server.RestartAsync(() =>
        {
            using var db = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "tandem.db")};Pooling=False");
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = "UPDATE sources SET write_key = $key, write_key_end = '' WHERE id = $id"; // as stored before keys were digested
            command.Parameters.AddWithValue("$key", OldKey);
            command.Parameters.AddWithValue("$id", server.DefaultSourceId);
            command.ExecuteNonQuery();
        });

        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", Track, OldKey), HttpStatusCode.OK);
        var listed = (await server.AdminGetAsync("/api/v1/sources")).EnumerateArray().Single(s => s.GetProperty("id").GetString() == server.DefaultSourceId);
        Assert.Equal("ijK", listed.GetProperty("writeKeyEnd").GetString()![1..]);
        await server.RestartAsync();
        Assert.Empty(FilesHolding(server.DataDirectory, OldKey));
    }

    /// <summary>The files of the folder whose bytes contain the key's text.</summary>
    private static List<string> FilesHolding(string folder, string key)
    {
        var needle = Encoding.UTF8.GetBytes(key);
        return Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "tandem.lock" && File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0) // the lock file holds a process id, and is locked
            .Select(Path.GetFileName).ToList()!;
    }
}
