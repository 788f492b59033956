namespace Tandem.Storage;

/// <summary>The positions in the event log that consumers (the profile processor) have durably reached.</summary>
public interface ICheckpointStore
{
    /// <summary>The position a consumer saved last; 0 when it never saved one.</summary>
    long Read(string consumer);

    void Save(string consumer, long seq);

    /// <summary>Every consumer's saved position.</summary>
    IReadOnlyDictionary<string, long> All();
}
