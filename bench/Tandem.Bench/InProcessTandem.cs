using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Hosting;

namespace Tandem.Bench;

/// <summary>The real Tandem server, started in this process on a fresh data folder and a loopback port; removed on dispose.</summary>
internal sealed class InProcessTandem : IAsyncDisposable
{
    private readonly string _data;

    private InProcessTandem(WebApplication app, string data)
    {
        App = app;
        _data = data;
    }

    public WebApplication App { get; }

    public string Url => App.Urls.First();

    /// <summary>A write key of the default source, issued at start (keys are not stored, so none can be read back).</summary>
    public string WriteKey { get; private init; } = "";

    public static async Task<InProcessTandem> StartAsync(string adminToken, LogLevel logLevel = LogLevel.Warning)
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-bench-" + Guid.NewGuid().ToString("N"));
        var app = TandemHost.Build(new TandemOptions
        {
            DataDirectory = data,
            Urls = "http://127.0.0.1:0",
            AdminToken = adminToken,
            Announce = TextWriter.Null,
        }, logging: l => l.SetMinimumLevel(logLevel));
        await app.StartAsync();
        return new InProcessTandem(app, data) { WriteKey = app.Services.GetRequiredService<Tandem.Sources.SourceRegistry>().Issue(Workspace.DefaultSourceName).WriteKey };
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }
}
