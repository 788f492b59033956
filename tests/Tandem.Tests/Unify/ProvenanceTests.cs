using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>Where identifiers, accounts and declined links say they come from, whatever the arrival order.</summary>
public sealed class ProvenanceTests
{
    [Fact]
    public void Identifier_FirstSeen_IsTheEarliestEventTime_EvenWhenTheOlderEventArrivesLater()
    {
        var events = new SpecEvents()
            .Page("10:05", anonymousId: "a1", source: 1)
            .Page("10:00", anonymousId: "a1", source: 2);
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var linked = Assert.Single(replay.Holder("anonymous_id:a1").Identifiers);
        Assert.Equal(Ms("10:00"), linked.FirstSeenMs);
        Assert.Equal(2, linked.SourceKey);
        Assert.Equal(2, linked.Seq);
    }

    [Fact]
    public void GroupCall_WithNoUsableIdentifier_StillDescribesTheAccount()
    {
        var events = new SpecEvents()
            .Group("10:00", "acme", userId: "unknown", traits: new() { ["name"] = "Acme" })
            .Group("10:01", "acme", userId: "u1", traits: new() { ["plan"] = "enterprise" });
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.False(results[0].Attributed);
        var account = replay.Engine.FindAccount("acme");
        Assert.NotNull(account);
        Assert.Equal("\"Acme\"", Json(account.Traits, "name"));
        Assert.Equal("\"enterprise\"", Json(account.Traits, "plan"));
        Assert.Equal(Ms("10:00"), account.FirstSeenMs);
        Assert.Equal([replay.Holder("user_id:u1").Id], account.MemberIds);
    }

    [Fact]
    public void ApplyResult_CountsOnlyMergesOfProfilesThatExisted()
    {
        var events = new SpecEvents()
            .Page("10:00", anonymousId: "a1")
            .Identify("10:01", userId: "u1", anonymousId: "a1")
            .Page("10:02", anonymousId: "a2")
            .Track("10:03", "Signed In", userId: "u1", anonymousId: "a2");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        // The identify only joins a profile it started itself to the visitor's: no merge to record.
        Assert.Equal(0, results[1].Merges);
        Assert.Equal(1, results[3].Merges);
        Assert.Equal(1, replay.Engine.MergeCount);
    }

    [Fact]
    public void DeclinedLink_AgainstANewProfile_NamesThatProfile()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "alice", anonymousId: "tablet")
            .Identify("10:01", userId: "bob", anonymousId: "tablet");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var alice = replay.Holder("user_id:alice");
        var bob = replay.Holder("user_id:bob");
        var onAlice = Assert.Single(alice.Declined);
        var onBob = Assert.Single(bob.Declined);
        Assert.Equal(bob.Id, onAlice.OtherProfileId);
        Assert.Equal(alice.Id, onBob.OtherProfileId);
        Assert.Equal(new Identifier("anonymous_id", "tablet"), onAlice.Identifier);
    }

    [Fact]
    public void Identifier_FirstSeen_CountsTheEventThatMergedIt()
    {
        var events = new SpecEvents()
            .Page("10:00:10", anonymousId: "a1")
            .Identify("10:00:20", userId: "u1")
            .Track("10:00:05", "Signed In", userId: "u1", anonymousId: "a1");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var a1 = replay.Holder("user_id:u1").Identifiers.Single(i => i.Identifier.Type == "anonymous_id");
        Assert.Equal(Ms("10:00:05"), a1.FirstSeenMs);
    }

    [Fact]
    public void DeclinedLink_AgainstANewProfileThatThenMerges_NamesTheProfileItEndedIn()
    {
        // bob's event starts a profile, is refused alice's shared email (two user ids), then joins the
        // phone's anonymous profile: alice's record of the refusal must name that profile.
        var events = new SpecEvents()
            .Identify("10:00", userId: "alice", traits: new() { ["email"] = "family@x.com" })
            .Page("10:01", anonymousId: "phone")
            .Identify("10:02", userId: "bob", anonymousId: "phone", traits: new() { ["email"] = "family@x.com" });
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var alice = replay.Holder("user_id:alice");
        var bob = replay.Holder("user_id:bob");
        Assert.Same(bob, replay.Holder("anonymous_id:phone"));
        var declined = Assert.Single(alice.Declined);
        Assert.Equal(bob.Id, declined.OtherProfileId);
    }

    [Fact]
    public void ComputedTraitDefinitions_WithEqualConditions_AreEqual()
    {
        var a = new ComputedTraitDefinition("n", Aggregation.Count, Tandem.Collect.MessageType.Track, "E", null,
            [new PropertyCondition("plan", ConditionOperator.Equals, "\"pro\"")]);
        var b = a with { Where = new List<PropertyCondition> { new("plan", ConditionOperator.Equals, "\"pro\"") } };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Where = [new PropertyCondition("plan", ConditionOperator.Equals, "\"free\"")] });
    }

    private static string Json(TraitBag bag, string key) =>
        bag.TryGet(key, out var value) ? System.Text.Encoding.UTF8.GetString(value.Json) : "(missing)";
}
