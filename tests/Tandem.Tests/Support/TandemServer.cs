using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;

namespace Tandem.Tests.Support;

/// <summary>
/// A real Tandem server for one test: Kestrel on a loopback port, a fresh data folder, a fake clock.
/// Tests talk to it over real HTTP, the way SDKs and operators do.
/// </summary>
public sealed class TandemServer : IAsyncDisposable
{
    /// <summary>Strong enough for the admin-token rule (32+ characters, 10+ different ones), as TANDEM_ADMIN_TOKEN must be.</summary>
    public const string AdminToken = "test-admin-token-K8pW3xZ6vQ1mB9nR4tY7";
    private readonly string _dataDirectory;
    private readonly bool _ownsDirectory;
    private readonly IngestLogOptions _logOptions;
    private WebApplication _app;

    private TandemServer(string dataDirectory, bool ownsDirectory, FakeTimeProvider clock, IngestLogOptions logOptions, IReadOnlyList<string>? trustedProxies = null)
    {
        _trustedProxies = trustedProxies ?? [];
        _dataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        _logOptions = logOptions;
        Clock = clock;
        _app = BuildApp();
        Http = new HttpClient();
    }

    public FakeTimeProvider Clock { get; }

    public HttpClient Http { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public string DataDirectory => _dataDirectory;

    public IServiceProvider Services => _app.Services;

    /// <summary>Write key of the default source created on first start.</summary>
    public string WriteKey { get; private set; } = "";

    public string DefaultSourceId { get; private set; } = "";

    private readonly IReadOnlyList<string> _trustedProxies;

    /// <param name="trustedProxies">Reverse proxies whose forwarded headers the server believes (none by default).</param>
    public static async Task<TandemServer> StartAsync(IngestLogOptions? logOptions = null, FakeTimeProvider? clock = null, IReadOnlyList<string>? trustedProxies = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "tandem-test-" + Guid.NewGuid().ToString("N"));
        var server = new TandemServer(directory, ownsDirectory: true,
            clock ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero)), logOptions ?? new IngestLogOptions(), trustedProxies);
        await server.StartAppAsync();
        return server;
    }

    /// <summary>Stops the server and starts a new one on the same data folder: what a restart does.</summary>
    /// <param name="whileStopped">Runs between stop and start, e.g. to remove a file as a crash would have left it.</param>
    public async Task RestartAsync(Action? whileStopped = null)
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        whileStopped?.Invoke();
        _app = BuildApp();
        await StartAppAsync();
    }

    private WebApplication BuildApp() => TandemHost.Build(
        new TandemOptions
        {
            DataDirectory = _dataDirectory,
            Urls = "http://127.0.0.1:0",
            AdminToken = AdminToken,
            IngestLog = _logOptions,
            TrustedProxies = _trustedProxies,
            Announce = _announced,
        },
        Clock,
        // Warnings every test server gives alike (unsigned audit log, unencrypted data-protection keys) would
        // bury the failures in the test output; a test that checks such a warning builds its own host.
        logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Tandem.Trust.AuditLog", LogLevel.Error)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error));

    private async Task StartAppAsync()
    {
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        var sources = await AdminGetAsync("/api/v1/sources");
        DefaultSourceId = sources.EnumerateArray().First(s => s.GetProperty("name").GetString() == Workspace.DefaultSourceName).GetProperty("id").GetString()!;
        // The write key is shown once, on the first start's lines, as an operator reads it; a restart keeps it.
        const string Said = "write key: ";
        var line = _announced.ToString().Split('\n').LastOrDefault(l => l.Contains(Said, StringComparison.Ordinal));
        if (line is not null)
        {
            WriteKey = line[(line.IndexOf(Said, StringComparison.Ordinal) + Said.Length)..].Trim();
        }
    }

    private readonly StringWriter _announced = new();

    public Uri Url(string path) => new(BaseAddress, path);

    /// <summary>Waits until the profile processor has applied every event the log holds now.</summary>
    public Task CaughtUpAsync() =>
        Services.GetRequiredService<Tandem.Unify.ProfileProcessor>().WhenProcessedAsync(Services.GetRequiredService<IngestLog>().Head)
            .WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>POSTs a body to a collector route with the write key as the Basic user name.</summary>
    public Task<HttpResponseMessage> CollectAsync(string route, string json, string? writeKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Url(route)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = Basic(writeKey ?? WriteKey);
        return Http.SendAsync(request);
    }

    public static AuthenticationHeaderValue Basic(string writeKey) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));

    public HttpRequestMessage Admin(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, Url(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    public async Task<JsonElement> AdminGetAsync(string path)
    {
        using var response = await Http.SendAsync(Admin(HttpMethod.Get, path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The stored events of a source, newest first, exactly as the events feed returns them.</summary>
    public async Task<List<JsonElement>> StoredEventsAsync(string? sourceId = null, int limit = 1000)
    {
        var feed = await AdminGetAsync($"/api/v1/sources/{sourceId ?? DefaultSourceId}/events?limit={limit}");
        return feed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event")).ToList();
    }

    /// <summary>The newest 1,000 refusals of a source, newest first.</summary>
    public async Task<List<JsonElement>> RejectionsAsync(string? sourceId = null) =>
        (await AdminGetAsync($"/api/v1/sources/{sourceId ?? DefaultSourceId}/rejections?limit=1000")).GetProperty("rejections").EnumerateArray().ToList();

    public async Task<JsonElement> CreateSourceAsync(string name)
    {
        using var response = await Http.SendAsync(Admin(HttpMethod.Post, "/api/v1/sources", new { name }));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Creates an API token through the API with the admin token; returns its id and secret.</summary>
    public async Task<(string Id, string Secret)> CreateTokenAsync(string[] scopes, string? ownerId = null, DateTimeOffset? expiresAt = null, string name = "test token")
    {
        using var response = await Http.SendAsync(Admin(HttpMethod.Post, "/api/v1/tokens", new { name, scopes, ownerId, expiresAt }));
        var created = await HttpAssert.JsonAsync(response, System.Net.HttpStatusCode.Created);
        return (created.GetProperty("id").GetString()!, created.GetProperty("token").GetString()!);
    }

    /// <summary>Adds a member through the API with the admin token; returns the member's id.</summary>
    public async Task<string> CreateMemberAsync(string email, string[] roles, string password = "correct horse battery")
    {
        using var response = await Http.SendAsync(Admin(HttpMethod.Post, "/api/v1/members", new { email, name = email.Split('@')[0], roles, password }));
        var created = await HttpAssert.JsonAsync(response, System.Net.HttpStatusCode.Created);
        return created.GetProperty("member").GetProperty("id").GetString()!;
    }

    /// <summary>A member with one role and a token that holds all the role allows; returns the Authorization value and the audit actor.</summary>
    public async Task<(string Authorization, string Actor)> MemberTokenAsync(string email, string role)
    {
        var member = await CreateMemberAsync(email, [role]);
        var (id, secret) = await CreateTokenAsync(["*"], ownerId: member);
        return ("Bearer " + secret, "token:" + id);
    }

    /// <summary>GETs a path with the given Authorization value and asserts 200.</summary>
    public async Task<JsonElement> GetAsAsync(string authorization, string path)
    {
        using var response = await Http.SendAsync(As(authorization, HttpMethod.Get, path));
        return await HttpAssert.JsonAsync(response, System.Net.HttpStatusCode.OK);
    }

    /// <summary>A request with an arbitrary Authorization header value (or none).</summary>
    public HttpRequestMessage As(string? authorization, HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, Url(path));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDirectory)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless; a failed test is not worth hiding behind it.
            }
        }
    }
}

/// <summary>Reads problem details and JSON bodies in assertions.</summary>
public static class HttpAssert
{
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 7807 problem with the given status and reason, a title that sums it up and a detail that explains it.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, System.Net.HttpStatusCode expected, string reason)
    {
        var problem = await JsonAsync(response, expected);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
