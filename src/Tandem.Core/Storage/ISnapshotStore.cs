namespace Tandem.Storage;

/// <summary>
/// The profile snapshot's storage port: one snapshot of the profile engine at a time, where a restart
/// resumes instead of replaying the whole log. A snapshot is a shortcut, never the only copy: the log
/// holds every event it was built from.
/// </summary>
public interface ISnapshotStore
{
    /// <summary>The snapshot, to read from its start; null when there is none.</summary>
    Stream? OpenRead();

    /// <summary>
    /// Replaces the snapshot with what <paramref name="write"/> writes, all or nothing: once it returns,
    /// the new snapshot is on disk; when it throws, the previous one is still in place.
    /// </summary>
    void Write(Action<Stream> write);

    /// <summary>Moves an unreadable snapshot out of the way, kept for inspection; answers where it went.</summary>
    string SetAside();

    /// <summary>Deletes a snapshot set aside: after a privacy deletion, since it may still hold the person.</summary>
    void DeleteSetAside();
}
