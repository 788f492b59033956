using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Tandem.Hosting;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>What the server writes to its log while it serves requests: by default, not a line per request.</summary>
public sealed class LoggingTests : IAsyncLifetime
{
    private const int Requests = 200;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "tandem-logging-" + Guid.NewGuid().ToString("N"));
    private readonly CapturedLog _log = new();

    [Fact]
    public async Task Serve_DefaultLogging_TwoHundredRequestsWriteAlmostNothing()
    {
        var written = await LogOfRequestsAsync(new TandemOptions { DataDirectory = _data });

        Assert.True(written.Sum(line => line.Length) < 1024, $"{written.Count} lines for {Requests} requests:\n{string.Join('\n', written.Take(8))}");
    }

    [Fact]
    public async Task Serve_LogRequests_OneLinePerRequestWithoutTheToken()
    {
        var written = await LogOfRequestsAsync(new TandemOptions { DataDirectory = _data, LogRequests = true });

        var requests = written.Where(line => line.Contains("/api/v1/sources", StringComparison.Ordinal)).ToList();
        Assert.Equal(Requests, requests.Count);
        Assert.All(requests, line => Assert.Contains("200", line, StringComparison.Ordinal));
        Assert.DoesNotContain(written, line => line.Contains(TandemServer.AdminToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_LogLevelWarning_NoInformationLinesAtAll()
    {
        var written = await LogOfRequestsAsync(new TandemOptions { DataDirectory = _data, LogLevel = LogLevel.Warning }, countFromStart: true);

        Assert.DoesNotContain(written, line => line.StartsWith("Information", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_TraceLevel_NoEmailOrSearchTermInAnyLine(bool logRequests)
    {
        const string Email = "ada.lovelace@example.com";
        const string Term = "lovelace-secret-term";
        var app = TandemHost.Build(new TandemOptions
        {
            DataDirectory = _data,
            Urls = "http://127.0.0.1:0",
            AdminToken = TandemServer.AdminToken,
            Announce = TextWriter.Null,
            LogLevel = LogLevel.Trace,
            LogRequests = logRequests,
        }, logging: logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(_log);
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TandemServer.AdminToken);
        using (var created = await http.PostAsJsonAsync(new Uri("/api/v1/sources", UriKind.Relative), new { name = "logging" }))
        {
            var writeKey = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("writeKey").GetString()!;
            using var identify = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/identify", UriKind.Relative))
            {
                Content = JsonContent.Create(new { userId = Email, traits = new { email = Email } }),
            };
            identify.Headers.Authorization = TandemServer.Basic(writeKey);
            (await http.SendAsync(identify)).Dispose();
        }

        string[] paths =
        [
            $"/v1/profiles/email:{Email}/traits",
            $"/v1/profiles/email:{Uri.EscapeDataString(Email)}/events?limit=5",
            $"/api/v1/profiles?search={Term}",
            $"/api/v1/profiles?search={Uri.EscapeDataString(Email)}&limit=7",
            $"/api/v1/audit?actor={Email}",
            $"/nowhere/{Email}?search={Term}",
        ];
        foreach (var path in paths)
        {
            (await http.GetAsync(new Uri(path, UriKind.Relative))).Dispose();
        }

        using var stranger = new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/profiles/email:{Email}/traits", UriKind.Relative));
        stranger.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token");
        (await http.SendAsync(stranger)).Dispose();

        await app.StopAsync();
        await app.DisposeAsync();
        var lines = _log.Lines.ToList();
        Assert.Contains(lines, line => line.StartsWith("Debug Microsoft.AspNetCore", StringComparison.Ordinal)); // else the test proves nothing
        var leaks = lines.Where(line => line.Contains("lovelace", StringComparison.OrdinalIgnoreCase)
            || line.Contains(Uri.EscapeDataString(Email), StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(leaks.Count == 0, $"{leaks.Count} lines name the customer or the search:\n{string.Join('\n', leaks.Select(l => l[..Math.Min(l.Length, 160)]))}");
        if (logRequests)
        {
            Assert.Contains(lines, line => line.Contains("GET /v1/profiles/{identifier}/traits", StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("GET /api/v1/profiles/", StringComparison.Ordinal));
        }
    }

    /// <summary>The lines logged while <see cref="Requests"/> management calls are served (or since start), after the server stopped.</summary>
    private async Task<List<string>> LogOfRequestsAsync(TandemOptions options, bool countFromStart = false)
    {
        var app = TandemHost.Build(options with { Urls = "http://127.0.0.1:0", AdminToken = TandemServer.AdminToken, Announce = TextWriter.Null },
            logging: logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(_log);
            });
        await app.StartAsync();
        var before = countFromStart ? 0 : _log.Lines.Count;
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TandemServer.AdminToken);
        for (var i = 0; i < Requests; i++)
        {
            using var response = await http.GetAsync(new Uri("/api/v1/sources", UriKind.Relative));
            response.EnsureSuccessStatusCode();
        }

        await app.StopAsync(); // every request's code, logging included, has finished
        var lines = _log.Lines.Skip(before).ToList();
        await app.DisposeAsync();
        return lines.Where(line => !line.Contains("Microsoft.Hosting.Lifetime", StringComparison.Ordinal)).ToList(); // start and stop lines
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Every line the server logs, as "Level Category: message".</summary>
    private sealed class CapturedLog : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
        }
    }
}
