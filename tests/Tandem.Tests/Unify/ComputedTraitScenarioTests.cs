using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>Computed traits as the docs promise them: each aggregation, conditions, windows, backfill and merges.</summary>
public sealed class ComputedTraitScenarioTests
{
    private const string Order = "Order Completed";
    private static readonly DateTimeOffset Noon = Time("12:00");

    private static ComputedTraitDefinition Orders(string name, Aggregation aggregation, string? property = null, TimeSpan? window = null,
        params PropertyCondition[] where) =>
        new(name, aggregation, MessageType.Track, Order, property, where.Length == 0 ? null : where, window);

    [Fact]
    public void Count_WithConditions_CountsOnlyMatchingEventsOfTheNamedEvent()
    {
        var replay = new Replay();
        replay.Define(Orders("pro_orders", Aggregation.Count, where:
            [new("order.tier", ConditionOperator.Equals, "\"pro\""), new("total", ConditionOperator.GreaterOrEqual, "10")]));
        var events = new SpecEvents()
            .Track("10:00", Order, userId: "u1", properties: new() { ["order"] = new JsonObject { ["tier"] = "pro" }, ["total"] = 12 })
            .Track("10:01", Order, userId: "u1", properties: new() { ["order"] = new JsonObject { ["tier"] = "pro" }, ["total"] = 9 })
            .Track("10:02", Order, userId: "u1", properties: new() { ["order"] = new JsonObject { ["tier"] = "basic" }, ["total"] = 50 })
            .Track("10:03", "Order Refunded", userId: "u1", properties: new() { ["order"] = new JsonObject { ["tier"] = "pro" }, ["total"] = 20 })
            .Track("10:04", Order, userId: "u1", properties: new() { ["order"] = new JsonObject { ["tier"] = "pro" }, ["total"] = 10 })
            .Track("10:05", Order, userId: "u1", properties: new() { ["total"] = 30 })
            .Identify("10:06", userId: "u2");
        replay.ApplyAll(events.List);

        Assert.Equal("2", replay.Computed(replay.Holder("user_id:u1"), "pro_orders", Noon));
        Assert.Equal("0", replay.Computed(replay.Holder("user_id:u2"), "pro_orders", Noon));
    }

    [Fact]
    public void SumAvgMinMax_ReadNumbersOnly_CountCountsEveryMatchingEvent()
    {
        var replay = new Replay();
        replay.Define(Orders("spent", Aggregation.Sum, "total"));
        replay.Define(Orders("average", Aggregation.Avg, "total"));
        replay.Define(Orders("smallest", Aggregation.Min, "total"));
        replay.Define(Orders("largest", Aggregation.Max, "total"));
        replay.Define(Orders("orders", Aggregation.Count));
        var events = new SpecEvents();
        foreach (var total in new JsonNode?[] { 10, 25.5m, 4.5m, 8, "n/a" })
        {
            events.Track("10:00", Order, userId: "u1", properties: new() { ["total"] = total?.DeepClone() });
        }

        events.Track("10:10", Order, userId: "u1");
        replay.ApplyAll(events.List);

        var values = replay.Engine.ComputedValues(replay.Holder("user_id:u1"), Noon).ToDictionary(v => v.Name, v => v.Json);
        Assert.Equal(
            new Dictionary<string, string> { ["spent"] = "48", ["average"] = "12", ["smallest"] = "4.5", ["largest"] = "25.5", ["orders"] = "6" },
            values);
    }

