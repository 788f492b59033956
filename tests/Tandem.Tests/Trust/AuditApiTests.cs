using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

public sealed class AuditApiTests
{
    [Fact]
    public async Task List_ReturnsRecordsNewestFirst_WithBeforeAndAfterAsJson()
    {
        await using var server = await TandemServer.StartAsync();
        var log = server.Services.GetRequiredService<AuditLog>();
        var record = log.Append("member:mbr_1", "source.rename", "source:src_1",
            new JsonObject { ["name"] = "Web" }, new JsonObject { ["name"] = "Web shop" }, "renamed from the console");

        var page = await server.AdminGetAsync("/api/v1/audit");

        var only = Assert.Single(page.GetProperty("records").EnumerateArray());
        Assert.Equal(1, only.GetProperty("seq").GetInt64());
        Assert.Equal(server.Clock.GetUtcNow(), only.GetProperty("at").GetDateTimeOffset());
        Assert.Equal("member:mbr_1", only.GetProperty("actor").GetString());
        Assert.Equal("source.rename", only.GetProperty("action").GetString());
        Assert.Equal("source:src_1", only.GetProperty("target").GetString());
        Assert.Equal("Web", only.GetProperty("before").GetProperty("name").GetString());
        Assert.Equal("Web shop", only.GetProperty("after").GetProperty("name").GetString());
        Assert.Equal("renamed from the console", only.GetProperty("detail").GetString());
        Assert.Equal(record.Hash, only.GetProperty("hash").GetString());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task List_Filters_SelectByActorActionTargetAndTime_AndTheCursorPages()
    {
        await using var server = await TandemServer.StartAsync();
        var log = server.Services.GetRequiredService<AuditLog>();
        var start = server.Clock.GetUtcNow();
        log.Append("member:mbr_1", "source.create", "source:src_1");
        server.Clock.Advance(TimeSpan.FromHours(1));
        log.Append("member:mbr_2", "source.rename", "source:src_1");
        server.Clock.Advance(TimeSpan.FromHours(1));
        log.Append("token:tok_1", "token.revoke", "token:tok_2");

        Assert.Equal(new long[] { 2, 1 }, await SeqsAsync(server, "action=source.*&target=source:src_1&limit=5"));
        Assert.Equal(new long[] { 1 }, await SeqsAsync(server, "actor=member:mbr_1"));
        Assert.Equal(new long[] { 2 }, await SeqsAsync(server, "action=source.rename"));
        Assert.Equal(new long[] { 2, 1 }, await SeqsAsync(server, "action=source.*"));
        Assert.Equal(new long[] { 3 }, await SeqsAsync(server, "target=token:tok_2"));
        Assert.Equal(new long[] { 3, 2 }, await SeqsAsync(server, $"since={Iso(start.AddHours(1))}"));
        Assert.Equal(new long[] { 1 }, await SeqsAsync(server, $"until={Iso(start.AddHours(1))}"));
        Assert.Equal(new long[] { 2 }, await SeqsAsync(server, $"since={Iso(start.AddMinutes(30))}&until={Iso(start.AddMinutes(90))}"));
        Assert.Equal(new long[] { 3, 2, 1 }, await SeqsAsync(server, "since=2026-11-23&actor="));

        var first = await server.AdminGetAsync("/api/v1/audit?limit=2");
        Assert.Equal(2, first.GetProperty("next").GetInt64());
        var second = await server.AdminGetAsync($"/api/v1/audit?limit=2&before={first.GetProperty("next").GetInt64()}");
        Assert.Equal([1], second.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("seq").GetInt64()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
    }

    [Theory]
    [InlineData("limit=0", "limit", "invalid_limit")]
    [InlineData("limit=501", "limit", "invalid_limit")]
    [InlineData("limit=ten", "limit", "invalid_limit")]
    [InlineData("before=0", "before", "invalid_cursor")]
    [InlineData("before=abc", "before", "invalid_cursor")]
    [InlineData("since=yesterday", "since", "invalid_parameter")]
    [InlineData("since=1732363200", "since", "invalid_parameter")]
    [InlineData("until=2026-13-01", "until", "invalid_parameter")]
    [InlineData("since=2026-11-23T12:00:00Z&until=2026-11-23T12:00:00Z", "until", "invalid_parameter")]
    [InlineData("action=source*", "action", "invalid_parameter")]
    [InlineData("action=*.create", "action", "invalid_parameter")]
    [InlineData("action=.*", "action", "invalid_parameter")]
    public async Task List_BadParameter_AnswersAProblemNamingIt(string query, string field, string reason)
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/api/v1/audit?" + query));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, reason);
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Audit_WithoutTheAdminToken_IsRefused()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.Http.GetAsync(server.Url("/api/v1/audit"));

        await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task HeadAndVerify_AfterAppendsAndARestart_AgreeAndSayIntact()
    {
        await using var server = await TandemServer.StartAsync();
        var empty = await server.AdminGetAsync("/api/v1/audit/head");
        Assert.Equal(0, empty.GetProperty("seq").GetInt64());
        Assert.Equal(AuditChain.GenesisHash, empty.GetProperty("hash").GetString());

        server.Services.GetRequiredService<AuditLog>().Append("system", "workspace.create", "workspace:ws_1");
        var last = server.Services.GetRequiredService<AuditLog>().Append("member:mbr_1", "source.create", "source:src_1");
        await server.RestartAsync();
        server.Clock.Advance(TimeSpan.FromMinutes(1));

        var head = await server.AdminGetAsync("/api/v1/audit/head");
        var verification = await server.AdminGetAsync("/api/v1/audit/verify");

        Assert.Equal(2, head.GetProperty("seq").GetInt64());
        Assert.Equal(last.Hash, head.GetProperty("hash").GetString());
        Assert.Equal(last.At, head.GetProperty("at").GetDateTimeOffset());
        Assert.True(verification.GetProperty("intact").GetBoolean());
        Assert.Equal(2, verification.GetProperty("records").GetInt64());
        Assert.Equal(2, verification.GetProperty("headSeq").GetInt64());
        Assert.Equal(last.Hash, verification.GetProperty("headHash").GetString());
        Assert.False(verification.TryGetProperty("problem", out _));
        Assert.Equal(3, server.Services.GetRequiredService<AuditLog>().Append("system", "api.call", "after restart").Seq);
    }

    [Fact]
    public async Task Verify_RecordEditedWhileStopped_Answers200WithWhereAndWhat()
    {
        await using var server = await TandemServer.StartAsync();
        var log = server.Services.GetRequiredService<AuditLog>();
        for (var i = 0; i < 3; i++)
        {
            log.Append("member:mbr_1", "member.role_change", $"member:mbr_{i}", after: new JsonObject { ["role"] = "viewer" });
        }

        await server.RestartAsync(() =>
        {
            using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, AuditLog.DatabaseFile)};Pooling=false");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """UPDATE audit SET after = '{"role":"owner"}' WHERE seq = 2""";
            command.ExecuteNonQuery();
        });

        var verification = await server.AdminGetAsync("/api/v1/audit/verify");

        Assert.False(verification.GetProperty("intact").GetBoolean());
        Assert.Equal(2, verification.GetProperty("seq").GetInt64());
        Assert.Equal("edited", verification.GetProperty("kind").GetString());
        Assert.Contains("Record #2 was edited", verification.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.False(verification.TryGetProperty("records", out _));
    }

    [Fact]
    public async Task CliList_PrintsMatchingRecordsFromARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        var log = server.Services.GetRequiredService<AuditLog>();
        log.Append("member:mbr_1", "source.create", "source:src_1");
        log.Append("member:mbr_1", "token.revoke", "token:tok_2", detail: "leaked in a ticket");

        var (code, output, error) = await AuditLogTests.RunCliAsync("audit", "list", "--action", "token.*",
            "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken);

        Assert.True(code == 0, error);
        Assert.Contains("token:tok_2  leaked in a ticket", output, StringComparison.Ordinal);
        Assert.DoesNotContain("source:src_1", output, StringComparison.Ordinal);
    }

    private static async Task<long[]> SeqsAsync(TandemServer server, string query) =>
        [.. (await server.AdminGetAsync("/api/v1/audit?" + query)).GetProperty("records").EnumerateArray().Select(r => r.GetProperty("seq").GetInt64())];

    private static string Iso(DateTimeOffset time) => Uri.EscapeDataString(time.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
}
