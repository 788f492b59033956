using System.Collections.Concurrent;
using Tandem.Storage;

namespace Tandem.Collect;

/// <summary>
/// Where each consumer of the event log stands: its live position, kept in memory only (no write per
/// read round), over the checkpoints it saves durably. The log's lag metric reads it.
/// </summary>
internal sealed class ConsumerPositions(ICheckpointStore checkpoints)
{
    private readonly ConcurrentDictionary<string, long> _live = new(StringComparer.Ordinal);

    /// <summary>A consumer's live position, between the checkpoints it saves with <see cref="Save"/>.</summary>
    public void Report(string consumer, long seq) => _live[consumer] = seq;

    /// <summary>The position a consumer resumes from after a restart; also reported as its live position.</summary>
    public void Save(string consumer, long seq)
    {
        Report(consumer, seq);
        checkpoints.Save(consumer, seq);
    }

    /// <summary>Every consumer's position: the live one where it reported one, the saved one otherwise.</summary>
    public IReadOnlyDictionary<string, long> All()
    {
        var result = new Dictionary<string, long>(checkpoints.All(), StringComparer.Ordinal);
        foreach (var (consumer, seq) in _live)
        {
            result[consumer] = seq;
        }

        return result;
    }
}
