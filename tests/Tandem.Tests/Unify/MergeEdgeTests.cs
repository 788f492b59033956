using System.Text.Json.Nodes;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// What a merge carries over, what a declined link says, how consent categories are bounded, and how
/// profiles are paged, written out as exact expectations. Found by mutation testing (docs/testing.md):
/// each of these let a changed engine through every scenario test.
/// </summary>
public sealed class MergeEdgeTests
{
    private static Identifier Id(string type, string value) => new(type, value);

    /// <summary>
    /// 1: a0. 2: u1+a1. 3: a3. 4: u2+a1 (declined: two user ids). 5: u1+a3 (3 into 2). 6: u1+a0 (2 into 1).
    /// </summary>
    private static Replay ChainOfMerges()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a0")
            .Track("10:01", "Viewed", userId: "u1", anonymousId: "a1")
            .Track("10:02", "Viewed", anonymousId: "a3")
            .Track("10:03", "Viewed", userId: "u2", anonymousId: "a1")
            .Identify("10:04", userId: "u1", anonymousId: "a3")
            .Identify("10:05", userId: "u1", anonymousId: "a0")
            .List);
        return replay;
    }

    [Fact]
    public void DeclinedLink_AgainstTheEventsNewProfile_NamesThatProfileOnBothSides()
    {
        var replay = ChainOfMerges();

        const string reason = "merging the event's new identifiers and prf_00000002 would give one profile 2 user_id values; the limit is 1";
        var newcomer = replay.Holder("user_id:u2");
        Assert.Equal("prf_00000004", newcomer.Id);
        Assert.Equal([new DeclinedLink(4, "m4", Id("anonymous_id", "a1"), "prf_00000002", reason)], newcomer.Declined);

        // The older side learnt the new profile's id once the event had made it.
        var holder = replay.Holder("user_id:u1");
        Assert.Contains(new DeclinedLink(4, "m4", Id("anonymous_id", "a1"), "prf_00000004", reason), holder.Declined);
    }

    [Fact]
    public void Merge_TheSurvivorKeepsTheAbsorbedProfilesDeclinedLinks_AndEveryIdItAbsorbedBefore()
    {
        var replay = ChainOfMerges();

        var survivor = replay.Holder("user_id:u1");
        Assert.Equal("prf_00000001", survivor.Id);
        Assert.Equal(["prf_00000002", "prf_00000003"], survivor.MergedIds);
        Assert.Single(survivor.Declined, d => d.Seq == 4 && d.Identifier == Id("anonymous_id", "a1"));
        Assert.Same(survivor, replay.Engine.FindById("prf_00000002"));
        Assert.Same(survivor, replay.Engine.FindById("prf_00000003"));
        Assert.Equal(2, replay.Engine.MergeCount);
    }

    [Fact]
    public void ProfilesAfter_PagesLiveProfilesOldestFirst_SkippingMergedNumbers()
    {
        var engine = ChainOfMerges().Engine;

        Assert.Equal([1L, 4L], engine.ProfilesAfter(0).Select(p => p.Number));
        Assert.Equal([4L], engine.ProfilesAfter(1).Select(p => p.Number));
        Assert.Equal([4L], engine.ProfilesAfter(2).Select(p => p.Number));
        Assert.Empty(engine.ProfilesAfter(4));
        Assert.Empty(engine.ProfilesAfter(5));
    }

    [Fact]
    public void FindProfiles_AnswersTheOldestMatches_UpToTheMax_OldestFirst()
    {
        var replay = new Replay();
        var events = new SpecEvents();
        foreach (var user in new[] { "u5", "u2", "u4", "u1", "u3", "u6" })
        {
            events.Track("10:00", "Viewed", userId: user);
        }

        replay.ApplyAll(events.List);
        var engine = replay.Engine;

        Assert.Equal([1L, 3L], engine.FindProfiles(p => p.Number % 2 == 1, 2).Select(p => p.Number));
        Assert.Equal([1L, 2L, 3L], engine.FindProfiles(_ => true, 3).Select(p => p.Number));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], engine.FindProfiles(_ => true, 10).Select(p => p.Number));
        Assert.Equal([6L], engine.FindProfiles(p => p.Number == 6, 1).Select(p => p.Number));
        Assert.Empty(engine.FindProfiles(_ => false, 3));
    }

    [Fact]
    public void SkipTo_NeverMovesThePositionBackwards()
    {
        var engine = new ProfileEngine();
        Assert.Equal(10, engine.SkipTo(10));
        Assert.Equal(10, engine.SkipTo(3));
        Assert.Equal(10, engine.Position);
    }

    [Fact]
    public void Consent_KeepsCategoriesOfOneTo100Characters_WithABooleanDecision()
    {
        var preferences = new JsonObject
        {
            [""] = true,
            ["a"] = true,
            [new string('x', 100)] = false,
            [new string('y', 101)] = true,
            ["ads"] = "yes",
            ["email"] = 1,
        };
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Page("10:00", userId: "u1", context: new JsonObject { ["consent"] = new JsonObject { ["categoryPreferences"] = preferences } })
            .List);

        var current = replay.Holder("user_id:u1").Consent!.Current;
        Assert.Equal(["a", new string('x', 100)], current.Keys.Order(StringComparer.Ordinal));
        Assert.True(current["a"].Granted);
        Assert.False(current[new string('x', 100)].Granted);
    }

    [Fact]
    public void Consent_ReadsTheFirst64CategoriesOfAnEvent()
    {
        var preferences = new JsonObject();
        for (var i = 0; i < 65; i++)
        {
            preferences[$"c{i:D2}"] = true;
        }

        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Page("10:00", userId: "u1", context: new JsonObject { ["consent"] = new JsonObject { ["categoryPreferences"] = preferences } })
            .List);

        var current = replay.Holder("user_id:u1").Consent!.Current;
        Assert.Equal(64, current.Count);
        Assert.DoesNotContain("c64", current.Keys);
    }
}
