using System.Text;
using BenchmarkDotNet.Attributes;
using Tandem.Unify;

namespace Tandem.Bench;

/// <summary>
/// Profile search (<c>GET /api/v1/profiles?search=</c>) over 200,000 synthetic customers: the scan of
/// every profile it used to be, against the prefix index, for a term that finds one customer (the start
/// of an email), one that finds many (a first name's first letters) and one that finds none. The match
/// is the management API's for a caller who sees everything in full.
/// </summary>
[MemoryDiagnoser]
public class ProfileSearchBenchmarks
{
    private const int Results = 20;
    private ProfileEngine _engine = null!;

    [Params("one", "many", "none")]
    public string Finds { get; set; } = "one";

    private string _term = "";

    /// <summary>200,000 customers from 600,000 events: the size the issue measured the Profile API at.</summary>
    internal static ProfileEngine Customers()
    {
        var engine = new ProfileEngine();
        var customers = new SyntheticCustomers(200_000, 600_000, 7);
        var seq = 0L;
        foreach (var session in customers.Sessions())
        {
            foreach (var message in session.Messages)
            {
                engine.Apply(++seq, session.SourceKey, message.Json);
            }
        }

        return engine;
    }

    [GlobalSetup]
    public void Setup()
    {
        _engine = Customers();
        var someone = _engine.Profiles.Skip(_engine.ProfileCount / 2).First(p => p.Identifiers.Any(l => l.Identifier.Type == IdentifierType.Email));
        var email = someone.Identifiers.First(l => l.Identifier.Type == IdentifierType.Email).Identifier.Value;
        _term = Finds switch
        {
            "one" => email[..(email.IndexOf('@', StringComparison.Ordinal) + 1)].ToUpperInvariant(),
            "many" => email[..2],
            _ => "nobody-by-that-name",
        };

        // The first search builds the index; the benchmark measures the searches after it.
        _ = _engine.FindProfiles(_term, p => Matches(p, _term), Results);
        Console.WriteLine($"// {_engine.ProfileCount:N0} profiles, {_engine.SearchIndexCount:N0} index entries, term '{_term}'");
    }

    [Benchmark(Baseline = true, Description = "scan every profile")]
    public int Scan() => _engine.FindProfiles(p => Matches(p, _term), Results).Count;

    [Benchmark(Description = "prefix index")]
    public int Indexed() => _engine.FindProfiles(_term, p => Matches(p, _term), Results).Count;

    /// <summary>The management API's match for a caller who sees every value in full.</summary>
    internal static bool Matches(Profile profile, string term)
    {
        foreach (var linked in profile.Identifiers)
        {
            if (linked.Identifier.Value.StartsWith(term, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var (_, value) in profile.Traits.Entries())
        {
            if (value.Json.Length > term.Length && value.Json[0] == '"'
                && Encoding.UTF8.GetString(value.Json, 1, value.Json.Length - 2).StartsWith(term, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>What building the search index costs, once, at the first search after a start (200,000 customers).</summary>
[MemoryDiagnoser]
public class ProfileSearchIndexBuildBenchmarks
{
    private List<Profile> _profiles = null!;

    [GlobalSetup]
    public void Setup() => _profiles = [.. ProfileSearchBenchmarks.Customers().Profiles];

    [Benchmark(Description = "build the search index")]
    public long Build()
    {
        var index = new SearchIndex(_ => true);
        index.EnsureBuilt(_profiles);
        return index.Count;
    }
}
