using System.Text.Json.Nodes;
using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>
/// Forgetting a person (a privacy delete): what stays must be what the log without their events would
/// build, ids included, so that audit and privacy records keep naming the right customer.
/// </summary>
public sealed class ForgetTests
{
    private static readonly DateTimeOffset Now = Time("2026-11-02T00:00:00Z");

    /// <summary>Forgets the holder of <paramref name="identifier"/> and answers the log without its events, as the processor leaves it.</summary>
    private static List<(long Seq, byte[] Payload)> Forget(Replay replay, string identifier)
    {
        var forgotten = replay.Engine.Forget(replay.Holder(identifier));
        var deleted = forgotten.EventSeqs.ToHashSet();
        return [.. replay.Log.Where(e => !deleted.Contains(e.Seq))];
    }

    private static ProfileEngine Rebuild(IEnumerable<(long Seq, byte[] Payload)> log)
    {
        var engine = new ProfileEngine();
        foreach (var (seq, payload) in log)
        {
            engine.Apply(seq, 1, payload);
        }

        return engine;
    }

    private static ProfileEngine ThroughSnapshot(ProfileEngine engine)
    {
        using var buffer = new MemoryStream();
        engine.WriteSnapshot(buffer);
        buffer.Position = 0;
        return ProfileEngine.ReadSnapshot(buffer);
    }

    /// <summary>
    /// The accounts' lines of the canonical state. The engine-wide counters (events applied) are not
    /// compared: a delete does not lower them, while a replay of the log without the events never counts them.
    /// </summary>
    private static string Accounts(ProfileEngine engine) =>
        string.Join('\n', Canonical.State(engine, Now).Split('\n').Where(l => l.StartsWith("account ", StringComparison.Ordinal)));

    private static byte[] SnapshotOf(ProfileEngine engine)
    {
        using var buffer = new MemoryStream();
        engine.WriteSnapshot(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void Forget_ThenFullReplay_KeepsEveryOtherProfilesId_AndNeverHandsTheForgottenIdOut()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Identify("10:00", userId: "p1", traits: new() { ["name"] = "One" })
            .Track("10:01", "Viewed", userId: "p1")
            .Identify("10:02", userId: "p2")
            .Page("10:03", anonymousId: "a3")
            .Identify("10:04", userId: "p3", anonymousId: "a3")
            .List);
        var ids = new[] { "user_id:p2", "user_id:p3" }.ToDictionary(i => i, i => replay.Holder(i).Id);
        var p1 = replay.Holder("user_id:p1").Id;

        var kept = Forget(replay, "user_id:p1");
        var rebuilt = Rebuild(kept);
        var reloaded = ThroughSnapshot(replay.Engine);

        foreach (var engine in new[] { replay.Engine, rebuilt, reloaded })
        {
            foreach (var (identifier, id) in ids)
            {
                var colon = identifier.IndexOf(':', StringComparison.Ordinal);
                Assert.Equal(id, engine.Find(new Identifier(identifier[..colon], identifier[(colon + 1)..]))!.Id);
                Assert.Equal(id, engine.FindById(id)!.Id);
            }

            Assert.Null(engine.FindById(p1));
        }

        // A newcomer after the rebuild does not take the forgotten person's id, nor anyone else's.
        var newcomer = new SpecEvents().Identify("11:00", userId: "p4")[0];
        var seq = kept[^1].Seq + 1;
        var fresh = rebuilt.Apply(seq, 1, newcomer.Payload).Profile!;
        Assert.DoesNotContain(fresh.Id, ids.Values.Append(p1));
        Assert.Equal(SnapshotOf(replay.Engine), SnapshotOf(reloaded));
    }

    [Fact]
    public void Forget_ProfilesAfter_PagesThroughEveryLiveProfileOnce_InIdOrder()
    {
        var replay = new Replay();
        var events = new SpecEvents();
        for (var i = 0; i < 20; i++)
        {
            events.Identify("10:00", userId: "u" + i).Track("10:01", "Viewed", userId: "u" + i);
        }

        replay.ApplyAll(events.List);
        Forget(replay, "user_id:u3");
        var all = replay.Engine.Profiles.Select(p => p.Number).ToList();
        Assert.Equal(19, all.Count);
        Assert.Equal(all.Order(), all);

        var paged = new List<long>();
        var after = 0L;
        while (replay.Engine.ProfilesAfter(after).Take(4).ToList() is { Count: > 0 } page)
        {
            paged.AddRange(page.Select(p => p.Number));
            after = page[^1].Number;
        }

        Assert.Equal(all, paged);
    }

