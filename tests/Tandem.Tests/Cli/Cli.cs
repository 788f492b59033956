using System.Net;
using System.Net.Sockets;
using Tandem.Cli;

namespace Tandem.Tests.Cli;

/// <summary>Runs <c>./tandem</c> in this process with its output captured.</summary>
internal static class Cli
{
    /// <summary>Long enough for any command here; a command that should have exited but serves instead fails the test rather than hanging it.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args.AsEnumerable());

    public static async Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args.ToArray(), output, error).WaitAsync(Patience);
        return (code, output.ToString(), error.ToString());
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static string TempFolder() => Path.Combine(Path.GetTempPath(), "tandem-cli-" + Guid.NewGuid().ToString("N"));

    public static void Delete(string folder)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