    [Fact]
    public void WindowedTraits_SlideWithTheClock_BoundsIncluded()
    {
        var replay = new Replay();
        replay.Define(Orders("orders_7d", Aggregation.Count, window: TimeSpan.FromDays(7)));
        replay.Define(Orders("spent_3d", Aggregation.Sum, "total", TimeSpan.FromDays(3)));
        var events = new SpecEvents()
            .Track("2026-11-01T10:00:00.000Z", Order, userId: "u1", properties: new() { ["total"] = 10 })
            .Track("2026-11-03T10:00:00.000Z", Order, userId: "u1", properties: new() { ["total"] = 20 })
            .Track("2026-11-09T10:00:00.000Z", Order, userId: "u1", properties: new() { ["total"] = 5 });
        replay.ApplyAll(events.List);
        var profile = replay.Holder("user_id:u1");

        string Value(string now, string name) => replay.Computed(profile, name, Time(now));
        Assert.Equal("2", Value("2026-11-05T00:00:00.000Z", "orders_7d"));
        Assert.Equal("2", Value("2026-11-08T10:00:00.000Z", "orders_7d"));
        Assert.Equal("1", Value("2026-11-08T10:00:00.001Z", "orders_7d"));
        Assert.Equal("2", Value("2026-11-09T10:00:00.000Z", "orders_7d"));
        Assert.Equal("0", Value("2026-11-20T00:00:00.000Z", "orders_7d"));
        Assert.Equal("30", Value("2026-11-04T00:00:00.000Z", "spent_3d"));
        Assert.Equal("5", Value("2026-11-09T10:00:00.000Z", "spent_3d"));

        // Defined after the events (a backfill) instead of before: the same state, byte for byte, even
        // though windows were pruned at different moments along the way.
        var later = new Replay();
        later.ApplyAll(events.List);
        later.Define(Orders("orders_7d", Aggregation.Count, window: TimeSpan.FromDays(7)));
        later.Define(Orders("spent_3d", Aggregation.Sum, "total", TimeSpan.FromDays(3)));
        Assert.Equal(Snapshot(replay.Engine), Snapshot(later.Engine));
        Assert.Equal("2", later.Computed(later.Holder("user_id:u1"), "orders_7d", Time("2026-11-09T10:00:00.000Z")));
    }

