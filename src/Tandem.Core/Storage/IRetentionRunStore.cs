using Tandem.Privacy;

namespace Tandem.Storage;

/// <summary>The retention runs' storage port: one report per run, kept once the run ends.</summary>
public interface IRetentionRunStore
{
    /// <summary>Keeps a run under the next id and answers it with that id.</summary>
    RetentionRun Add(RetentionRun run);

    /// <summary>The newest runs, newest first.</summary>
    IReadOnlyList<RetentionRun> Recent(int limit);

    /// <summary>The newest run; null before the first.</summary>
    RetentionRun? Latest() => Recent(1) is [var run] ? run : null;
}
