using System.Diagnostics;
using System.Text;

namespace Tandem.Tests.Support;

/// <summary>Runs a real program (node, the Tandem binary) as a child process and captures what it prints.</summary>
public static class ChildProcess
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        using var process = Start(file, args, workingDirectory);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}: {await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    public static Process Start(string file, IEnumerable<string> args, string workingDirectory, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tandem.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Tandem.slnx not found above " + AppContext.BaseDirectory);
    }
}
