using System.Globalization;
using System.Text.RegularExpressions;

namespace Tandem.Tests.Support;

/// <summary>One system call from an strace log: where it began and where it returned, as line numbers.</summary>
/// <param name="Began">Line of its entry: the complete line, or the one ending in <c>&lt;unfinished ...&gt;</c>.</param>
/// <param name="Returned">Line of its return: the complete line, or its <c>&lt;... resumed&gt;</c> line; -1 if it never returned.</param>
/// <param name="Fd">What <c>-yy</c> printed for its first argument's file descriptor (a path, <c>TCP:[a:p-&gt;b:q]</c>), or empty.</param>
/// <param name="Text">Everything strace printed for it, arguments (and written data) included.</param>
public sealed record Syscall(int Pid, string Name, int Began, int Returned, string Fd, long? Result, string Text);

/// <summary>
/// Reads the log of <c>strace -f -yy -o FILE</c>. Line order is the order in which strace saw the events,
/// and strace lets a thread go on only after it has written out that thread's stop; so when one call
/// returned before another began in the program's own causal order (a thread answers only after the
/// writer thread's fsync returned and woke it), the return's line comes first. No timestamps are needed.
/// </summary>
public static partial class SyscallTrace
{
    public static IReadOnlyList<Syscall> Parse(IReadOnlyList<string> lines)
    {
        var calls = new List<Syscall>();
        var open = new Dictionary<int, (string Name, int Began, string Text)>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = Line().Match(lines[i]);
            if (!line.Success)
            {
                continue;
            }

            var pid = int.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture);
            var rest = line.Groups[2].Value;
            if (Resumed().Match(rest) is { Success: true } resumed)
            {
                if (open.Remove(pid, out var began))
                {
                    calls.Add(Complete(pid, began.Name, began.Began, i, began.Text + rest));
                }

                continue;
            }

            if (Call().Match(rest) is not { Success: true } call)
            {
                continue; // "+++ exited with 0 +++", "--- SIGCHLD ... ---"
            }

            if (rest.EndsWith("<unfinished ...>", StringComparison.Ordinal))
            {
                open[pid] = (call.Groups[1].Value, i, rest);
            }
            else
            {
                calls.Add(Complete(pid, call.Groups[1].Value, i, i, rest));
            }
        }

        // Calls still blocked when the process was killed never returned.
        calls.AddRange(open.Select(o => new Syscall(o.Key, o.Value.Name, o.Value.Began, -1, FdOf(o.Value.Text), null, o.Value.Text)));
        return [.. calls.OrderBy(c => c.Began)];
    }

    /// <summary>The peer's port of a TCP socket as <c>-yy</c> prints it (<c>TCP:[127.0.0.1:5000-&gt;127.0.0.1:41234]</c>), or null.</summary>
    public static int? PeerPort(Syscall call) =>
        TcpPeer().Match(call.Fd) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    private static Syscall Complete(int pid, string name, int began, int returned, string text)
    {
        // The result follows the last ")  = " (padded after "resumed>"): "= 0", "= -1 EIO (…)", "= 0 (DELAYED)".
        var result = Result().Match(text);
        long? value = result.Success ? long.Parse(result.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        return new Syscall(pid, name, began, returned, FdOf(text), value, text);
    }

    private static string FdOf(string text)
    {
        // The descriptor is the first argument: "fsync(23</tmp/x/log.db-wal>)". A socket's name holds a "->",
        // so its end is the "]>" that closes it; a path's end is the first ">".
        var m = FirstFd().Match(text);
        return m.Success ? m.Groups[1].Value : "";
    }

    [GeneratedRegex(@"^(\d+) +(.*)$")]
    private static partial Regex Line();

    [GeneratedRegex(@"^<\.\.\. (\w+) resumed>")]
    private static partial Regex Resumed();

    [GeneratedRegex(@"^(\w+)\(")]
    private static partial Regex Call();

    [GeneratedRegex(@"\) += (-?\d+)", RegexOptions.RightToLeft)]
    private static partial Regex Result();

    [GeneratedRegex(@"^\w+\(\d+<((?:\w+:\[[^\]]*\])|[^>]*)>")]
    private static partial Regex FirstFd();

    [GeneratedRegex(@"^TCP(?:v6)?:\[.*:(\d+)\]$")]
    private static partial Regex TcpPeer();
}