    private static byte[] Snapshot(ProfileEngine engine)
    {
        using var buffer = new MemoryStream();
        engine.WriteSnapshot(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void FirstAndLast_FollowEventTimestamps_NotArrival()
    {
        var replay = new Replay();
        replay.Define(new("first_plan", Aggregation.First, MessageType.Track, "Plan Changed", "plan"));
        replay.Define(new("last_plan", Aggregation.Last, MessageType.Track, "Plan Changed", "plan"));
        var events = new SpecEvents();
        foreach (var (at, plan) in new[] { ("10:05", "b"), ("10:00", "a"), ("10:10", "c"), ("10:07", "d") })
        {
            events.Track(at, "Plan Changed", userId: "u1", properties: new() { ["plan"] = plan });
        }

        replay.ApplyAll(events.List);

        var profile = replay.Holder("user_id:u1");
        Assert.Equal("\"a\"", replay.Computed(profile, "first_plan", Noon));
        Assert.Equal("\"c\"", replay.Computed(profile, "last_plan", Noon));
    }

    [Fact]
    public void MostFrequent_BreaksTiesByTheOrdinallySmallestJson()
    {
        var replay = new Replay();
        replay.Define(Orders("top_category", Aggregation.MostFrequent, "category"));
        var events = new SpecEvents();
        foreach (var category in new[] { "shoes", "hats", "shoes", "hats", "bags" })
        {
            events.Track("10:00", Order, userId: "u1", properties: new() { ["category"] = category });
        }

        replay.ApplyAll(events.List);
        var profile = replay.Holder("user_id:u1");
        Assert.Equal("\"hats\"", replay.Computed(profile, "top_category", Noon));

        replay.Apply(new SpecEvents().Track("10:01", Order, userId: "u1", properties: new() { ["category"] = "shoes" }, messageId: "extra")[0]);
        Assert.Equal("\"shoes\"", replay.Computed(profile, "top_category", Noon));
    }

    [Fact]
    public void UniqueListAndUniqueCount_KeepDistinctJsonTextsSortedOrdinally()
    {
        var replay = new Replay();
        replay.Define(Orders("skus", Aggregation.UniqueList, "sku"));
        replay.Define(Orders("sku_count", Aggregation.UniqueCount, "sku"));
        var events = new SpecEvents();
        foreach (var sku in new JsonNode[] { "b", "a", "b", 3 })
        {
            events.Track("10:00", Order, userId: "u1", properties: new() { ["sku"] = sku });
        }

        replay.ApplyAll(events.List);

        var profile = replay.Holder("user_id:u1");
        Assert.Equal("[\"a\",\"b\",3]", replay.Computed(profile, "skus", Noon));
        Assert.Equal("3", replay.Computed(profile, "sku_count", Noon));
    }

    [Fact]
    public void Define_AfterEvents_BackfillsFromHistory_ThenFollowsLiveEvents_AndCanBeRedefinedOrRemoved()
    {
        var replay = new Replay();
        var events = new SpecEvents()
            .Track("10:00", Order, anonymousId: "a1", properties: new() { ["total"] = 10 })
            .Track("10:01", Order, userId: "u2", properties: new() { ["total"] = 7 })
            .Identify("10:02", userId: "u1", anonymousId: "a1")
            .Track("10:03", Order, userId: "u1", properties: new() { ["total"] = 5 })
            .Track("10:04", Order, properties: new() { ["total"] = 100 })
            .Track("10:05", Order, userId: "u1", properties: new() { ["total"] = 1 });
        replay.ApplyAll(events.List.Take(5));
        replay.Define(Orders("spent", Aggregation.Sum, "total"));
        var (u1, u2) = (replay.Holder("user_id:u1"), replay.Holder("user_id:u2"));

        Assert.Equal("15", replay.Computed(u1, "spent", Noon));
        Assert.Equal("7", replay.Computed(u2, "spent", Noon));

        replay.Apply(events[5]);
        Assert.Equal("16", replay.Computed(u1, "spent", Noon));

        replay.Define(Orders("spent", Aggregation.Count));
        Assert.Equal("3", replay.Computed(u1, "spent", Noon));
        Assert.Equal("1", replay.Computed(u2, "spent", Noon));

        Assert.True(replay.Engine.RemoveComputedTrait("spent"));
        Assert.Empty(replay.Engine.ComputedValues(u1, Noon));
    }

    [Fact]
    public void Merge_CombinesTheComputedStateOfBothProfiles()
    {
        var replay = new Replay();
        replay.Define(Orders("spent", Aggregation.Sum, "total"));
        replay.Define(Orders("orders_1d", Aggregation.Count, window: TimeSpan.FromDays(1)));
        replay.Define(Orders("first_category", Aggregation.First, "category"));
        replay.Define(Orders("last_category", Aggregation.Last, "category"));
        replay.Define(Orders("top_category", Aggregation.MostFrequent, "category"));
        replay.Define(Orders("categories", Aggregation.UniqueList, "category"));
        var events = new SpecEvents()
            .Track("10:00", Order, anonymousId: "a1", properties: new() { ["total"] = 10, ["category"] = "shoes" })
            .Track("10:01", Order, anonymousId: "a1", properties: new() { ["total"] = 20, ["category"] = "hats" })
            .Track("09:00", Order, anonymousId: "a2", properties: new() { ["total"] = 5, ["category"] = "bags" })
            .Track("10:02", Order, anonymousId: "a2", properties: new() { ["total"] = 1, ["category"] = "hats" })
            .Identify("10:03", userId: "u1", anonymousId: "a1");
        replay.ApplyAll(events.List);
        Assert.Equal("30", replay.Computed(replay.Holder("anonymous_id:a1"), "spent", Noon));
        Assert.Equal("6", replay.Computed(replay.Holder("anonymous_id:a2"), "spent", Noon));

        replay.Apply(new SpecEvents().Identify("10:04", userId: "u1", anonymousId: "a2", messageId: "merge")[0]);

        Assert.Equal(["anonymous_id:a1 anonymous_id:a2 user_id:u1"], Canonical.Identities(replay.Engine));
        var values = replay.Engine.ComputedValues(replay.Holder("user_id:u1"), Noon).ToDictionary(v => v.Name, v => v.Json);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["spent"] = "36",
                ["orders_1d"] = "4",
                ["first_category"] = "\"bags\"",
                ["last_category"] = "\"hats\"",
                ["top_category"] = "\"hats\"",
                ["categories"] = "[\"bags\",\"hats\",\"shoes\"]",
            },
            values);
    }

