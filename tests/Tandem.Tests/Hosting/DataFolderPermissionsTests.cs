using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>Who else on the machine can read the data folder: no one but the account that runs Tandem.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFolderPermissionsTests
{
    private const UnixFileMode GroupAndOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [Fact]
    public async Task Serve_FreshFolder_FolderAndEveryFileAreTheOwnersOnly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        await using var server = await TandemServer.StartAsync();
        (await server.CollectAsync("/v1/identify", """{"userId":"u-1","traits":{"email":"ada@example.com"}}""")).Dispose();
        await server.CaughtUpAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(server.DataDirectory));
        var files = Directory.GetFiles(server.DataDirectory, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("log.db", StringComparison.Ordinal));
        Assert.All(files, f => Assert.True((File.GetUnixFileMode(f) & GroupAndOthers) == 0, $"{Path.GetFileName(f)} is {File.GetUnixFileMode(f)}"));
    }

    [Fact]
    public async Task Serve_FilesLeftReadableByAnOlderVersion_AreMadePrivateAtStart()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        await using var server = await TandemServer.StartAsync();
        var readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var db = Path.Combine(server.DataDirectory, "tandem.db");

        await server.RestartAsync(() =>
        {
            File.SetUnixFileMode(server.DataDirectory, readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(db, readable);
        });

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(db));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(server.DataDirectory));
    }
}