    [Fact]
    public void Forget_RemovesAccountTraitsTheForgottenPersonsGroupCallsSet_AndKeepsOtherMembers()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Group("10:00", "acme", userId: "bo", traits: new() { ["plan"] = "pro", ["phone"] = "+1 555 0100" })
            .Group("10:05", "acme", userId: "ada", traits: new() { ["billing_email"] = "ada@acme.example", ["phone"] = "+44 20 7946 0000" })
            .Group("10:06", "solo", userId: "ada", traits: new() { ["name"] = "Ada's own" })
            .Group("10:07", "acme", traits: new() { ["industry"] = "rockets" }) // no one named: still describes the account
            .List);

        var kept = Forget(replay, "user_id:ada");

        var acme = replay.Engine.FindAccount("acme")!;
        Assert.Equal("industry=\"rockets\" phone=\"+1 555 0100\" plan=\"pro\"", Canonical.Traits(acme.Traits));
        Assert.Equal(Ms("10:00"), acme.FirstSeenMs);
        Assert.Equal(Ms("10:07"), acme.LastSeenMs);
        Assert.Null(replay.Engine.FindAccount("solo"));

        // Exactly what the log without Ada's events builds, through a snapshot too.
        Assert.Equal(Accounts(Rebuild(kept)), Accounts(replay.Engine));
        Assert.Equal(Accounts(replay.Engine), Accounts(ThroughSnapshot(replay.Engine)));
        Assert.Equal(SnapshotOf(replay.Engine), SnapshotOf(ThroughSnapshot(replay.Engine)));
    }

    [Fact]
    public void Forget_AfterMerges_RemovesWhatEveryMergedProfileGaveTheAccount()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Group("10:00", "acme", anonymousId: "ada-phone", traits: new() { ["phone"] = "+44 20 7946 0000" })
            .Group("10:01", "acme", userId: "bo", traits: new() { ["plan"] = "pro" })
            .Group("10:02", "acme", userId: "ada", traits: new() { ["billing_email"] = "ada@acme.example" })
            .Identify("10:03", userId: "ada", anonymousId: "ada-phone")
            .Group("10:04", "acme", userId: "bo", traits: new() { ["phone"] = "+1 555 0100" })
            .Group("10:05", "acme", userId: "ada", traits: new() { ["phone"] = "+44 20 7946 9999" })
            .List);

        var kept = Forget(replay, "user_id:ada");

        Assert.Equal("phone=\"+1 555 0100\" plan=\"pro\"", Canonical.Traits(replay.Engine.FindAccount("acme")!.Traits));
        Assert.Equal(Accounts(Rebuild(kept)), Accounts(replay.Engine));
    }

    [Fact]
    public void Forget_AfterASnapshotLoad_StillRemovesTheForgottenPersonsAccountTraits()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Group("10:00", "acme", userId: "bo", traits: new() { ["plan"] = "pro" })
            .Group("10:05", "acme", userId: "ada", traits: new() { ["billing_email"] = "ada@acme.example", ["plan"] = "enterprise" })
            .List);

        var reloaded = ThroughSnapshot(replay.Engine);
        reloaded.Forget(reloaded.Find(new Identifier("user_id", "ada"))!);

        Assert.Equal("plan=\"pro\"", Canonical.Traits(reloaded.FindAccount("acme")!.Traits));
        Assert.Equal(1, reloaded.FindAccount("acme")!.MemberCount);
    }

    /// <summary>Account traits keep their own last-write-wins rule after a forget: an older value never beats a newer one.</summary>
    [Fact]
    public void Forget_KeepsLastWriteWinsAmongTheRemainingMembers()
    {
        var replay = new Replay();
        replay.ApplyAll(new SpecEvents()
            .Group("10:00", "acme", userId: "bo", traits: new() { ["plan"] = "free" })
            .Group("10:10", "acme", userId: "cy", traits: new() { ["plan"] = "pro" })
            .Group("10:20", "acme", userId: "ada", traits: new() { ["plan"] = "enterprise", ["seats"] = new JsonArray(1, 2) })
            .Group("10:05", "acme", userId: "bo", traits: new() { ["plan"] = "team" }) // late, but older than cy's
            .List);

        var kept = Forget(replay, "user_id:ada");

        Assert.Equal("plan=\"pro\"", Canonical.Traits(replay.Engine.FindAccount("acme")!.Traits));
        Assert.Equal(Accounts(Rebuild(kept)), Accounts(replay.Engine));
    }
}
