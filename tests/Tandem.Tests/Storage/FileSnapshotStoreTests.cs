using Tandem.Storage;

namespace Tandem.Tests.Storage;

/// <summary>
/// The profile snapshot file as the processor relies on it: all or nothing (a write that fails leaves the
/// previous snapshot whole), an unreadable one set aside under a name an operator can find, and that copy
/// deleted on request (a privacy deletion).
/// </summary>
public sealed class FileSnapshotStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void NoSnapshotYet_OpensNothing()
    {
        Assert.Null(new FileSnapshotStore(_directory).OpenRead());
    }

    [Fact]
    public void AWrittenSnapshot_ReadsBackWhole_FromItsStart()
    {
        var store = new FileSnapshotStore(_directory);
        store.Write(s => s.Write([1, 2, 3]));
        store.Write(s => s.Write([4, 5]));

        using var read = store.OpenRead()!;
        Assert.Equal([4, 5], Read(read));
        Assert.Equal(["profiles.snapshot"], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void AWriteThatFails_LeavesThePreviousSnapshotInPlace()
    {
        var store = new FileSnapshotStore(_directory);
        store.Write(s => s.Write([1, 2, 3]));

        Assert.Throws<IOException>(() => store.Write(s =>
        {
            s.Write([9, 9]);
            throw new IOException("No space left on device");
        }));

        using var read = store.OpenRead()!;
        Assert.Equal([1, 2, 3], Read(read));
    }

    [Fact]
    public void AnUnreadableSnapshot_IsSetAsideUnderItsOwnName_AndDeletedOnRequest()
    {
        var store = new FileSnapshotStore(_directory);
        store.Write(s => s.Write([7]));

        var aside = store.SetAside();

        Assert.Equal(Path.Combine(_directory, "profiles.snapshot.unreadable"), aside);
        Assert.Equal([7], File.ReadAllBytes(aside));
        Assert.Null(store.OpenRead());

        store.DeleteSetAside();
        Assert.False(File.Exists(aside));
    }

    private static byte[] Read(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
