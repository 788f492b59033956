using System.Runtime.InteropServices;

namespace Tandem.Storage;

/// <summary>
/// The data folder holds every customer's events and profiles, the audit log and the token digests: only
/// the account that runs Tandem may read it. On Linux and macOS the folder is made 0700 and its files
/// 0600 (those an older version left 0644 included), and the process umask becomes 077, so files that
/// SQLite or Tandem create later (WAL files, snapshots, exports) start private. Windows keeps the
/// folder's inherited ACL.
/// </summary>
internal static partial class DataFolderPermissions
{
    public const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OthersAndGroup = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Makes the folder private, from now on and for what it already holds.</summary>
    public static void Restrict(string dataDirectory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _ = SetUmask(0b000_111_111); // 077: for the whole process, which only writes into this folder
        var folder = new DirectoryInfo(dataDirectory);
        Narrow(folder);
        // Symbolic links are not followed: what they point to is the operator's to protect.
        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var entry in folder.EnumerateFileSystemInfos("*", walk))
        {
            Narrow(entry);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Narrow(FileSystemInfo entry)
    {
        try
        {
            if ((entry.UnixFileMode & OthersAndGroup) != 0)
            {
                entry.UnixFileMode = entry is DirectoryInfo ? Folder : File;
            }
        }
        catch (UnauthorizedAccessException)
        {
            // Owned by another account (placed there by hand): only its owner can change it, and the folder's 0700 still hides it.
        }
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetUmask(uint mask);
}
