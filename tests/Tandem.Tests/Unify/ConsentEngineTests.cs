using System.Text.Json.Nodes;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>Consent in the profile engine: last decision wins by event time, merges keep both sides, snapshots keep it all.</summary>
public sealed class ConsentEngineTests
{
    private static JsonObject Consent(params (string Category, bool Granted)[] preferences)
    {
        var prefs = new JsonObject();
        foreach (var (category, granted) in preferences)
        {
            prefs[category] = granted;
        }

        return new JsonObject { ["consent"] = new JsonObject { ["categoryPreferences"] = prefs } };
    }

    private static ProfileEngine Run(IEnumerable<StoredEvent> events)
    {
        var engine = new ProfileEngine();
        var seq = 0L;
        foreach (var e in events)
        {
            engine.Apply(++seq, e.Source, e.Payload);
        }

        return engine;
    }

    private static Dictionary<string, bool> Current(ProfileEngine engine, string userId) =>
        engine.Find(new Identifier(IdentifierType.UserId, userId))!.Consent!.Current.ToDictionary(kv => kv.Key, kv => kv.Value.Granted);

    [Fact]
    public void TheNewestDecisionByEventTime_Wins_WhateverTheArrivalOrder()
    {
        var events = new SpecEvents()
            .Page("10:00", userId: "u1", context: Consent(("marketing", true), ("analytics", true)))
            .Page("10:05", userId: "u1", context: Consent(("marketing", false)))
            .Page("10:10", userId: "u1", context: Consent(("marketing", true), ("advertising", false)))
            .Page("10:15", userId: "u1", context: Consent(("analytics", false)))
            .List;
        var expected = Current(Run(events), "u1");
        Assert.Equal(new Dictionary<string, bool> { ["marketing"] = true, ["analytics"] = false, ["advertising"] = false }, expected);

        var random = new Random(20261123);
        for (var run = 0; run < 50; run++)
        {
            var shuffled = events.OrderBy(_ => random.Next()).ToList();
            Assert.Equal(expected, Current(Run(shuffled), "u1"));
        }
    }

    [Fact]
    public void History_KeepsChangesOnly_AndNamesRevocations()
    {
        var engine = Run(new SpecEvents()
            .Page("10:00", userId: "u1", context: Consent(("marketing", false)))
            .Page("10:01", userId: "u1", context: Consent(("marketing", false)))
            .Page("10:02", userId: "u1", context: Consent(("marketing", true)))
            .Page("10:03", userId: "u1", context: Consent(("marketing", true)))
            .Page("10:04", userId: "u1", context: Consent(("marketing", false)))
            .List);
        var history = engine.Find(new Identifier(IdentifierType.UserId, "u1"))!.Consent!.History;
        Assert.Equal([ConsentStatus.Denied, ConsentStatus.Granted, ConsentStatus.Revoked], history.Select(h => h.Status));
        Assert.Equal([SpecEvents.Ms("10:00"), SpecEvents.Ms("10:02"), SpecEvents.Ms("10:04")], history.Select(h => h.Decision.AtMs));
    }

    [Fact]
    public void AMerge_KeepsBothSidesDecisions_NewestWinning()
    {
        var engine = Run(new SpecEvents()
            .Page("10:00", anonymousId: "a1", context: Consent(("marketing", true), ("analytics", true)))
            .Page("10:05", userId: "u1", context: Consent(("marketing", false)))
            .Identify("10:10", userId: "u1", anonymousId: "a1")
            .List);
        Assert.Equal(1, engine.ProfileCount);
        var consent = engine.Find(new Identifier(IdentifierType.AnonymousId, "a1"))!.Consent!;
        Assert.False(consent.Current["marketing"].Granted);
        Assert.True(consent.Current["analytics"].Granted);
        Assert.Equal(3, consent.History.Count);
        Assert.Equal(ConsentStatus.Revoked, consent.History[^1].Status);
    }

    [Fact]
    public void ASnapshot_KeepsConsent_ByteForByte()
    {
        var engine = Run(new SpecEvents()
            .Page("10:00", userId: "u1", context: Consent(("marketing", true)))
            .Page("10:05", userId: "u1", context: Consent(("marketing", false), ("C0004", true)))
            .Page("10:06", userId: "u2")
            .List);
        using var first = new MemoryStream();
        engine.WriteSnapshot(first);
        first.Position = 0;
        var loaded = ProfileEngine.ReadSnapshot(first);
        using var second = new MemoryStream();
        loaded.WriteSnapshot(second);
        Assert.Equal(first.ToArray(), second.ToArray());
        Assert.Equal(2, loaded.Find(new Identifier(IdentifierType.UserId, "u1"))!.Consent!.History.Count(h => h.Decision.Category == "marketing"));
        Assert.Null(loaded.Find(new Identifier(IdentifierType.UserId, "u2"))!.Consent);
    }

    [Fact]
    public void JunkPreferences_AreBounded_AndNonBooleansIgnored()
    {
        var many = Enumerable.Range(0, 100).Select(i => ($"c{i}", true)).ToArray();
        var context = Consent(many);
        var prefs = (JsonObject)context["consent"]!["categoryPreferences"]!;
        prefs[new string('x', 101)] = true;
        prefs["text"] = "yes";
        var engine = Run(new SpecEvents().Page("10:00", userId: "u1", context: context).List);
        var current = engine.Find(new Identifier(IdentifierType.UserId, "u1"))!.Consent!.Current;
        Assert.Equal(64, current.Count);
        Assert.DoesNotContain("text", current.Keys);
    }

    [Fact]
    public void APurpose_AnswersToItsCategories_AndOptOutPurposesAllowWithoutADecision()
    {
        var engine = Run(new SpecEvents()
            .Page("10:00", userId: "u1", context: Consent(("C0004", true)))
            .Page("10:05", userId: "u1", context: Consent(("marketing", false)))
            .Page("10:06", userId: "u2")
            .List);
        var marketing = new Purpose("marketing", "", ["C0004"], WithoutDecision.Deny);
        var support = new Purpose("support", "", [], WithoutDecision.Allow);
        var u1 = engine.Find(new Identifier(IdentifierType.UserId, "u1"))!;
        var u2 = engine.Find(new Identifier(IdentifierType.UserId, "u2"))!;
        Assert.Equal(ConsentStatus.Revoked, PurposeCatalog.Standing(u1, marketing).Status);
        Assert.False(PurposeCatalog.Allows(u1, [marketing]));
        Assert.Null(PurposeCatalog.Standing(u2, marketing).Status);
        Assert.False(PurposeCatalog.Allows(u2, [marketing]));
        Assert.True(PurposeCatalog.Allows(u2, [support]));
        Assert.False(PurposeCatalog.Allows(u2, [support, marketing]));
    }
}
