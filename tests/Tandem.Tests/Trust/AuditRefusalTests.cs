using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Refusals are counted and sampled, and every field is capped: a token cannot grow the permanent log at will.</summary>
public sealed partial class AuditRefusalTests : IDisposable
{
    private const string Route = "GET /api/v1/members";
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-refusals-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
    private readonly AuditLog _log;

    public AuditRefusalTests() => _log = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, _clock);

    [Fact]
    public void Refused_AThousandTimesInAMinute_WritesTheFirst_ThenOneSummaryWithTheCount()
    {
        for (var i = 0; i < 1_000; i++)
        {
            _log.Refused("token:tok_1", "token:tok_1", Route, 403);
        }

        Assert.Equal(1, _log.Head.Seq);
        _clock.Advance(TimeSpan.FromSeconds(30));
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);
        Assert.Equal(1, _log.Head.Seq);

        _clock.Advance(TimeSpan.FromSeconds(31)); // the minute ends: its timer writes the count
        var records = _log.Query(new AuditQuery()).Records.Reverse().ToList();
        Assert.Equal(["api.call", "api.refused"], records.Select(r => r.Action));
        Assert.Equal(Route, records[1].Target);
        Assert.Equal(1_000, records[1].After!["count"]!.GetValue<long>());
        Assert.Equal(403, records[1].After!["status"]!.GetValue<int>());

        // The next refusal opens a new minute, written on its own.
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);
        Assert.Equal(3, _log.Head.Seq);
        Assert.True(AuditLog.Verify(_directory).Intact);
    }

    [Fact]
    public void Refused_ByAnotherCallerRouteOrStatus_IsCountedApart()
    {
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);
        _log.Refused("token:tok_2", "token:tok_2", Route, 403);
        _log.Refused("token:tok_1", "token:tok_1", "POST /api/v1/sources", 403);
        _log.Refused("token:tok_1", "token:tok_1", Route, 429);
        _log.Refused("anonymous", "address:203.0.113.9", Route, 401);
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);

        Assert.Equal(5, _log.Head.Seq);
    }

    [Fact]
    public void Refusals_StillCounted_AreWrittenWhenTheLogCloses()
    {
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);
        _log.Refused("token:tok_1", "token:tok_1", Route, 403);

        _log.Dispose();

        using var reopened = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, _clock);
        Assert.Equal("api.refused", reopened.Query(new AuditQuery(Limit: 1)).Records.Single().Action);
    }

    [Fact]
    public void Append_OversizedFields_AreCutWithAMarker()
    {
        var record = _log.Append("token:tok_1", "api.call", "GET /" + new string('t', 5_000), new JsonObject { ["blob"] = new string('b', 100_000) },
            new JsonObject { ["small"] = 1 }, new string('d', 5_000));

        Assert.Equal(AuditLog.MaxTargetLength, record.Target.Length);
        Assert.EndsWith(AuditLog.TruncatedMarker, record.Target, StringComparison.Ordinal);
        Assert.Equal(AuditLog.MaxDetailLength, record.Detail!.Length);
        Assert.True(record.Before!["truncated"]!.GetValue<bool>());
        Assert.True(record.Before.ToJsonString().Length <= AuditLog.MaxJsonBytes);
        Assert.Equal(1, record.After!["small"]!.GetValue<int>());
        Assert.True(AuditLog.Verify(_directory).Intact);
    }

    [Fact]
    public async Task ThrottledSignIns_FromOneAddress_AreSampled_NotRecordedOneByOne()
    {
        await using var server = await TandemServer.StartAsync();
        using var browser = new HttpClient { BaseAddress = server.BaseAddress };
        for (var i = 0; i < MemberRegistry.MaxFailedSignInsPerAddress + 30; i++)
        {
            using var _ = await browser.PostAsJsonAsync("/api/v1/session", new { email = $"guess{i}@example.com", password = "not the password" });
        }

        var throttled = (await server.AdminGetAsync("/api/v1/audit?action=session.address_throttled")).GetProperty("records").EnumerateArray().ToList();
        Assert.Single(throttled);
        server.Clock.Advance(AuditLog.RefusalWindow);
        var summary = (await server.AdminGetAsync("/api/v1/audit?action=api.refused")).GetProperty("records").EnumerateArray().Single();
        Assert.Equal("session.address_throttled", summary.GetProperty("after").GetProperty("action").GetString());
        var failed = (await server.AdminGetAsync("/api/v1/audit?action=session.sign_in_failed")).GetProperty("records").GetArrayLength();
        Assert.InRange(failed, 1, MemberRegistry.MaxFailedSignInsPerAddress);
        Assert.Equal(MemberRegistry.MaxFailedSignInsPerAddress + 30 - failed - 1, summary.GetProperty("after").GetProperty("count").GetInt64());
    }

    public void Dispose()
    {
        _log.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

/// <summary>
/// Reads exact counter values, and meters are process-wide (every test server's "Tandem.Audit" instruments
/// feed every server's /metrics), so it runs alone, with the collector's metrics test.
/// </summary>
[Collection(nameof(Collect.MetricsTests))]
public sealed class AuditRefusalMetricsTests
{
    [Fact]
    public async Task ViewerToken_RefusedTwoHundredTimes_WritesOneRecord_AndTheMetricsCountTheRest()
    {
        await using var server = await TandemServer.StartAsync();
        var viewer = await server.MemberTokenAsync("viewer@staff.example", Roles.Viewer);
        var before = server.Services.GetRequiredService<AuditLog>().Head.Seq;

        for (var i = 0; i < 200; i++)
        {
            using var response = await server.Http.SendAsync(server.As(viewer.Authorization, HttpMethod.Get, "/api/v1/audit"));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        var after = server.Services.GetRequiredService<AuditLog>().Head.Seq;
        Assert.Equal(1, after - before);
        var metrics = await server.Http.GetStringAsync(server.Url("/metrics"));
        Assert.Equal(199, Metric(metrics, "tandem_audit_sampled_total"));
        Assert.True(Metric(metrics, "tandem_audit_records_total") >= after);

        server.Clock.Advance(AuditLog.RefusalWindow);
        var summary = (await server.AdminGetAsync($"/api/v1/audit?actor={viewer.Actor}&action=api.refused")).GetProperty("records").EnumerateArray().Single();
        Assert.Equal(199, summary.GetProperty("after").GetProperty("count").GetInt64());
        Assert.Equal("GET /api/v1/audit", summary.GetProperty("target").GetString());
    }

    private static long Metric(string metrics, string name) =>
        long.Parse(Regex.Match(metrics, $@"^{name}(\{{[^}}]*\}})? (\d+)", RegexOptions.Multiline).Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
}
