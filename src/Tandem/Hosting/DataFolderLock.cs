using System.Globalization;

namespace Tandem.Hosting;

/// <summary>
/// One process at a time in a data folder: an exclusive OS lock on <c>tandem.lock</c>, held until
/// disposed or until the process ends (a kill -9 included: the OS drops the lock with the process).
/// Two servers on one folder would both append to the ingest log; the second's writes fail and it
/// answers 429 forever, so the second one must not start at all.
/// </summary>
/// <remarks>
/// .NET takes the lock with <c>FileShare.None</c>: <c>flock(LOCK_EX)</c> on Linux and macOS, a
/// sharing-denied open on Windows. Reading a file takes a shared lock on Linux, so no other Tandem
/// process can read the locked file itself; the holder therefore writes its process id to
/// <c>tandem.pid</c> beside it, for the refusal to name it.
/// </remarks>
internal sealed class DataFolderLock : IDisposable
{
    public const string LockFile = "tandem.lock";
    public const string ProcessFile = "tandem.pid";

    private readonly FileStream _lock;

    private DataFolderLock(FileStream held) => _lock = held;

    /// <summary>Locks the folder (created when missing, made readable by its owner only) for this process.</summary>
    /// <remarks><c>tandem.pid</c> stays behind when the process ends; it is only read while someone holds the lock, and the holder wrote it.</remarks>
    /// <exception cref="DataFolderInUseException">Another process holds it.</exception>
    public static DataFolderLock Acquire(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        Storage.DataFolderPermissions.Restrict(dataDirectory);
        var path = Path.Combine(dataDirectory, LockFile);
        FileStream held;
        try
        {
            held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new DataFolderInUseException(Path.GetFullPath(dataDirectory), Holder(dataDirectory));
        }

        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        held.SetLength(0);
        held.Write(System.Text.Encoding.ASCII.GetBytes(pid + "\n"));
        held.Flush();
        File.WriteAllText(Path.Combine(dataDirectory, ProcessFile), pid + "\n");
        return new DataFolderLock(held);
    }

    private static int? Holder(string dataDirectory)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(dataDirectory, ProcessFile)).Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _lock.Dispose();
}

/// <summary>A data folder another process holds; <see cref="Exception.Message"/> is the line to show.</summary>
public sealed class DataFolderInUseException(string dataDirectory, int? processId)
    : Exception($"data folder {dataDirectory} is in use by {(processId is { } pid ? "process " + pid.ToString(CultureInfo.InvariantCulture) : "another process")}")
{
    public string DataDirectory { get; } = dataDirectory;

    public int? ProcessId { get; } = processId;
}
