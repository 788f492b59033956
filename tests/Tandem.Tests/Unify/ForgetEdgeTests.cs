using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// What forgetting a person (a privacy delete) and dropping events (retention) leave in the engine, as
/// docs/privacy.md promises: nothing of the person, everything of everyone else. Found by mutation testing.
/// </summary>
public sealed class ForgetEdgeTests
{
    private static Identifier Id(string type, string value) => new(type, value);

    /// <summary>
    /// 1: u1+a1 (P1). 2: u2+a1, declined (P2 names P1). 3: u3+a3 (P3). 4: u4+a3, declined (P4 names P3).
    /// 5: a5 (P5). 6: u1+a5 (P5 into P1). 7, 8: u1 joins groups g-b and g-a. 9: u3 in g-b.
    /// </summary>
    private static Replay People()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Track("10:00", "Viewed", userId: "u1", anonymousId: "a1")
            .Track("10:01", "Viewed", userId: "u2", anonymousId: "a1")
            .Track("10:02", "Viewed", userId: "u3", anonymousId: "a3")
            .Track("10:03", "Viewed", userId: "u4", anonymousId: "a3")
            .Track("10:04", "Viewed", anonymousId: "a5")
            .Identify("10:05", userId: "u1", anonymousId: "a5")
            .Group("10:06", "g-b", userId: "u1")
            .Group("10:07", "g-a", userId: "u1")
            .Group("10:08", "g-b", userId: "u3")
            .List);
        return replay;
    }

    [Fact]
    public void Forget_RemovesThePersonsIdentifiersIdsAndAccounts_AndTheirTraceInOthersDeclinedLinks()
    {
        var replay = People();
        var engine = replay.Engine;
        var person = replay.Holder("user_id:u1");

        var forgotten = engine.Forget(person);

        Assert.Equal("prf_00000001", forgotten.ProfileId);
        Assert.Equal(["prf_00000005"], forgotten.MergedIds);
        Assert.Equal(["g-a", "g-b"], forgotten.Accounts);
        Assert.Equal([1L, 5, 6, 7, 8], forgotten.EventSeqs);
        Assert.Null(engine.Find(Id("user_id", "u1")));
        Assert.Null(engine.Find(Id("anonymous_id", "a5")));
        Assert.Null(engine.FindById("prf_00000001"));
        Assert.Null(engine.FindById("prf_00000005"));

        // An account only they described goes; one someone else described stays, without them.
        Assert.Null(engine.FindAccount("g-a"));
        var shared = engine.FindAccount("g-b");
        Assert.NotNull(shared);
        Assert.DoesNotContain(person, shared.Members);

        // The declined link that named them goes; everyone else's stay.
        Assert.Empty(replay.Holder("user_id:u2").Declined);
        Assert.Single(replay.Holder("user_id:u3").Declined);
        Assert.Single(replay.Holder("user_id:u4").Declined);
    }

    [Fact]
    public void DropEvents_TakesTheSeqsOutOfEveryTimeline_AndCountsThem()
    {
        var replay = People();
        var engine = replay.Engine;

        Assert.Equal(0, engine.DropEvents(new HashSet<long>()));
        Assert.Equal(3, engine.DropEvents(new HashSet<long> { 1, 3, 9, 42 }));

        Assert.Equal([5L, 6, 7, 8], replay.Holder("user_id:u1").EventSeqs);
        Assert.Empty(replay.Holder("user_id:u3").EventSeqs);
        Assert.Equal([4L], replay.Holder("user_id:u4").EventSeqs);
        Assert.Equal([2L], replay.Holder("user_id:u2").EventSeqs);
    }
}
