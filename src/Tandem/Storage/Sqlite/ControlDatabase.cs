using Microsoft.Data.Sqlite;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The workspace's control file, <c>tandem.db</c>: its schema is brought up to date once, when the file
/// is opened (<see cref="ControlSchema"/>), and each SQLite adapter that keeps rows in it takes a
/// connection of its own from here. Only adapters in this folder see it.
/// </summary>
internal sealed class ControlDatabase
{
    private readonly string _path;

    private ControlDatabase(string path) => _path = path;

    /// <summary>Creates or migrates <c>tandem.db</c> in <paramref name="dataDirectory"/>.</summary>
    public static ControlDatabase Open(string dataDirectory)
    {
        using (ControlSchema.Open(dataDirectory))
        {
        }

        return new ControlDatabase(Path.Combine(dataDirectory, "tandem.db"));
    }

    /// <summary>A connection of the caller's own (SQLite connections are not shared between threads).</summary>
    public SqliteConnection Connect() => SqliteDatabase.Open(_path);
}
