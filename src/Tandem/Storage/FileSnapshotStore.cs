namespace Tandem.Storage;

/// <summary>
/// The profile snapshot as one file of the data folder, <c>profiles.snapshot</c>: written to a temporary
/// file, flushed to disk, then renamed over the old one, so a crash leaves either snapshot whole.
/// </summary>
internal sealed class FileSnapshotStore(string dataDirectory) : ISnapshotStore
{
    private readonly string _path = Path.Combine(dataDirectory, "profiles.snapshot");

    private string Aside => _path + ".unreadable";

    public Stream? OpenRead() => File.Exists(_path) ? File.OpenRead(_path) : null;

    public void Write(Action<Stream> write)
    {
        var temporary = _path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            write(file);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path, overwrite: true);
    }

    public string SetAside()
    {
        File.Move(_path, Aside, overwrite: true);
        return Aside;
    }

    public void DeleteSetAside() => File.Delete(Aside);
}
