using Tandem.Privacy;

namespace Tandem.Storage;

/// <summary>
/// The suppression list's storage port. It holds digests, never identifiers: how they are computed and
/// matched is the list's (<c>SuppressionList</c>).
/// </summary>
public interface ISuppressionStore
{
    /// <summary>Keeps a suppression and its identifiers, all or nothing; answers how many identifiers were not suppressed before.</summary>
    int Add(string requestId, DateTimeOffset at, IReadOnlyCollection<SuppressedIdentifier> identifiers);

    /// <summary>The requests whose suppression covers the identifier with this digest.</summary>
    IReadOnlyList<string> RequestsCovering(ReadOnlyMemory<byte> digest);

    /// <summary>Removes these suppressions and their identifiers, all or nothing.</summary>
    void Remove(IReadOnlyCollection<string> requestIds);

    /// <summary>Every suppression, newest first.</summary>
    IReadOnlyList<Suppression> List();

    /// <summary>Adds to the count of events a suppression dropped.</summary>
    void AddDropped(string requestId, long count);

    /// <summary>Every suppressed identifier, with its request.</summary>
    IReadOnlyList<SuppressedEntry> LoadAll();
}
