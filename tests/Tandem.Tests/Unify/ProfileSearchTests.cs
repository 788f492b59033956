using System.Text;
using System.Text.Json.Nodes;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// Profile search reads a prefix index; it must answer exactly what reading every profile answers,
/// as profiles are created, change traits, merge and are forgotten.
/// </summary>
public sealed class ProfileSearchTests
{
    /// <summary>The search the management API ran before the index: any identifier or string trait value starting with the term, ignoring case.</summary>
    private static bool StartsWith(Profile profile, string term) =>
        profile.Identifiers.Any(l => l.Identifier.Value.StartsWith(term, StringComparison.OrdinalIgnoreCase))
        || profile.Traits.Entries().Any(e => e.Value.Json.Length >= 2 && e.Value.Json[0] == '"'
            && Encoding.UTF8.GetString(e.Value.Json, 1, e.Value.Json.Length - 2).StartsWith(term, StringComparison.OrdinalIgnoreCase));

    private static string[] Linear(ProfileEngine engine, string term, int max = 100) =>
        [.. engine.FindProfiles(p => StartsWith(p, term), max).Select(p => p.Id)];

    private static string[] Indexed(ProfileEngine engine, string term, int max = 100) =>
        [.. engine.FindProfiles(term, p => StartsWith(p, term), max).Select(p => p.Id)];

    /// <summary>Each term, read from the index and read oldest profile first (what a term that starts many values uses).</summary>
    private static void AssertSame(ProfileEngine engine, params string[] terms)
    {
        foreach (var dense in new long?[] { null, long.MaxValue, -1 })
        {
            engine.DenseTermAbove = dense;
            foreach (var term in terms)
            {
                foreach (var max in new[] { 1, 3, 100 })
                {
                    Assert.Equal(Linear(engine, term, max), Indexed(engine, term, max));
                }
            }
        }

        engine.DenseTermAbove = null;
    }

    [Fact]
    public void FindProfiles_FollowsTraitChangesMergesAndForgets()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Identify("10:00", userId: "ada", traits: new() { ["city"] = "Porto", ["email"] = "ada@example.com" })
            .Page("10:01", anonymousId: "anon-zed")
            .Identify("10:02", userId: "bo", traits: new() { ["city"] = "Paris" })
            .List);
        var engine = replay.Engine;
        Assert.Equal(["prf_00000001"], Indexed(engine, "POR"));
        Assert.True(engine.SearchIndexCount > 0);

        // A trait changes: the old value no longer finds the profile, the new one does.
        replay.ApplyAll(new SpecEvents().Identify("10:03", userId: "ada", traits: new() { ["city"] = "Lisbon" }, messageId: "x1").List);
        Assert.Empty(Indexed(engine, "porto"));
        Assert.Equal(["prf_00000001"], Indexed(engine, "lis"));

        // A merge: the anonymous visitor's id is found under the survivor.
        replay.ApplyAll(new SpecEvents().Identify("10:04", userId: "bo", anonymousId: "anon-zed", messageId: "x2").List);
        var bo = replay.Holder("user_id:bo");
        Assert.Equal([bo.Id], Indexed(engine, "anon-z"));
        AssertSame(engine, "anon", "p", "l", "a", "b");

        // A forget: nothing of the person is found any more.
        engine.Forget(replay.Holder("user_id:ada"));
        Assert.Empty(Indexed(engine, "ada"));
        Assert.Empty(Indexed(engine, "lis"));
        AssertSame(engine, "anon", "p", "l", "a", "b", "");
    }

    [Fact]
    public void FindProfiles_MatchesTheLinearScan_OverManyRandomProfiles_AsTheyChange()
    {
        var random = new Random(15);
        var cities = new[] { "Porto", "porto", "PARIS", "Paris", "Zürich", "zürich", "Łódź", "São Paulo", "İstanbul", "東京", "😀 club" };
        var replay = new Replay();
        var engine = replay.Engine;
        var terms = new[] { "p", "PO", "por", "pa", "z", "ZÜ", "ł", "ŁÓ", "sã", "i", "İ", "東", "😀", "\ud83d", "u1", "U2", "user-", "a-1", "@EX", "x" };

        for (var round = 0; round < 6; round++)
        {
            var events = new SpecEvents();
            for (var i = 0; i < 2000; i++)
            {
                var user = "u" + random.Next(600);
                var anon = "a-" + random.Next(800);
                var traits = new JsonObject { ["city"] = cities[random.Next(cities.Length)] };
                if (random.Next(4) == 0)
                {
                    traits["email"] = $"{user}@Example.com";
                }

                if (random.Next(5) == 0)
                {
                    traits["age"] = random.Next(90);
                }

                var at = $"{10 + round}:{i / 60:00}:{i % 60:00}"; // later events win, so traits keep changing
                _ = random.Next(3) switch
                {
                    0 => events.Identify(at, userId: user, anonymousId: anon, traits: traits, messageId: $"r{round}-{i}"),
                    1 => events.Page(at, anonymousId: anon, messageId: $"r{round}-{i}"),
                    _ => events.Identify(at, userId: user, traits: traits, messageId: $"r{round}-{i}"),
                };
            }

            replay.ApplyAll(events.List);
            AssertSame(engine, terms);

            // Forget a few people between rounds.
            foreach (var profile in engine.Profiles.Where((_, i) => i % 97 == 0).ToList())
            {
                engine.Forget(profile);
            }

            AssertSame(engine, terms);
        }

        // Cities change all the time: stale entries piled up, and were dropped rather than let the index grow without end.
        Assert.True(engine.Search.Compactions > 0, $"{engine.SearchIndexCount} entries, {engine.Profiles.Sum(SearchIndex.EntriesOf)} live, never compacted");
        var live = engine.Profiles.Sum(SearchIndex.EntriesOf);
        Assert.True(engine.SearchIndexCount <= (2 * live) + 8192, $"{engine.SearchIndexCount} entries for {live} live ones");
    }

    [Fact]
    public void FindProfiles_AfterASnapshotLoad_FindsWhatWasThere()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Identify("10:00", userId: "ada", traits: new() { ["city"] = "Porto" })
            .Identify("10:02", userId: "bo", traits: new() { ["city"] = "Paris" })
            .List);
        using var buffer = new MemoryStream();
        replay.Engine.WriteSnapshot(buffer);
        buffer.Position = 0;
        var loaded = ProfileEngine.ReadSnapshot(buffer);

        AssertSame(loaded, "p", "po", "ada", "b");
        Assert.Equal(2, loaded.FindProfiles("p", _ => true, 10).Count);
    }

    /// <summary>The index orders text by upper-casing each character; that must put together every pair .NET's case-insensitive comparison calls equal.</summary>
    [Fact]
    public void Index_CaseFolding_AgreesWithOrdinalIgnoreCase_OnEveryCharacter()
    {
        var replay = new Replay();
        var events = new SpecEvents();
        for (var c = 0x20; c < 0x3000; c++)
        {
            if (!char.IsSurrogate((char)c) && c != '"' && c != '\\')
            {
                events.Identify("10:00", userId: "c" + c, traits: new() { ["letter"] = ((char)c).ToString() });
            }
        }

        replay.ApplyAll(events.List);
        foreach (var c in "aAßſıİkKǅǆΣσςÅå")
        {
            AssertSame(replay.Engine, c.ToString(), char.ToUpperInvariant(c).ToString(), char.ToLowerInvariant(c).ToString());
        }
    }
}
