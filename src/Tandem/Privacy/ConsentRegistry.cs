using System.Text.Json;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Privacy;

/// <summary>How one declared use of data has gone: customers used, and customers skipped for lack of consent.</summary>
public sealed record ConsentUse(string Use, IReadOnlyList<string> Purposes, long Runs, long Used, long Skipped,
    IReadOnlyDictionary<string, long> SkippedByPurpose, DateTimeOffset LastRunAt);

/// <summary>
/// The workspace's purposes (the <see cref="PurposesDocument"/>) and the tally of every use of data that
/// declared purposes (setting <c>consent.uses</c>): exports today, audiences and destinations when
/// they arrive. A use skips a customer who does not allow one of its purposes; the tally makes those
/// skips visible.
/// </summary>
internal sealed class ConsentRegistry
{
    public const string UsesKey = "consent.uses";

    private readonly IWorkspaceStore _control;
    private readonly SettingsService _settings;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ConsentUse> _uses;

    public ConsentRegistry(IWorkspaceStore control, SettingsService settings, TimeProvider time)
    {
        _control = control;
        _settings = settings;
        _time = time;
        _uses = (control.Setting(UsesKey) is { } uses ? JsonSerializer.Deserialize<ConsentUse[]>(uses, JsonSerializerOptions.Web) : null)?
            .ToDictionary(u => u.Use, StringComparer.Ordinal) ?? new(StringComparer.Ordinal);
    }

    /// <summary>The purposes in force; changed through <see cref="SettingsService"/> with <see cref="PurposesDocument"/>.</summary>
    public PurposeCatalog Catalog => _settings.Current(PurposesDocument.Instance)!;

    public IReadOnlyList<ConsentUse> Uses
    {
        get
        {
            lock (_gate)
            {
                return [.. _uses.Values.OrderBy(u => u.Use, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Adds one run of a use to its tally and saves the tallies.</summary>
    public ConsentUse RecordUse(string use, IReadOnlyList<string> purposes, long used, IReadOnlyDictionary<string, long> skippedByPurpose, long skipped)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var byPurpose = new Dictionary<string, long>(StringComparer.Ordinal);
            if (_uses.TryGetValue(use, out var held))
            {
                foreach (var (purpose, n) in held.SkippedByPurpose)
                {
                    byPurpose[purpose] = n;
                }
            }

            foreach (var (purpose, n) in skippedByPurpose)
            {
                byPurpose[purpose] = byPurpose.GetValueOrDefault(purpose) + n;
            }

            var tally = new ConsentUse(use, purposes, (held?.Runs ?? 0) + 1, (held?.Used ?? 0) + used, (held?.Skipped ?? 0) + skipped, byPurpose, now);
            _uses[use] = tally;
            _control.SaveSetting(UsesKey, JsonSerializer.Serialize(_uses.Values.OrderBy(u => u.Use, StringComparer.Ordinal), JsonSerializerOptions.Web), now);
            return tally;
        }
    }
}
