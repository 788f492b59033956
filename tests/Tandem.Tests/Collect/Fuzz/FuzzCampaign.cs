using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsCheck;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>One way a promise broke: the smallest case that shows it, after shrinking, and how to replay it.</summary>
public sealed record Finding(Invariant Invariant, string Kind, string Detail, CollectCase Case, string Seed, int Status, string Answer, int Occurrences, int ShrinkSteps);

public sealed record FuzzReport(string Seed, int Cases, TimeSpan Elapsed, IReadOnlyDictionary<int, int> Statuses, IReadOnlyDictionary<string, int> Reasons, IReadOnlyList<Finding> Findings)
{
    public IEnumerable<Finding> Of(Invariant invariant) => Findings.Where(f => f.Invariant == invariant);

    public string Summary => $"{Cases} cases in {Elapsed.TotalSeconds:F0} s (seed {Seed}); answers: "
        + string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} ×{s.Value}"))
        + "; reasons: " + string.Join(", ", Reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} ×{r.Value}"));

    public string Describe(IEnumerable<Finding> findings)
    {
        var text = new StringBuilder(Summary).AppendLine();
        foreach (var f in findings)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"── {f.Invariant}: {f.Kind} (in {f.Occurrences} of {Cases} cases; shrunk in {f.ShrinkSteps} steps from the case that --case {f.Seed} replays)");
            text.AppendLine(f.Case.Describe());
            text.AppendLine(CultureInfo.InvariantCulture, $"   answer: {Short(f.Answer)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"   broken: {Short(f.Detail)}");
        }

        return text.ToString();
    }

    private static string Short(string text) => text.Length > 1500 ? text[..1500] + "…" : text;
}

/// <summary>
/// Runs generated cases through a <see cref="CollectorProbe"/>, in a sequence fixed by the seed, and
/// keeps, for each distinct way a promise broke, the smallest case that shows it (CsCheck's sizes),
/// then shrinks that case further by taking out events and fields while it still fails the same way.
/// </summary>
public static class FuzzCampaign
{
    private const uint Stream = 14;

    public static CollectCase Replay(string seed) => CollectCases.Any.Generate(PCG.Parse(seed), null!, out _);

    public static async Task<FuzzReport> RunAsync(CollectorProbe probe, ulong seed, int maxCases, TimeSpan maxTime, int shrinkRuns = 40, Action<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var master = new PCG(Stream, seed);
        var statuses = new SortedDictionary<int, int>();
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        var smallest = new Dictionary<(Invariant, string), (Violation Violation, CollectCase Case, Size Size, string Seed, CaseOutcome Outcome, int Count)>();
        var cases = 0;
        while (cases < maxCases && clock.Elapsed < maxTime)
        {
            var pcg = new PCG(Stream, master.Next64());
            var caseSeed = pcg.ToString();
            var c = CollectCases.Any.Generate(pcg, null!, out var size);
            var outcome = await probe.RunAsync(c);
            cases++;
            statuses[outcome.Status] = statuses.GetValueOrDefault(outcome.Status) + 1;
            if (outcome.Reason is { } reason)
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }

            foreach (var v in outcome.Violations.DistinctBy(v => (v.Invariant, v.Kind)))
            {
                var key = (v.Invariant, v.Kind);
                if (!smallest.TryGetValue(key, out var best))
                {
                    smallest[key] = (v, c, size, caseSeed, outcome, 1);
                    progress?.Invoke($"case {cases}: {v.Invariant}: {v.Kind}");
                }
                else
                {
                    smallest[key] = Size.IsLessThan(size, best.Size)
                        ? (v, c, size, caseSeed, outcome, best.Count + 1)
                        : (best.Violation, best.Case, best.Size, best.Seed, best.Outcome, best.Count + 1);
                }
            }

            if (cases % 100 == 0)
            {
                progress?.Invoke($"{cases} cases, {smallest.Count} distinct failures");
            }
        }

        var findings = new List<Finding>();
        foreach (var ((invariant, kind), best) in smallest.OrderBy(s => s.Key.Item1).ThenBy(s => s.Key.Item2, StringComparer.Ordinal))
        {
            var (shrunk, outcome, violation, steps) = await ShrinkAsync(probe, best.Case, best.Outcome, best.Violation, shrinkRuns);
            findings.Add(new Finding(invariant, kind, violation.Detail, shrunk, best.Seed, outcome.Status, outcome.Answer, best.Count, steps));
        }

        return new FuzzReport(seed.ToString(CultureInfo.InvariantCulture), cases, clock.Elapsed, statuses, reasons, findings);
    }

    /// <summary>Greedy: take the first simpler case that still breaks the same promise the same way, until none does or the runs are spent.</summary>
    private static async Task<(CollectCase, CaseOutcome, Violation, int)> ShrinkAsync(CollectorProbe probe, CollectCase c, CaseOutcome outcome, Violation violation, int runs)
    {
        var steps = 0;
        var progressed = true;
        while (progressed && runs > 0)
        {
            progressed = false;
            foreach (var candidate in c.Simpler())
            {
                if (runs-- <= 0)
                {
                    break;
                }

                var tried = await probe.RunAsync(candidate);
                if (tried.Violations.FirstOrDefault(v => v.Invariant == violation.Invariant && v.Kind == violation.Kind) is { } same)
                {
                    (c, outcome, violation) = (candidate, tried, same);
                    steps++;
                    progressed = true;
                    break;
                }
            }
        }

        return (c, outcome, violation, steps);
    }
}
