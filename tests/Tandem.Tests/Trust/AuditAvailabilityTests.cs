using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>A change and its audit record succeed or fail together, and a failed anchor write does not jam the log.</summary>
public sealed class AuditAvailabilityTests
{
    [Fact]
    public void Append_AfterAFailedAnchorWrite_StillAppends_AndTheNextWriteRepairsTheAnchor()
    {
        var directory = Directory.CreateTempSubdirectory("tandem-audit-").FullName;
        try
        {
            using var log = TestAudit.Open(new TandemOptions { DataDirectory = directory }, new FakeTimeProvider());
            log.Append("system", "test.one", "thing:1");
            var anchor = Path.Combine(directory, AuditLog.AnchorFile);
            File.Delete(anchor);
            Directory.CreateDirectory(anchor); // the anchor cannot be replaced now

            var second = log.Append("system", "test.two", "thing:2");
            Assert.False(log.Ready());

            Directory.Delete(anchor);
            Assert.True(log.Ready());
            var third = log.Append("system", "test.three", "thing:3");

            Assert.Equal([2L, 3L], [second.Seq, third.Seq]);
            var verified = AuditLog.Verify(directory);
            Assert.True(verified.Intact, verified.Problem);
            Assert.Equal(3, verified.Records);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Change_WhileTheAnchorCannotBeWritten_Answers503AuditUnavailable_AndIsNotMade_ThenRecovers()
    {
        await using var server = await TandemServer.StartAsync();
        var anchor = Path.Combine(server.DataDirectory, AuditLog.AnchorFile);
        File.Delete(anchor);
        Directory.CreateDirectory(anchor);

        // The first change after the failure still has its record: the record is in the table, the anchor one behind.
        using var first = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "First" }));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        using var refused = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "Second" }));
        await HttpAssert.ProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "audit_unavailable");
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        using var browser = new HttpClient { BaseAddress = server.BaseAddress };
        using var signIn = await browser.PostAsJsonAsync("/api/v1/session", new { email = "nobody@staff.example", password = "whatever it is" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, signIn.StatusCode);

        var names = (await server.AdminGetAsync("/api/v1/sources")).EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList();
        Assert.Contains("First", names);
        Assert.DoesNotContain("Second", names);

        Directory.Delete(anchor);
        using var later = await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/sources", new { name = "Third" }));
        Assert.Equal(HttpStatusCode.Created, later.StatusCode);
        var records = (await server.AdminGetAsync("/api/v1/audit?action=source.create")).GetProperty("records").EnumerateArray()
            .Select(r => r.GetProperty("after").GetProperty("name").GetString()).ToList();
        Assert.Equal(["Third", "First"], records);
        var verify = await server.AdminGetAsync("/api/v1/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
        Assert.True(server.Services.GetRequiredService<AuditLog>().Ready());
    }
}
