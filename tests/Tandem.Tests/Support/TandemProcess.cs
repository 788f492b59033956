using System.Diagnostics;

namespace Tandem.Tests.Support;

/// <summary>
/// The real Tandem binary serving a data folder as a child process, optionally under a tracer such as
/// strace. It listens on a port the kernel picks (<c>:0</c>) and the address is read from the line it
/// prints, so no port is chosen by the test and then raced for.
/// </summary>
public sealed class TandemProcess : IDisposable
{
    private const string ListeningOn = "Tandem is listening on ";

    private readonly bool _traced;

    private TandemProcess(Process process, Uri baseAddress, string writeKey, bool traced)
    {
        Process = process;
        BaseAddress = baseAddress;
        WriteKey = writeKey;
        _traced = traced;
    }

    /// <summary>The started process: Tandem itself, or the tracer that runs it.</summary>
    public Process Process { get; }

    /// <summary>Where it listens, as it announced.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The default source's write key: shown on the first start of a data folder only, empty afterwards.</summary>
    public string WriteKey { get; }

    /// <summary>
    /// Starts <c>Tandem serve</c> on <paramref name="data"/> and returns once it says it listens (no polling,
    /// no sleeping). <paramref name="tracer"/> is a command line that runs the program given after it, e.g.
    /// <c>["strace", "-f", "-o", path]</c>; <c>--</c> and the Tandem command line are appended.
    /// </summary>
    public static async Task<TandemProcess> StartAsync(string data, IReadOnlyList<string>? tracer = null)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "Tandem");
        string[] serve = [binary, "serve", "--data", data, "--urls", "http://127.0.0.1:0"];
        var command = tracer is null ? serve : [.. tracer, "--", .. serve];
        var process = ChildProcess.Start(command[0], command[1..], AppContext.BaseDirectory,
            new Dictionary<string, string> { ["TANDEM_ADMIN_TOKEN"] = TandemServer.AdminToken });
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var writeKey = "";
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Contains("write key: ", StringComparison.Ordinal))
            {
                writeKey = line[(line.IndexOf("write key: ", StringComparison.Ordinal) + 11)..].Trim();
            }

            var at = line.IndexOf(ListeningOn, StringComparison.Ordinal);
            if (at >= 0)
            {
                // "Tandem is listening on http://127.0.0.1:41234 with data in /tmp/…": the first address.
                var urls = line[(at + ListeningOn.Length)..];
                var url = urls[..urls.IndexOf(" with data in ", StringComparison.Ordinal)].Split(", ")[0];
                // Keep draining stdout so the child never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return new TandemProcess(process, new Uri(url), writeKey, tracer is not null);
            }
        }

        await process.WaitForExitAsync(CancellationToken.None);
        throw new InvalidOperationException($"{command[0]} exited with {process.ExitCode} before Tandem listened");
    }

    /// <summary>
    /// SIGKILL to Tandem: no shutdown hooks, no flush. Under a tracer only Tandem is killed, so the tracer
    /// sees it die, writes out what it holds and exits by itself; this returns once it has.
    /// </summary>
    public async Task KillAsync()
    {
        if (_traced)
        {
            // The tracer forked Tandem from its main thread; the kernel lists that thread's children here.
            var children = await File.ReadAllTextAsync($"/proc/{Process.Id}/task/{Process.Id}/children");
            foreach (var pid in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                using var child = Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture));
                child.Kill();
            }
        }
        else
        {
            Process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await Process.WaitForExitAsync(timeout.Token);
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }
}
