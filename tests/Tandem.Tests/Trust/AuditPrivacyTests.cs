using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>The audit log is permanent, so nothing personal goes in: route patterns, ids and keyed hashes, never a customer's email.</summary>
public sealed class AuditPrivacyTests
{
    private const string Email = "ada.lovelace@example.com";

    private const string Ada = """
        {"type":"identify","userId":"ada-1","messageId":"a-1","timestamp":"2026-11-20T10:00:00Z","traits":{"email":"ada.lovelace@example.com","first_name":"Ada"}}
        """;

    [Fact]
    public async Task RefusedCall_ByAViewerWithAnEmailInThePath_PlantsNothingAndRecordsTheRoutePattern()
    {
        await using var server = await TandemServer.StartAsync();
        var viewer = await server.MemberTokenAsync("viewer@staff.example", Roles.Viewer);

        using var response = await server.Http.SendAsync(server.As(viewer.Authorization, HttpMethod.Post, $"/api/v1/profiles/email:{Email}/consent",
            new { purposes = new { marketing = false } }));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var record = Assert.Single((await server.AdminGetAsync($"/api/v1/audit?actor={viewer.Actor}&action=api.call")).GetProperty("records").EnumerateArray());
        Assert.Equal("POST /api/v1/profiles/{identifier}/consent", record.GetProperty("target").GetString());
        Assert.Equal("answered 403", record.GetProperty("detail").GetString());
        Assert.DoesNotContain(Email, AuditBytes(server), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ConsentRecordedByEmail_LeavesNoEmailInTheAuditDatabase_AndKeepsTheIdsOfA2xx()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", Ada);
        await server.CaughtUpAsync();
        var officer = await server.MemberTokenAsync("po@staff.example", Roles.PrivacyOfficer);

        using var response = await server.Http.SendAsync(server.As(officer.Authorization, HttpMethod.Post, $"/api/v1/profiles/email:{Email}/consent",
            new { purposes = new { marketing = false } }));
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        using var rename = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{server.DefaultSourceId}", new { name = "Web shop" }));
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);

        var calls = (await server.AdminGetAsync("/api/v1/audit?action=api.call")).GetProperty("records").EnumerateArray()
            .Select(r => $"{r.GetProperty("target").GetString()} {r.GetProperty("detail").GetString()}").ToList();
        Assert.Contains("POST /api/v1/profiles/{identifier}/consent answered 200", calls);
        Assert.Contains($"PATCH /api/v1/sources/{{id}} answered 200; id={server.DefaultSourceId}", calls);
        var consent = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=consent.recorded")).GetProperty("records").EnumerateArray());
        Assert.StartsWith("profile:", consent.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Email, AuditBytes(server), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PrivacyDelete_ByEmail_LeavesNothingPersonalInTheAuditLog()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/identify", Ada);
        await server.CaughtUpAsync();
        // Work on the person before the request: each call is recorded, and the delete cannot rewrite those records.
        using var consent = await server.Http.SendAsync(server.Admin(HttpMethod.Post, $"/api/v1/profiles/email:{Email}/consent", new { purposes = new { marketing = false } }));
        Assert.Equal(HttpStatusCode.OK, consent.StatusCode);

        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "delete", identifier = "email:" + Email }));
        await HttpAssert.JsonAsync(response, HttpStatusCode.Created);

        var all = AuditBytes(server);
        Assert.Contains("privacy.request_completed", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, all, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("lovelace", all, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ada-1", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedSignIn_IsRecordedAgainstAKeyedHash_NeverTheTypedEmail()
    {
        await using var server = await TandemServer.StartAsync();
        using var browser = new HttpClient { BaseAddress = server.BaseAddress };

        await browser.PostAsJsonAsync("/api/v1/session", new { email = Email, password = "not the password" });
        await browser.PostAsJsonAsync("/api/v1/session", new { email = " ADA.Lovelace@example.com", password = "nor this one" });

        var records = (await server.AdminGetAsync("/api/v1/audit?action=session.*")).GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Matches("^email-hash:[0-9a-f]{16}$", r.GetProperty("target").GetString()));
        Assert.Equal(records[0].GetProperty("target").GetString(), records[1].GetProperty("target").GetString());
        Assert.DoesNotContain(Email, AuditBytes(server), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AuditList_AppliesTheReadersPiiPolicy_ToWhatOlderRecordsHold()
    {
        await using var server = await TandemServer.StartAsync();
        // As a record written before the rule held it: an email in the target and the detail.
        server.Services.GetRequiredService<AuditLog>().Append("anonymous", "session.sign_in_failed", "email:" + Email, detail: $"{Email} from 203.0.113.9");
        var steward = await server.MemberTokenAsync("it@staff.example", Roles.ItSteward);

        var seen = (await server.GetAsAsync(steward.Authorization, "/api/v1/audit?action=session.sign_in_failed")).GetProperty("records")
            .EnumerateArray().Single();
        var admin = (await server.AdminGetAsync("/api/v1/audit?action=session.sign_in_failed")).GetProperty("records").EnumerateArray().Single();

        Assert.DoesNotContain(Email, seen.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("@example.com", seen.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Equal("email:" + Email, admin.GetProperty("target").GetString());
    }

    /// <summary>Every byte of the audit database and its write-ahead log, as a disk image would show them.</summary>
    [Fact]
    public async Task ComputedTrait_WhoseConditionComparesAnEmail_IsAuditedWithoutTheValue()
    {
        await using var server = await TandemServer.StartAsync();
        var definition = new
        {
            aggregation = "count",
            @event = "Order Completed",
            where = new object[]
            {
                new { property = "email", @operator = "equals", value = Email },
                new { property = "plan", @operator = "equals", value = "pro" },
            },
        };

        using (var put = await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/computed-traits/ada_orders", definition)))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using (var delete = await server.Http.SendAsync(server.Admin(HttpMethod.Delete, "/api/v1/computed-traits/ada_orders")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var recorded = Assert.Single((await server.AdminGetAsync("/api/v1/audit?action=computed_trait.put")).GetProperty("records").EnumerateArray());
        var where = recorded.GetProperty("after").GetProperty("where");
        Assert.Equal("(yellow value withheld)", where[0].GetProperty("value").GetString());
        Assert.Equal("pro", where[1].GetProperty("value").GetString()); // a green value is what an auditor needs to read the rule
        Assert.DoesNotContain(Email, AuditBytes(server), StringComparison.OrdinalIgnoreCase);
    }

    private static string AuditBytes(TandemServer server) =>
        string.Join('\n', Directory.EnumerateFiles(server.DataDirectory, AuditLog.DatabaseFile + "*")
            .Append(Path.Combine(server.DataDirectory, AuditLog.AnchorFile))
            .Where(File.Exists)
            .Select(f =>
            {
                using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return Encoding.Latin1.GetString(copy.ToArray());
            }));
}