    [Fact]
    public void Count_OverPageAndIdentifyCalls_IgnoresTheEventName()
    {
        var replay = new Replay();
        replay.Define(new("pages", Aggregation.Count, MessageType.Page));
        replay.Define(new("identifies", Aggregation.Count, MessageType.Identify));
        replay.Define(new("any_track", Aggregation.Count, MessageType.Track, "*"));
        replay.ApplyAll(new SpecEvents()
            .Page("10:00", userId: "u1")
            .Page("10:01", userId: "u1")
            .Identify("10:02", userId: "u1")
            .Track("10:03", "Viewed", userId: "u1")
            .Track("10:04", Order, userId: "u1").List);

        var values = replay.Engine.ComputedValues(replay.Holder("user_id:u1"), Noon).ToDictionary(v => v.Name, v => v.Json);
        Assert.Equal(new Dictionary<string, string> { ["pages"] = "2", ["identifies"] = "1", ["any_track"] = "2" }, values);
    }

    [Theory]
    [InlineData("plan", ConditionOperator.Equals, "\"Pro\"", "1")]
    [InlineData("plan", ConditionOperator.Equals, "\"pro\"", "0")]
    [InlineData("plan", ConditionOperator.NotEquals, "\"Basic\"", "1")]
    [InlineData("plan", ConditionOperator.Contains, "\"PR\"", "1")]
    [InlineData("total", ConditionOperator.GreaterThan, "12", "1")]
    [InlineData("total", ConditionOperator.LessThan, "12.5", "0")]
    [InlineData("total", ConditionOperator.LessOrEqual, "12.5", "1")]
    [InlineData("total", ConditionOperator.Equals, "12.50", "1")]
    [InlineData("coupon", ConditionOperator.Exists, null, "0")]
    [InlineData("coupon", ConditionOperator.NotExists, null, "1")]
    [InlineData("plan", ConditionOperator.Exists, null, "1")]
    [InlineData("missing", ConditionOperator.NotExists, null, "1")]
    [InlineData("missing", ConditionOperator.NotEquals, "\"x\"", "1")]
    [InlineData("missing", ConditionOperator.Equals, "\"x\"", "0")]
    public void Condition_ComparesThePropertyWithTheValue(string property, ConditionOperator op, string? value, string expected)
    {
        var replay = new Replay();
        replay.Define(Orders("matching", Aggregation.Count, where: [new(property, op, value)]));
        replay.ApplyAll(new SpecEvents()
            .Track("10:00", Order, userId: "u1", properties: new() { ["plan"] = "Pro", ["total"] = 12.5m, ["coupon"] = null }).List);

        Assert.Equal(expected, replay.Computed(replay.Holder("user_id:u1"), "matching", Noon));
    }

    [Fact]
    public void Define_UnusableDefinition_IsRefused()
    {
        var engine = new ProfileEngine();
        Assert.Throws<ArgumentException>(() => engine.DefineComputedTrait(new("t", Aggregation.Count, MessageType.Track), []));
        Assert.Throws<ArgumentException>(() => engine.DefineComputedTrait(Orders("t", Aggregation.Sum), []));
        Assert.Throws<ArgumentException>(() => engine.DefineComputedTrait(Orders("t", Aggregation.Count, window: TimeSpan.Zero), []));
        Assert.Empty(engine.ComputedTraits);
    }
}
