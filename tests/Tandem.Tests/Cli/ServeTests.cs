using System.Net;
using System.Net.Sockets;
using Tandem.Hosting;
using Tandem.Tests.Support;

namespace Tandem.Tests.Cli;

/// <summary>What <c>serve</c> does when it cannot start: one line, exit code 2, and the data folder left alone.</summary>
public sealed class ServeTests
{
    [Fact]
    public async Task Serve_DataFolderHeldByARunningServer_ExitsAtOnceNamingTheProcess()
    {
        await using var server = await TandemServer.StartAsync();

        var (code, _, error) = await Cli.RunAsync("serve", "--data", server.DataDirectory, "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, code);
        var line = Assert.Single(Cli.Lines(error));
        Assert.StartsWith($"error: data folder {Path.GetFullPath(server.DataDirectory)} is in use by process {Environment.ProcessId}", line, StringComparison.Ordinal);
        using var stillServing = await server.CollectAsync("/v1/track", """{"userId":"u-1","event":"Still Served","messageId":"m-1"}""");
        Assert.Equal(HttpStatusCode.OK, stillServing.StatusCode);
        await server.CaughtUpAsync();
        Assert.Single(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Serve_HolderKilledWithSigkill_FolderCanBeOpenedAgain()
    {
        var data = Cli.TempFolder();
        try
        {
            using var holder = await TandemProcess.StartAsync(data);
            var refused = await Cli.RunAsync("serve", "--data", data, "--urls", "http://127.0.0.1:0");
            Assert.Equal(2, refused.Code);
            Assert.Contains($"is in use by process {holder.Process.Id}", refused.Error, StringComparison.Ordinal);

            await holder.KillAsync(); // SIGKILL: no shutdown code runs, only the OS can let go of the lock

            await using var app = TandemHost.Build(new TandemOptions { DataDirectory = data, Urls = "http://127.0.0.1:0", Announce = TextWriter.Null },
                logging: logging => logging.SetMinimumLevel(LogLevel.Warning));
            await app.StartAsync();
            await app.StopAsync();
        }
        finally
        {
            Cli.Delete(data);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task Serve_PortInUse_ExitsWithOneLineBeforeTouchingTheDataFolder(string host)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var data = Cli.TempFolder();

        var (code, output, error) = await Cli.RunAsync("serve", "--data", data, "--urls", $"http://{host}:{port}");

        Assert.Equal(2, code);
        var line = Assert.Single(Cli.Lines(error));
        Assert.StartsWith($"error: address {host}:{port} is in use", line, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(data), "the data folder was created although the server could not listen");
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("ftp://127.0.0.1:2121")]
    [InlineData("http://:5080")]
    public async Task Serve_UrlsNotAnAddress_ExitsWithOneLineBeforeTouchingTheDataFolder(string urls)
    {
        var data = Cli.TempFolder();

        var (code, _, error) = await Cli.RunAsync("serve", "--data", data, "--urls", urls);

        Assert.Equal(2, code);
        var line = Assert.Single(Cli.Lines(error));
        Assert.StartsWith($"error: --urls '{urls}' is not an address", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Serve_UnknownLogLevel_SaysWhichAreAllowedWithoutTheWholeHelp()
    {
        var (code, output, error) = await Cli.RunAsync("serve", "--log-level", "loud");

        Assert.NotEqual(0, code);
        Assert.Contains("'loud'", error, StringComparison.Ordinal);
        Assert.Contains("'warning'", error, StringComparison.Ordinal);
        Assert.Contains("./tandem serve --help", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", output + error, StringComparison.Ordinal);
    }
}
