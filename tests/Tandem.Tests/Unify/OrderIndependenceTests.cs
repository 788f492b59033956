using System.Globalization;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>
/// The promise that makes replays trustworthy: when no limit is hit and no alias previousId depends on
/// whether a user id exists yet, every order of the same events ends in the same customers (same
/// identifier sets, traits, counters, accounts and computed values; only Ids and Numbers may differ).
/// Each run also defines the computed traits at a different moment (before, halfway, after: a
/// backfill), which must not matter either.
/// </summary>
public sealed class OrderIndependenceTests
{
    private const string Order = "Order Completed";

    private static readonly IdentityRules WithSalesforce = new([.. IdentityRules.DefaultTypes, new IdentifierType("salesforce_id", 1, 4)]);

    private static readonly IdentityRules NoLimits = new(IdentityRules.DefaultTypes.Select(t => t with { Limit = 1000 }));

    private static readonly ComputedTraitDefinition[] ShopTraits =
    [
        new("orders", Aggregation.Count, MessageType.Track, Order),
        new("spent", Aggregation.Sum, MessageType.Track, Order, "total"),
        new("average", Aggregation.Avg, MessageType.Track, Order, "total"),
        new("smallest", Aggregation.Min, MessageType.Track, Order, "total"),
        new("largest", Aggregation.Max, MessageType.Track, Order, "total"),
        new("first_category", Aggregation.First, MessageType.Track, Order, "category"),
        new("last_category", Aggregation.Last, MessageType.Track, Order, "category"),
        new("top_category", Aggregation.MostFrequent, MessageType.Track, Order, "category"),
        new("categories", Aggregation.UniqueList, MessageType.Track, Order, "category"),
        new("category_count", Aggregation.UniqueCount, MessageType.Track, Order, "category"),
        new("orders_7d", Aggregation.Count, MessageType.Track, Order, Window: TimeSpan.FromDays(7)),
        new("spent_3d", Aggregation.Sum, MessageType.Track, Order, "total", Window: TimeSpan.FromDays(3)),
        new("orders_10m", Aggregation.Count, MessageType.Track, Order, Window: TimeSpan.FromMinutes(10)),
    ];

    private static readonly ComputedTraitDefinition[] FewShopTraits = [.. ShopTraits.Where(d => d.Name is "orders" or "spent" or "categories" or "orders_7d")];

    /// <summary>
    /// Events, the rules and computed traits in force, when to read windows, and the customers the events
    /// describe: their identifier sets and, where given, their traits (in the same order).
    /// </summary>
    private sealed record Scenario(SpecEvents Events, string[] Identities, IdentityRules? Rules = null,
        ComputedTraitDefinition[]? Computed = null, string Now = "2026-11-01T12:00:00.000Z", string[]? Traits = null);

    private static JsonObject Props(decimal total, string category) => new() { ["total"] = total, ["category"] = category };

