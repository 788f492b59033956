using Tandem.Hosting;

namespace Tandem.Tests.Hosting;

/// <summary>Starting on an existing workspace with TANDEM_ADMIN_TOKEN set: said at once when the variable is not the admin token.</summary>
public sealed class WorkspaceTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "tandem-workspace-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Start_EnvironmentTokenDiffersFromTheWorkspaces_SaysItIsIgnoredAndHowToReset()
    {
        await StartAndStopAsync(adminToken: null);

        var said = await StartAndStopAsync(adminToken: "another-token-Q7wZ2kLp9vX4mR8tB3nH6cJ1");

        var line = Assert.Single(said.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("TANDEM_ADMIN_TOKEN is ignored", line, StringComparison.Ordinal);
        Assert.Contains($"./tandem tokens reset-admin --data {Path.GetFullPath(_data)}", line, StringComparison.Ordinal);
        Assert.DoesNotContain("another-token-Q7wZ2kLp9vX4mR8tB3nH6cJ1", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("the-first-token-F5gT8yU2iO4pL7kJ3hG9dS")]
    [InlineData(null)]
    public async Task Start_EnvironmentTokenIsTheAdminTokenOrUnset_SaysNothing(string? adminToken)
    {
        await StartAndStopAsync(adminToken: "the-first-token-F5gT8yU2iO4pL7kJ3hG9dS");

        Assert.Equal("", await StartAndStopAsync(adminToken));
    }

    private async Task<string> StartAndStopAsync(string? adminToken)
    {
        var announce = new StringWriter();
        await using var app = TandemHost.Build(new TandemOptions { DataDirectory = _data, Urls = "http://127.0.0.1:0", AdminToken = adminToken, Announce = announce },
            logging: logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        await app.StopAsync();
        return announce.ToString();
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
        return ValueTask.CompletedTask;
    }
}
