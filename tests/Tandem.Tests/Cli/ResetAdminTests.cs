using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tandem.Cli;
using Tandem.Hosting;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Cli;

/// <summary><c>./tandem tokens reset-admin</c>, end to end: refused while a server runs, then a new admin token that works, old ones that do not, and an audit record.</summary>
public sealed partial class ResetAdminTests : IAsyncLifetime
{
    private const string FirstSecret = "first-admin-secret-N4bV7cX2zM9qW5eR8tY1";
    private readonly string _data = Cli.TempFolder();
    private readonly HttpClient _http = new();

    [Fact]
    public async Task ResetAdmin_ServerRunning_RefusedAndTheTokenStillWorks()
    {
        await using var app = await StartAsync(FirstSecret);
        var (code, _, error) = await Cli.RunAsync("tokens", "reset-admin", "--data", _data);
        Assert.Equal(2, code);
        Assert.Contains($"is in use by process {Environment.ProcessId}", error, StringComparison.Ordinal);
        Assert.Contains("stop the server first", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(app, FirstSecret, "/api/v1/sources")).StatusCode);
    }

    [Fact]
    public async Task ResetAdmin_ServerStopped_NewTokenWorksOldAdminTokensRevokedOthersKeptAndAudited()
    {
        var app = await StartAsync(FirstSecret);
        var machineAdmin = await CreateTokenAsync(app, "deploy robot", ["*"]);
        var website = await CreateTokenAsync(app, "website personalization", ["profiles:read"]);
        await app.DisposeAsync();

        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, ResetAdminCommand.Run(_data, chosenSecret: null, output, error));

        var secret = ShownOnce().Match(output.ToString()).Groups[1].Value;
        Assert.StartsWith("tdm_", secret, StringComparison.Ordinal);
        Assert.Contains("tok_admin", output.ToString(), StringComparison.Ordinal);
        Assert.Contains(machineAdmin.Id, output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"{website.Id} \"website personalization\"", output.ToString(), StringComparison.Ordinal); // still active: shown to be checked

        app = await StartAsync(adminToken: null);
        Assert.Equal("token_revoked", await ReasonAsync(await GetAsync(app, FirstSecret, "/api/v1/sources")));
        Assert.Equal("token_revoked", await ReasonAsync(await GetAsync(app, machineAdmin.Secret, "/api/v1/sources")));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(app, secret, "/api/v1/members")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(app, website.Secret, "/v1/profiles/user_id:nobody/traits")).StatusCode);

        using var audit = await GetAsync(app, secret, "/api/v1/audit?action=token.*&limit=10");
        var records = JsonDocument.Parse(await audit.Content.ReadAsStringAsync()).RootElement.GetProperty("records").EnumerateArray().ToList();
        var reset = records.Single(r => r.GetProperty("action").GetString() == "token.reset_admin");
        Assert.StartsWith("operator:", reset.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.Contains("tokens reset-admin", reset.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var revoked = records.Where(r => r.GetProperty("action").GetString() == "token.revoke").Select(r => r.GetProperty("target").GetString()).ToList();
        Assert.Equal(new[] { "token:" + machineAdmin.Id, "token:tok_admin" }.Order(StringComparer.Ordinal), revoked.Order(StringComparer.Ordinal));
        await app.DisposeAsync();
        Assert.True(AuditLog.Verify(_data).Intact);
    }

    [Fact]
    public async Task ResetAdmin_ChosenSecret_BecomesTheAdminTokenAndAnEarlierSecretIsRefused()
    {
        await (await StartAsync(FirstSecret)).DisposeAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(1, ResetAdminCommand.Run(_data, "chosen-by-it", output, error)); // too weak to hold every scope
        Assert.Contains("openssl rand -base64 32", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, ResetAdminCommand.Run(_data, "  chosen-by-it-W3eR5tY7uI9oP2aS4dF6  ", output, error));
        Assert.Contains("the value of TANDEM_ADMIN_TOKEN", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("chosen-by-it", output.ToString(), StringComparison.Ordinal);

        Assert.Equal(1, ResetAdminCommand.Run(_data, FirstSecret, output, error));
        Assert.Contains("already belongs to token tok_admin", error.ToString(), StringComparison.Ordinal);

        var announce = new StringWriter();
        await using var app = await StartAsync("chosen-by-it-W3eR5tY7uI9oP2aS4dF6", announce);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(app, "chosen-by-it-W3eR5tY7uI9oP2aS4dF6", "/api/v1/sources")).StatusCode);
        Assert.Equal("", announce.ToString()); // the environment's token is the admin token now: nothing to warn about
    }

    [Fact]
    public void ResetAdmin_NoWorkspaceThere_RefusedWithoutCreatingOne()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(1, ResetAdminCommand.Run(_data, null, output, error));

        Assert.Contains("no workspace in", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(_data));
    }

    [GeneratedRegex(@"admin token \(shown once, keep it safe\): (\S+)")]
    private static partial Regex ShownOnce();

    private async Task<WebApplication> StartAsync(string? adminToken, TextWriter? announce = null)
    {
        var app = TandemHost.Build(new TandemOptions { DataDirectory = _data, Urls = "http://127.0.0.1:0", AdminToken = adminToken, Announce = announce ?? TextWriter.Null },
            logging: logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        return app;
    }

    private Task<HttpResponseMessage> GetAsync(WebApplication app, string token, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(app.Urls.First()), path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return _http.SendAsync(request);
    }

    private async Task<(string Id, string Secret)> CreateTokenAsync(WebApplication app, string name, string[] scopes)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(app.Urls.First()), "/api/v1/tokens")) { Content = JsonContent.Create(new { name, scopes }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FirstSecret);
        var created = await HttpAssert.JsonAsync(await _http.SendAsync(request), HttpStatusCode.Created);
        Assert.True(created.GetProperty("ownerId").ValueKind == JsonValueKind.Null, "a token made by the first admin token has no owner");
        return (created.GetProperty("id").GetString()!, created.GetProperty("token").GetString()!);
    }

    private static async Task<string?> ReasonAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("reason").GetString();
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        Cli.Delete(_data);
        return ValueTask.CompletedTask;
    }
}