    private static Scenario Build(string name) => name switch
    {
        "sign_up_across_devices" => new(new SpecEvents()
            .Page("10:00", anonymousId: "a1")
            .Track("10:01", Order, anonymousId: "a1", properties: Props(12, "shoes"))
            .Track("10:02", Order, anonymousId: "a2", properties: Props(3.5m, "hats"))
            .Identify("10:03", userId: "u1", anonymousId: "a1", traits: new() { ["name"] = "Ada", ["plan"] = "free" })
            .Identify("10:04", userId: "u1", anonymousId: "a2", traits: new() { ["plan"] = "pro" })
            .Track("10:05", Order, userId: "u1", properties: Props(30, "hats"))
            .Page("10:06", anonymousId: "a3"),
            ["anonymous_id:a1 anonymous_id:a2 user_id:u1", "anonymous_id:a3"], Computed: FewShopTraits),

        "merges_of_merged_profiles" => new(new SpecEvents()
            .Track("10:00", Order, anonymousId: "a1", properties: Props(1, "x"))
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "e2@x.com" }))
            .Track("10:02", Order, anonymousId: "a3", properties: Props(2, "y"))
            .Track("10:03", "Viewed", anonymousId: "a3", context: Context(new() { ["email"] = "E2@x.com " }))
            .Identify("10:04", userId: "u1", anonymousId: "a1", traits: new() { ["plan"] = "free" })
            .Identify("10:05", userId: "u1", traits: new() { ["email"] = "e2@x.com", ["plan"] = "pro" })
            .Group("10:06", "g1", anonymousId: "a3", traits: new() { ["name"] = "Acme" }),
            ["anonymous_id:a1 anonymous_id:a2 anonymous_id:a3 email:e2@x.com user_id:u1"], Computed: FewShopTraits),

        // msg-a beats msg-b at 10:30 (XxHash64 18386907809024371779 > 2789844334846740822): plan ends "enterprise".
        "out_of_order_traits" => new(new SpecEvents()
            .Identify("10:30", userId: "u1", traits: new() { ["plan"] = "pro", ["name"] = "Ada" }, messageId: "msg-b")
            .Identify("10:00", userId: "u1", traits: new() { ["plan"] = "free", ["company"] = "Acme" })
            .Identify("10:20", anonymousId: "a2", traits: new() { ["plan"] = "team", ["city"] = "London" })
            .Identify("09:00", anonymousId: "a2", traits: new() { ["name"] = "A.", ["city"] = "Paris" })
            .Track("10:10", "Viewed", userId: "u1", anonymousId: "a2", context: Context(new() { ["company"] = "Acme Ltd" }))
            .Identify("10:30", anonymousId: "a2", traits: new() { ["plan"] = "enterprise" }, messageId: "msg-a")
            .Page("11:00", userId: "u1", context: Context(new() { ["city"] = "Berlin" })),
            ["anonymous_id:a2 user_id:u1"], Traits: ["city=\"Berlin\" company=\"Acme Ltd\" name=\"Ada\" plan=\"enterprise\""]),

        // msg-a has the largest hash of msg-a, msg-b and tie-1 (XxHash64 tie-1 = 8676885080098115092): plan ends "a".
        "equal_timestamps" => new(new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["plan"] = "a" }, messageId: "msg-a")
            .Identify("10:00", userId: "u1", traits: new() { ["plan"] = "b" }, messageId: "msg-b")
            .Identify("10:00", anonymousId: "a1", traits: new() { ["plan"] = "c" }, messageId: "tie-1")
            .Track("10:00", Order, anonymousId: "a1", properties: Props(1, "x"), messageId: "tie-2")
            .Track("10:00", Order, userId: "u1", properties: Props(2, "y"))
            .Identify("10:00", userId: "u1", anonymousId: "a1"),
            ["anonymous_id:a1 user_id:u1"], Computed: ShopTraits, Traits: ["plan=\"a\""]),

        "accounts" => new(new SpecEvents()
            .Group("10:00", "g1", anonymousId: "a1", traits: new() { ["name"] = "Acme", ["tier"] = "gold" })
            .Group("10:05", "g1", userId: "u2", traits: new() { ["name"] = "Acme Inc" })
            .Group("09:00", "g2", userId: "u1", traits: new() { ["name"] = "Globex" })
            .Identify("10:01", userId: "u1", anonymousId: "a1")
            .Group("10:02", "g2", anonymousId: "a1", traits: new() { ["employees"] = 50 })
            .Track("10:03", "Viewed", userId: "u2", context: Context(new() { ["email"] = "bob@x.com" }))
            .Identify("10:04", userId: "u1", traits: new() { ["email"] = "ada@x.com" }),
            ["anonymous_id:a1 email:ada@x.com user_id:u1", "email:bob@x.com user_id:u2"]),

        "computed_traits_with_alias" => new(new SpecEvents()
            .Track("2026-11-01T10:00:00.000Z", Order, anonymousId: "a1", properties: Props(10, "shoes"))
            .Track("2026-11-03T10:00:00.000Z", Order, anonymousId: "a2", properties: Props(25.5m, "hats"))
            .Track("2026-11-08T10:00:00.000Z", Order, userId: "u1", properties: Props(4.5m, "shoes"))
            .Identify("2026-11-02T10:00:00.000Z", userId: "u1", anonymousId: "a1")
            .Alias("2026-11-04T10:00:00.000Z", userId: "u1", previousId: "a2")
            .Track("2026-11-09T10:00:00.000Z", Order, anonymousId: "a3", properties: Props(8, "bags"))
            .Track("2026-11-09T10:00:00.000Z", "Order Refunded", userId: "u1", properties: Props(10, "shoes")),
            ["anonymous_id:a1 anonymous_id:a2 user_id:u1", "anonymous_id:a3"], Computed: ShopTraits, Now: "2026-11-09T12:00:00.000Z"),

        "twelve_events" => new(new SpecEvents()
            .Page("10:00", anonymousId: "a1")
            .Track("10:01", Order, anonymousId: "a1", properties: Props(10, "shoes"))
            .Track("10:02", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "ada@x.com" }))
            .Identify("10:03", userId: "u1", anonymousId: "a1", traits: new() { ["plan"] = "free", ["name"] = "Ada" })
            .Group("10:04", "acme", anonymousId: "a2", traits: new() { ["name"] = "Acme" })
            .Identify("10:05", userId: "u1", traits: new() { ["email"] = "Ada@X.com", ["plan"] = "pro" })
            .Track("10:06", Order, anonymousId: "a3", properties: Props(5, "hats"))
            .Alias("10:07", userId: "u2", previousId: "a3")
            .Identify("09:59", userId: "u2", traits: new() { ["plan"] = "team" })
            .Group("10:08", "acme", userId: "u2", traits: new() { ["industry"] = "Retail" })
            .Track("10:09", Order, userId: "u2", properties: Props(7, "hats"), context: Context(null, ("sf-1", "salesforce_id")))
            .Track("10:10", "Viewed", anonymousId: "a4", context: Context(null, ("sf-1", "salesforce_id"))),
            ["anonymous_id:a1 anonymous_id:a2 email:ada@x.com user_id:u1", "anonymous_id:a3 anonymous_id:a4 salesforce_id:sf-1 user_id:u2"],
            WithSalesforce, ShopTraits),

        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [InlineData("sign_up_across_devices")]
    [InlineData("merges_of_merged_profiles")]
    [InlineData("out_of_order_traits")]
    [InlineData("equal_timestamps")]
    [InlineData("accounts")]
    [InlineData("computed_traits_with_alias")]
    public void EveryPermutation_OfASmallScenario_EndsInTheSameState(string name)
    {
        var scenario = Build(name);
        Assert.InRange(scenario.Events.Count, 1, 7);
        var expected = Original(scenario);

        var runs = 0;
        foreach (var order in AllOrders(scenario.Events.Count))
        {
            Check(scenario, order, runs++, expected);
        }

        Assert.Equal(Factorial(scenario.Events.Count), runs);
    }

    /// <summary>
    /// Sums are exact: with a 28-digit decimal, 1e12 + 0.30000000000000004 was rounded when those two
    /// met first, so the result depended on the order of arrival (and of merges).
    /// </summary>
    [Fact]
    public void EveryPermutation_OfLargeAndFineAmounts_GivesTheExactSumAndAverage()
    {
        var scenario = new Scenario(new SpecEvents()
            .Track("10:00", Order, anonymousId: "a1", properties: Props(1000000000000m, "x"))
            .Track("10:01", Order, anonymousId: "a2", properties: Props(0.30000000000000004m, "x"))
            .Track("10:02", Order, userId: "u1", properties: Props(-1000000000000m, "x"))
            .Identify("10:03", userId: "u1", anonymousId: "a1")
            .Identify("10:04", userId: "u1", anonymousId: "a2"),
            ["anonymous_id:a1 anonymous_id:a2 user_id:u1"], Computed: ShopTraits);
        Original(scenario);

        var wrong = new List<string>();
        var run = 0;
        foreach (var order in AllOrders(scenario.Events.Count))
        {
            var replay = new Replay();
            foreach (var definition in ShopTraits)
            {
                replay.Define(definition);
            }

            replay.ApplyAll(order.Select(i => scenario.Events[i]));
            var values = replay.Engine.ComputedValues(replay.Holder("user_id:u1"), Time(scenario.Now)).ToDictionary(v => v.Name, v => v.Json);
            if (values["spent"] != "0.30000000000000004" || values["average"] != "0.1000000000000000133333333333")
            {
                wrong.Add($"{string.Join(",", order.Select(i => scenario.Events[i].MessageId))}: spent {values["spent"]}, average {values["average"]}");
            }

            run++;
        }

        Assert.Equal(120, run);
        Assert.True(wrong.Count == 0, $"{wrong.Count} of 120 orders give another sum:\n{string.Join("\n", wrong.Take(5))}");
    }

    [Fact]
    public void RandomPermutations_OfTwelveEvents_EndInTheSameState()
    {
        var scenario = Build("twelve_events");
        Assert.Equal(12, scenario.Events.Count);
        var expected = Original(scenario);

        var random = new Random(20261101);
        for (var run = 0; run < 300; run++)
        {
            Check(scenario, Shuffled(random, scenario.Events.Count), run, expected);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public void RandomPermutations_OfGeneratedEventsWithNoLimits_EndInTheSameState(int seed)
    {
        var scenario = Generate(seed, 16);
        var expected = Run(scenario, [.. Enumerable.Range(0, scenario.Events.Count)], 0);

        var random = new Random(seed * 7919);
        for (var run = 0; run < 40; run++)
        {
            Check(scenario, Shuffled(random, scenario.Events.Count), run, expected);
        }
    }

    /// <summary>The state after the original order, checked against the scenario's written-out customers.</summary>
    private static string Original(Scenario scenario)
    {
        var replay = new Replay(scenario.Rules);
        replay.ApplyAll(scenario.Events.List);
        Assert.Equal(scenario.Identities, Canonical.Identities(replay.Engine));
        if (scenario.Traits is { } traits)
        {
            Assert.Equal(traits, replay.Engine.Profiles.OrderBy(Canonical.IdentitiesOf, StringComparer.Ordinal).Select(p => Canonical.Traits(p.Traits)));
        }

        return Run(scenario, [.. Enumerable.Range(0, scenario.Events.Count)], 0);
    }

    private static void Check(Scenario scenario, int[] order, int run, string expected)
    {
        var actual = Run(scenario, order, run);
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            var defined = (run % 3) switch { 0 => "before", 1 => "halfway", _ => "after" };
            Assert.Fail($"Order {string.Join(",", order.Select(i => scenario.Events[i].MessageId))} (computed traits defined {defined})"
                + $" ends elsewhere.\nExpected:\n{expected}\nActual:\n{actual}");
        }
    }

    /// <summary>Applies the events in <paramref name="order"/>; the computed traits are defined before, halfway or after, by run.</summary>
    private static string Run(Scenario scenario, int[] order, int run)
    {
        var replay = new Replay(scenario.Rules);
        var defineAt = (run % 3) switch { 0 => 0, 1 => order.Length / 2, _ => order.Length };
        for (var i = 0; i <= order.Length; i++)
        {
            if (i == defineAt)
            {
                foreach (var definition in scenario.Computed ?? [])
                {
                    replay.Define(definition);
                }
            }

            if (i < order.Length)
            {
                var result = replay.Apply(scenario.Events[order[i]]);
                Assert.Equal(0, result.Declined);
            }
        }

        return Canonical.State(replay.Engine, Time(scenario.Now));
    }

    /// <summary>
    /// Random traffic over a small pool: three users, six devices, four emails written with random case
    /// and spaces, two phones, two accounts, times that often collide. Limits are raised so none is hit,
    /// and aliases name only anonymous ids, so the order of arrival must never matter.
    /// </summary>
    private static Scenario Generate(int seed, int count)
    {
        var random = new Random(seed);
        string Pick(params string[] values) => values[random.Next(values.Length)];
        string? Maybe(double p, params string[] values) => random.NextDouble() < p ? Pick(values) : null;
        string EmailVariant() => Pick(" ", "") + Pick("ada", "ADA", "bob", "Bob", "cy", "dee") + "@x.com" + Pick(" ", "");

        var events = new SpecEvents();
        for (var i = 0; i < count; i++)
        {
            var at = "10:" + random.Next(0, 20).ToString("00", CultureInfo.InvariantCulture);
            var messageId = $"r{seed}-{i}";
            var userId = Maybe(0.4, "u1", "u2", "u3");
            var anonymousId = Maybe(0.7, "a1", "a2", "a3", "a4", "a5", "a6");
            var contextTraits = new JsonObject();
            if (random.NextDouble() < 0.25)
            {
                contextTraits["email"] = EmailVariant();
            }

            if (random.NextDouble() < 0.15)
            {
                contextTraits["phone"] = Pick("+1 202 555 0100", "+1 202 555 0199");
            }

            if (random.NextDouble() < 0.3)
            {
                contextTraits["city"] = Pick("London", "Paris", "Rome");
            }

            var context = contextTraits.Count > 0 ? Context(contextTraits) : null;
            switch (random.Next(5))
            {
                case 0:
                    var traits = new JsonObject { ["plan"] = Pick("free", "pro", "team"), ["seats"] = random.Next(1, 6) };
                    if (random.NextDouble() < 0.4)
                    {
                        traits["email"] = EmailVariant();
                    }

                    events.Identify(at, userId, anonymousId, traits, context, source: random.Next(1, 3), messageId: messageId);
                    break;
                case 1:
                    events.Track(at, Order, userId, anonymousId, Props(random.Next(1, 50), Pick("shoes", "hats", "bags")), context,
                        source: random.Next(1, 3), messageId: messageId);
                    break;
                case 2:
                    events.Page(at, userId, anonymousId, context, source: random.Next(1, 3), messageId: messageId);
                    break;
                case 3:
                    events.Group(at, Pick("g1", "g2"), userId, anonymousId, new() { ["size"] = random.Next(1, 100) }, context, messageId: messageId);
                    break;
                default:
                    events.Alias(at, Pick("u1", "u2", "u3"), Pick("a1", "a2", "a3", "a4", "a5", "a6"), anonymousId, messageId: messageId);
                    break;
            }
        }

        return new Scenario(events, [], NoLimits, ShopTraits, "2026-11-01T10:15:00.000Z");
    }

    private static IEnumerable<int[]> AllOrders(int n)
    {
        var order = Enumerable.Range(0, n).ToArray();
        do
        {
            yield return order;
        }
        while (NextPermutation(order));
    }

    /// <summary>Steps to the next permutation in lexicographic order; false after the last.</summary>
    private static bool NextPermutation(int[] a)
    {
        var i = a.Length - 2;
        while (i >= 0 && a[i] >= a[i + 1])
        {
            i--;
        }

        if (i < 0)
        {
            return false;
        }

        var j = a.Length - 1;
        while (a[j] <= a[i])
        {
            j--;
        }

        (a[i], a[j]) = (a[j], a[i]);
        Array.Reverse(a, i + 1, a.Length - i - 1);
        return true;
    }

    private static int[] Shuffled(Random random, int n)
    {
        var order = Enumerable.Range(0, n).ToArray();
        random.Shuffle(order);
        return order;
    }

    private static int Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);
}
