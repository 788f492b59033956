using Tandem.Sources;

namespace Tandem.Storage;

/// <summary>The sources' storage port. A write key is never passed here: only its digest and last characters.</summary>
public interface ISourceStore
{
    /// <summary>Every source, in the order of their storage keys.</summary>
    IReadOnlyList<Source> Load();

    /// <summary>Keeps a new, enabled source and answers it with the storage key the store assigned.</summary>
    Source Insert(string id, string name, string writeKeyDigest, string writeKeyEnd, DateTimeOffset at);

    /// <summary>Writes a source's name, write key digest and end, and whether it is enabled.</summary>
    void Update(Source source, DateTimeOffset at);
}
