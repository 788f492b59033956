using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Unify;
using static Tandem.Tests.Unify.SpecEvents;

namespace Tandem.Tests.Unify;

/// <summary>
/// Identity resolution as the docs promise it, one customer story per test: the events, then the
/// profiles they must end in, written out (sorted identifier sets, see <see cref="Canonical"/>).
/// </summary>
public sealed class IdentityScenarioTests
{
    private static readonly IdentityRules WithSalesforce = new([.. IdentityRules.DefaultTypes, new IdentifierType("salesforce_id", 1, 4)]);

    private static IdentityRules WithLimit(string type, int limit) =>
        new(IdentityRules.DefaultTypes.Select(t => t.Name == type ? t with { Limit = limit } : t));

    private static Identifier Id(string type, string value) => new(type, value);

    [Fact]
    public void Apply_AnonymousVisitorSignsUp_IsOneProfileThatKeepsItsFirstId()
    {
        var events = new SpecEvents()
            .Page("10:00", anonymousId: "a1")
            .Track("10:01", "Product Viewed", anonymousId: "a1")
            .Identify("10:05", userId: "u1", anonymousId: "a1", traits: new() { ["name"] = "Ada", ["email"] = "ada@example.com" })
            .Track("10:06", "Order Completed", userId: "u1");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 email:ada@example.com user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u1");
        Assert.All(results, r => Assert.Same(profile, r.Profile));
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Equal(1, profile.Number);
        Assert.Empty(profile.Merges);
        Assert.Empty(profile.MergedIds);
        Assert.Equal(0, replay.Engine.MergeCount);
        Assert.Equal(4, profile.EventCount);
        Assert.Equal("identify=1 track=2 page=1", Canonical.Counts(profile));
        Assert.Equal(Ms("10:00"), profile.FirstSeenMs);
        Assert.Equal(Ms("10:06"), profile.LastSeenMs);
        Assert.Equal("email=\"ada@example.com\" name=\"Ada\"", Canonical.Traits(profile.Traits));
        Assert.Equal([1L, 2, 3, 4], profile.EventSeqs);
    }

    [Fact]
    public void Apply_OneUserOnThreeDevices_MergesEachDeviceIntoTheFirstProfile()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a1")
            .Track("10:01", "Viewed", anonymousId: "a2")
            .Track("10:02", "Viewed", anonymousId: "a3")
            .Identify("10:10", userId: "u1", anonymousId: "a1")
            .Identify("10:20", userId: "u1", anonymousId: "a2")
            .Identify("10:30", userId: "u1", anonymousId: "a3");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 anonymous_id:a2 anonymous_id:a3 user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("anonymous_id:a3");
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Equal(["prf_00000002", "prf_00000003"], profile.MergedIds);
        Assert.Same(profile, replay.Engine.FindById("prf_00000002"));
        Assert.Same(profile, replay.Engine.FindById("prf_00000003"));
        Assert.Equal(
            [("prf_00000002", "anonymous_id:a2", "shared_identifier", 5L), ("prf_00000003", "anonymous_id:a3", "shared_identifier", 6L)],
            profile.Merges.Select(m => (m.AbsorbedId, m.Via.ToString(), m.Rule, m.Seq)));
        Assert.Equal(2, replay.Engine.MergeCount);
        Assert.Equal(1, replay.Engine.ProfileCount);
        Assert.Equal([1L, 2, 3, 4, 5, 6], profile.EventSeqs);
        Assert.Equal("identify=3 track=3", Canonical.Counts(profile));
    }

    [Fact]
    public void Apply_AliasChain_LinksEachAnonymousIdToTheUser()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a1")
            .Alias("10:01", userId: "u1", previousId: "a1")
            .Track("10:02", "Viewed", anonymousId: "a2")
            .Alias("10:03", userId: "u1", previousId: "a2");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 anonymous_id:a2 user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u1");
        Assert.Equal("prf_00000001", profile.Id);
        var merge = Assert.Single(profile.Merges);
        Assert.Equal("alias", merge.Rule);
        Assert.Equal(Id(IdentifierType.AnonymousId, "a2"), merge.Via);
        Assert.Equal("prf_00000003", merge.AbsorbedId); // a profile id is the sequence number of the event that created it
        Assert.Equal(4, merge.Seq);
        Assert.Equal("m4", merge.MessageId);
        Assert.Equal([Id(IdentifierType.UserId, "u1"), Id(IdentifierType.AnonymousId, "a2")], merge.EventIdentifiers);
        Assert.Equal([Id(IdentifierType.AnonymousId, "a2")], merge.AbsorbedIdentifiers);
        Assert.Equal(2, profile.CountOf(MessageType.Alias));
    }

    [Fact]
    public void Apply_AliasOfTwoUserIds_IsDeclinedUnderTheDefaultLimit()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["name"] = "Ada" })
            .Identify("10:01", userId: "u2")
            .Alias("10:02", userId: "u2", previousId: "u1");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["user_id:u1", "user_id:u2"], Canonical.Identities(replay.Engine));
        var (first, second) = (replay.Holder("user_id:u1"), replay.Holder("user_id:u2"));
        Assert.Same(second, results[2].Profile);
        Assert.Equal((0, 1), (results[2].Merges, results[2].Declined));
        Assert.Null(replay.Engine.Find(Id(IdentifierType.AnonymousId, "u1")));
        var declinedInFirst = Assert.Single(first.Declined);
        Assert.Equal((3L, "m3", Id(IdentifierType.UserId, "u1"), "prf_00000002"),
            (declinedInFirst.Seq, declinedInFirst.MessageId, declinedInFirst.Identifier, declinedInFirst.OtherProfileId));
        var declinedInSecond = Assert.Single(second.Declined);
        Assert.Equal((3L, Id(IdentifierType.UserId, "u1"), "prf_00000001"),
            (declinedInSecond.Seq, declinedInSecond.Identifier, declinedInSecond.OtherProfileId));
        Assert.Contains("user_id", declinedInSecond.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_AliasOfTwoUserIds_MergesWhenTheLimitAllowsTwo()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["name"] = "Ada" })
            .Identify("10:01", userId: "u2", traits: new() { ["plan"] = "pro" })
            .Alias("10:02", userId: "u2", previousId: "u1");
        var replay = new Replay(WithLimit(IdentifierType.UserId, 2));
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["user_id:u1 user_id:u2"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u2");
        Assert.Same(profile, results[2].Profile);
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Same(profile, replay.Engine.FindById("prf_00000002"));
        var merge = Assert.Single(profile.Merges);
        Assert.Equal(("alias", "prf_00000001", "prf_00000002", Id(IdentifierType.UserId, "u1")),
            (merge.Rule, merge.SurvivorId, merge.AbsorbedId, merge.Via));
        Assert.Equal([Id(IdentifierType.UserId, "u2"), Id(IdentifierType.UserId, "u1")], merge.EventIdentifiers);
        Assert.Equal([Id(IdentifierType.UserId, "u2")], merge.AbsorbedIdentifiers);
        Assert.Equal("name=\"Ada\" plan=\"pro\"", Canonical.Traits(profile.Traits));
        Assert.Empty(profile.Declined);
    }

    [Fact]
    public void Apply_AliasWithUnknownPreviousId_TakesItAsAnAnonymousId()
    {
        var events = new SpecEvents()
            .Alias("10:00", userId: "u1", previousId: "visitor-9")
            .Track("10:01", "Viewed", anonymousId: "visitor-9");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:visitor-9 user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Same(results[0].Profile, results[1].Profile);
    }

    [Fact]
    public void Apply_SameEmailFromTwoSources_MergesAndRecordsTheMergeAndCountsBySource()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["email"] = "ada@example.com" }, source: 1)
            .Track("10:01", "Viewed", userId: "u1", source: 1)
            .Page("10:02", anonymousId: "a7", source: 3)
            .Identify("10:03", anonymousId: "a7", traits: new() { ["email"] = "ada@example.com", ["plan"] = "pro" }, source: 3);
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a7 email:ada@example.com user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("anonymous_id:a7");
        Assert.Equal("1=2 3=2", Canonical.Sources(profile));
        Assert.Equal("identify=2 track=1 page=1", Canonical.Counts(profile));
        var merge = Assert.Single(profile.Merges);
        Assert.Equal(4, merge.Seq);
        Assert.Equal("m4", merge.MessageId);
        Assert.Equal(Ms("10:03"), merge.EventTimestampMs);
        Assert.Equal(3, merge.SourceKey);
        Assert.Equal("prf_00000001", merge.SurvivorId);
        Assert.Equal("prf_00000003", merge.AbsorbedId); // created by event 3, the page view
        Assert.Equal(Id(IdentifierType.AnonymousId, "a7"), merge.Via);
        Assert.Equal("shared_identifier", merge.Rule);
        Assert.Equal([Id(IdentifierType.Email, "ada@example.com"), Id(IdentifierType.AnonymousId, "a7")], merge.EventIdentifiers);
        Assert.Equal([Id(IdentifierType.AnonymousId, "a7")], merge.AbsorbedIdentifiers);
    }

    [Fact]
    public void Apply_EmailWithCaseAndWhitespace_IsTrimmedAndLowerCased_AndUserIdTrimmed()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: " u1 ", traits: new() { ["email"] = "  Ada.Lovelace@Example.COM " })
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "ada.lovelace@EXAMPLE.com" }));
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a2 email:ada.lovelace@example.com user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Same(results[0].Profile, results[1].Profile);
        Assert.Equal("\"ada.lovelace@EXAMPLE.com\"", Canonical.Trait(results[0].Profile!.Traits, "email"));
    }

    [Fact]
    public void Apply_Phone_IsTrimmedButNotReformatted()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["phone"] = " +44 20 7946 0958 " })
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["phone"] = "+44 20 7946 0958" }))
            .Track("10:02", "Viewed", anonymousId: "a3", context: Context(new() { ["phone"] = "+442079460958" }));
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(
            ["anonymous_id:a2 phone:+44 20 7946 0958 user_id:u1", "anonymous_id:a3 phone:+442079460958"],
            Canonical.Identities(replay.Engine));
    }

    [Fact]
    public void Apply_SharedDevice_SecondUserGetsAProfileOfTheirOwn()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", anonymousId: "a1")
            .Identify("10:05", userId: "u2", anonymousId: "a1")
            .Track("10:06", "Viewed", anonymousId: "a1")
            .Track("10:07", "Viewed", userId: "u2", anonymousId: "a1");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 user_id:u1", "user_id:u2"], Canonical.Identities(replay.Engine));
        var (first, second) = (replay.Holder("user_id:u1"), replay.Holder("user_id:u2"));
        Assert.Same(second, results[1].Profile);
        Assert.Equal((0, 1), (results[1].Merges, results[1].Declined));
        Assert.Same(first, results[2].Profile);
        Assert.Same(second, results[3].Profile);
        Assert.Equal("prf_00000002", second.Id);
        Assert.Equal(2, second.EventCount);
        Assert.Equal(2, first.EventCount);
        Assert.Contains(first.Declined, d => d.Seq == 2 && d.Identifier == Id(IdentifierType.AnonymousId, "a1"));
        Assert.Contains(second.Declined, d => d.Seq == 2 && d.Identifier == Id(IdentifierType.AnonymousId, "a1") && d.OtherProfileId == "prf_00000001");
    }

    [Fact]
    public void Apply_EmailOfAnotherUser_StaysWithThatUser()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["email"] = "shared@example.com" })
            .Identify("10:01", userId: "u2", traits: new() { ["email"] = "shared@example.com" });
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["email:shared@example.com user_id:u1", "user_id:u2"], Canonical.Identities(replay.Engine));
        Assert.Same(replay.Holder("user_id:u2"), results[1].Profile);
        Assert.Equal(1, results[1].Declined);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData("NULL")]
    [InlineData(" Null ")]
    [InlineData("undefined")]
    [InlineData("anonymous")]
    [InlineData("Anonymous")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("nan")]
    [InlineData("NaN")]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("unknown")]
    [InlineData("UNKNOWN")]
    public void Apply_AlwaysBlockedValue_IsNeverAnIdentifierOfAnyType(string value)
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: value, anonymousId: value, traits: new() { ["email"] = value, ["phone"] = value },
                context: Context(null, (value, "salesforce_id")))
            .Identify("10:01", userId: "u1", anonymousId: value, traits: new() { ["email"] = value, ["phone"] = value });
        var replay = new Replay(WithSalesforce);
        var results = replay.ApplyAll(events.List);

        Assert.False(results[0].Attributed);
        Assert.Null(results[0].Profile);
        Assert.Equal(1, replay.Engine.EventsUnattributed);
        Assert.Equal(2, replay.Engine.EventsApplied);
        Assert.Equal(["user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Equal(1, replay.Engine.IdentifierCount);
    }

    [Fact]
    public void Apply_CustomBlockedValues_AreRefusedCaseInsensitivelyForTheirTypeOnly()
    {
        var rules = new IdentityRules(IdentityRules.DefaultTypes.Select(t => t.Name switch
        {
            IdentifierType.UserId => t with { BlockedValues = ["guest", "test-user"] },
            IdentifierType.Email => t with { BlockedValues = ["test@example.com"] },
            IdentifierType.Phone => t with { BlockedValues = ["+10000000000"] },
            _ => t,
        }));
        var events = new SpecEvents()
            .Identify("10:00", userId: "GUEST", anonymousId: "a1", traits: new() { ["email"] = " Test@Example.com", ["phone"] = " +10000000000" })
            .Identify("10:01", userId: "Test-User ", anonymousId: "a2", traits: new() { ["email"] = "ada@example.com" })
            .Track("10:02", "Viewed", anonymousId: "guest");
        var replay = new Replay(rules);
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1", "anonymous_id:a2 email:ada@example.com", "anonymous_id:guest"], Canonical.Identities(replay.Engine));
    }

    [Fact]
    public void Apply_BlockedPatterns_RefuseMatchingValuesOnly()
    {
        var rules = new IdentityRules(IdentityRules.DefaultTypes.Select(t => t.Name switch
        {
            IdentifierType.UserId => t with { BlockedPatterns = ["^tmp-"] },
            IdentifierType.Email => t with { BlockedPatterns = [@"@mailinator\.com$"] },
            IdentifierType.Phone => t with { BlockedPatterns = [@"^\+1555"] },
            IdentifierType.AnonymousId => t with { BlockedPatterns = ["^bot-"] },
            _ => t,
        }));
        var events = new SpecEvents()
            .Identify("10:00", userId: "tmp-77", anonymousId: "a1", traits: new() { ["email"] = "x@Mailinator.com" })
            .Identify("10:01", userId: "u-tmp-1", anonymousId: "a2", traits: new() { ["phone"] = "+15550001", ["email"] = "x@mailinator.com.au" })
            .Track("10:02", "Viewed", anonymousId: "bot-3");
        var replay = new Replay(rules);
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1", "anonymous_id:a2 email:x@mailinator.com.au user_id:u-tmp-1"], Canonical.Identities(replay.Engine));
        Assert.False(results[2].Attributed);
        Assert.Equal(1, replay.Engine.EventsUnattributed);
    }

    [Fact]
    public void Apply_SixthEmail_IsDeclinedAndLeftFreeForAnotherProfile()
    {
        var events = new SpecEvents();
        for (var i = 1; i <= 6; i++)
        {
            events.Identify($"10:0{i}", userId: "u1", traits: new() { ["email"] = $"e{i}@x.com" });
        }

        events.Track("10:30", "Viewed", anonymousId: "a9", context: Context(new() { ["email"] = "e6@x.com" }));
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(
            ["anonymous_id:a9 email:e6@x.com", "email:e1@x.com email:e2@x.com email:e3@x.com email:e4@x.com email:e5@x.com user_id:u1"],
            Canonical.Identities(replay.Engine));
        Assert.Equal((0, 1), (results[5].Merges, results[5].Declined));
        var declined = Assert.Single(replay.Holder("user_id:u1").Declined);
        Assert.Equal((6L, "m6", Id(IdentifierType.Email, "e6@x.com"), (string?)null),
            (declined.Seq, declined.MessageId, declined.Identifier, declined.OtherProfileId));
        Assert.Equal(6, replay.Holder("user_id:u1").EventCount);
    }

    [Fact]
    public void Apply_SixEmailsInOneEvent_LinksFiveAndDeclinesTheSixth()
    {
        var events = new SpecEvents().Identify("10:00", userId: "u1", traits: new() { ["email"] = "e1@x.com" },
            context: Context(null, ("e2@x.com", "email"), ("e3@x.com", "email"), ("e4@x.com", "email"), ("e5@x.com", "email"), ("e6@x.com", "email")));
        var replay = new Replay();
        var result = replay.Apply(events[0]);

        Assert.Equal(["email:e1@x.com email:e2@x.com email:e3@x.com email:e4@x.com email:e5@x.com user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Equal(1, result.Declined);
        Assert.Equal(Id(IdentifierType.Email, "e6@x.com"), Assert.Single(result.Profile!.Declined).Identifier);
    }

    [Fact]
    public void Apply_SameIdentifierTwiceInOneEvent_IsLinkedOnce()
    {
        var events = new SpecEvents().Identify("10:00", userId: "u1", anonymousId: "a1", traits: new() { ["email"] = "ada@x.com" },
            context: Context(new() { ["email"] = " ADA@x.com" }, ("ada@x.com", "email"), ("u1", "user_id")));
        var replay = new Replay();
        var result = replay.Apply(events[0]);

        Assert.Equal(["anonymous_id:a1 email:ada@x.com user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Equal(3, replay.Engine.IdentifierCount);
        Assert.Equal((0, 0), (result.Merges, result.Declined));
    }

    [Fact]
    public void Apply_ConflictingIdentifiers_EventGoesToTheProfileOfTheStrongest()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["email"] = "ada@x.com" })
            .Identify("10:01", userId: "u2", anonymousId: "a2")
            .Track("10:02", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "ada@x.com", ["plan"] = "pro" }));
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a2 user_id:u2", "email:ada@x.com user_id:u1"], Canonical.Identities(replay.Engine));
        var ada = replay.Holder("user_id:u1");
        Assert.Same(ada, results[2].Profile);
        Assert.Equal((0, 1), (results[2].Merges, results[2].Declined));
        Assert.Equal("\"pro\"", Canonical.Trait(ada.Traits, "plan"));
        Assert.Equal(0, replay.Holder("user_id:u2").Traits.Count);
    }

    [Fact]
    public void Apply_MergeThatWouldExceedTheEmailLimit_IsDeclinedAndRecordedInBothProfiles()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", context: Context(null, ("e1@x.com", "email"), ("e2@x.com", "email"), ("e3@x.com", "email")))
            .Identify("10:01", anonymousId: "a2", context: Context(null, ("e4@x.com", "email"), ("E5@x.com", "email"), ("e6@x.com", "email")))
            .Track("10:02", "Viewed", userId: "u1", anonymousId: "a2");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(
            ["anonymous_id:a2 email:e4@x.com email:e5@x.com email:e6@x.com", "email:e1@x.com email:e2@x.com email:e3@x.com user_id:u1"],
            Canonical.Identities(replay.Engine));
        var (first, second) = (replay.Holder("user_id:u1"), replay.Holder("anonymous_id:a2"));
        Assert.Same(first, results[2].Profile);
        Assert.Equal((0, 1), (results[2].Merges, results[2].Declined));
        var inFirst = Assert.Single(first.Declined);
        var inSecond = Assert.Single(second.Declined);
        Assert.Equal((Id(IdentifierType.AnonymousId, "a2"), "prf_00000002"), (inFirst.Identifier, inFirst.OtherProfileId));
        Assert.Equal((Id(IdentifierType.AnonymousId, "a2"), "prf_00000001"), (inSecond.Identifier, inSecond.OtherProfileId));
        Assert.Contains("email", inFirst.Reason, StringComparison.Ordinal);
        Assert.Equal(0, replay.Engine.MergeCount);
    }

    [Fact]
    public void Apply_CustomExternalIdOverItsLimit_IsDeclined_AndUnknownTypesAreIgnored()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", context: Context(null, ("sf-001", "salesforce_id")))
            .Identify("10:01", userId: "u1", context: Context(null, ("sf-002", "salesforce_id")))
            .Track("10:02", "Viewed", anonymousId: "a3", context: Context(null, ("sf-002", "salesforce_id")))
            .Track("10:03", "Viewed", anonymousId: "a4", context: Context(null, (" sf-001 ", "salesforce_id"), ("hub-9", "hubspot_id")));
        var replay = new Replay(WithSalesforce);
        var results = replay.ApplyAll(events.List);

        Assert.Equal(
            ["anonymous_id:a3 salesforce_id:sf-002", "anonymous_id:a4 salesforce_id:sf-001 user_id:u1"],
            Canonical.Identities(replay.Engine));
        Assert.Equal(1, results[1].Declined);
        Assert.Equal(Id("salesforce_id", "sf-002"), Assert.Single(replay.Holder("user_id:u1").Declined).Identifier);
    }

    [Fact]
    public void Apply_CustomTypeWithTraitKey_ReadsTheTraitFromIdentifyAndContextTraits()
    {
        var rules = new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("member_no", 1, 5, TraitKey: "memberNumber")]);
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["memberNumber"] = 12345 })
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["memberNumber"] = "12345" }));
        var replay = new Replay(rules);
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a2 member_no:12345 user_id:u1"], Canonical.Identities(replay.Engine));
        Assert.Same(results[0].Profile, results[1].Profile);
    }

    [Fact]
    public void Apply_ThreeProfilesMergedInTurn_OldestSurvivesAndEveryAbsorbedIdResolves()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a1")
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "e2@x.com" }))
            .Track("10:02", "Viewed", anonymousId: "a3")
            .Track("10:03", "Viewed", anonymousId: "a3", context: Context(new() { ["email"] = "e2@x.com" }))
            .Identify("10:04", userId: "u1", anonymousId: "a1")
            .Identify("10:05", userId: "u1", traits: new() { ["email"] = "e2@x.com" });
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 anonymous_id:a2 anonymous_id:a3 email:e2@x.com user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("anonymous_id:a3");
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Equal(["prf_00000002", "prf_00000003"], profile.MergedIds);
        foreach (var id in new[] { "prf_00000001", "prf_00000002", "prf_00000003" })
        {
            Assert.Same(profile, replay.Engine.FindById(id));
        }

        Assert.Equal(
            [(4L, "prf_00000002", "prf_00000003", "anonymous_id:a3"), (6L, "prf_00000001", "prf_00000002", "email:e2@x.com")],
            profile.Merges.Select(m => (m.Seq, m.SurvivorId, m.AbsorbedId, m.Via.ToString())));
        Assert.Equal(
            ["anonymous_id:a2", "anonymous_id:a3", "email:e2@x.com"],
            profile.Merges[1].AbsorbedIdentifiers.Select(i => i.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal(1, replay.Engine.ProfileCount);
        Assert.Equal(2, replay.Engine.MergeCount);
        Assert.Equal([1L, 2, 3, 4, 5, 6], profile.EventSeqs);
        Assert.Equal(Ms("10:00"), profile.FirstSeenMs);
        Assert.Equal(Ms("10:05"), profile.LastSeenMs);
    }

    [Fact]
    public void Apply_OneEventLinkingThreeProfiles_MergesAllIntoTheOldest()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a1", context: Context(new() { ["email"] = "e1@x.com" }))
            .Track("10:01", "Viewed", anonymousId: "a2", context: Context(new() { ["email"] = "e2@x.com" }))
            .Track("10:02", "Viewed", anonymousId: "a3", context: Context(new() { ["email"] = "e3@x.com" }))
            .Identify("10:03", userId: "u1", context: Context(null, ("e3@x.com", "email"), ("e2@x.com", "email"), ("e1@x.com", "email")));
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(
            ["anonymous_id:a1 anonymous_id:a2 anonymous_id:a3 email:e1@x.com email:e2@x.com email:e3@x.com user_id:u1"],
            Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u1");
        Assert.Same(profile, results[3].Profile);
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Equal(["prf_00000002", "prf_00000003"], profile.MergedIds.Order(StringComparer.Ordinal));
        Assert.Same(profile, replay.Engine.FindById("prf_00000003"));
        Assert.Equal(
            [("prf_00000002", "prf_00000003", "email:e2@x.com"), ("prf_00000001", "prf_00000002", "email:e1@x.com")],
            profile.Merges.Select(m => (m.SurvivorId, m.AbsorbedId, m.Via.ToString())));
        Assert.All(profile.Merges, m => Assert.Equal(
            [Id(IdentifierType.UserId, "u1"), Id(IdentifierType.Email, "e3@x.com"), Id(IdentifierType.Email, "e2@x.com"), Id(IdentifierType.Email, "e1@x.com")],
            m.EventIdentifiers));
        Assert.Equal(
            ["anonymous_id:a3", "email:e3@x.com", "user_id:u1"],
            profile.Merges[0].AbsorbedIdentifiers.Select(i => i.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Apply_EventWithNoUsableIdentifier_IsNotAttributed()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed")
            .Track("10:01", "Viewed", context: Context(null, ("hub-1", "hubspot_id")))
            .Add("identify", "10:02", new JsonObject { ["userId"] = null, ["anonymousId"] = true, ["traits"] = new JsonObject { ["email"] = new JsonObject() } })
            .Track("10:03", "Viewed", userId: "u1");
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal([false, false, false, true], results.Select(r => r.Attributed));
        Assert.Equal(3, replay.Engine.EventsUnattributed);
        Assert.Equal(4, replay.Engine.EventsApplied);
        Assert.Equal(4, replay.Engine.Position);
        Assert.Equal(["user_id:u1"], Canonical.Identities(replay.Engine));
    }

    [Fact]
    public void Apply_NumericUserId_IsTheSameIdentifierAsItsText()
    {
        var events = new SpecEvents()
            .Add("identify", "10:00", new JsonObject { ["userId"] = 42, ["traits"] = new JsonObject { ["plan"] = "pro" } })
            .Track("10:01", "Viewed", userId: "42")
            .Add("track", "10:02", new JsonObject { ["userId"] = 0, ["event"] = "Viewed" });
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["user_id:42"], Canonical.Identities(replay.Engine));
        Assert.Same(results[0].Profile, results[1].Profile);
        Assert.False(results[2].Attributed);
        Assert.Equal(2, replay.Holder("user_id:42").EventCount);
    }

    [Fact]
    public void Apply_ContextTraitsOnAnyCall_GiveIdentifiersAndTraits_TopLevelTraitsOnTrackDoNot()
    {
        var events = new SpecEvents()
            .Add("track", "10:00", new JsonObject { ["anonymousId"] = "a1", ["event"] = "Viewed", ["traits"] = new JsonObject { ["email"] = "x@x.com" } })
            .Track("10:01", "Viewed", anonymousId: "a1", context: Context(new() { ["email"] = "y@x.com", ["phone"] = "+1 202 555 0100", ["plan"] = "pro" }))
            .Page("10:02", anonymousId: "a5", context: Context(new() { ["email"] = "Y@x.com" }));
        var replay = new Replay();
        var results = replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 anonymous_id:a5 email:y@x.com phone:+1 202 555 0100"], Canonical.Identities(replay.Engine));
        Assert.Null(replay.Engine.Find(Id(IdentifierType.Email, "x@x.com")));
        Assert.Equal("email=\"Y@x.com\" phone=\"+1 202 555 0100\" plan=\"pro\"", Canonical.Traits(results[2].Profile!.Traits));
    }

    [Fact]
    public void Apply_OlderTraitArrivingLater_LosesToTheNewerOnePerKey()
    {
        var events = new SpecEvents()
            .Identify("10:05", userId: "u1", traits: new() { ["plan"] = "pro", ["seats"] = 5 })
            .Identify("10:00", userId: "u1", traits: new() { ["plan"] = "free", ["company"] = "Acme" });
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var profile = replay.Holder("user_id:u1");
        Assert.Equal("company=\"Acme\" plan=\"pro\" seats=5", Canonical.Traits(profile.Traits));
        Assert.True(profile.Traits.TryGet("plan", out var plan));
        Assert.Equal(Ms("10:05"), plan.TimestampMs);
        Assert.Equal(Ms("10:00"), profile.FirstSeenMs);
        Assert.Equal(Ms("10:05"), profile.LastSeenMs);
    }

    [Fact]
    public void Apply_MergedProfiles_KeepTheNewestValuePerKey()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["plan"] = "free", ["name"] = "Ada" })
            .Identify("10:10", anonymousId: "a2", traits: new() { ["plan"] = "pro" })
            .Identify("09:00", anonymousId: "a2", traits: new() { ["name"] = "A. Lovelace", ["city"] = "London" })
            .Track("09:30", "Viewed", userId: "u1", anonymousId: "a2");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a2 user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u1");
        Assert.Equal("city=\"London\" name=\"Ada\" plan=\"pro\"", Canonical.Traits(profile.Traits));
        Assert.Equal(Ms("09:00"), profile.FirstSeenMs);
        Assert.Equal(Ms("10:10"), profile.LastSeenMs);
    }

    // XxHash64("msg-a") = 18386907809024371779 > XxHash64("msg-b") = 2789844334846740822, so at equal times msg-a wins.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Apply_EqualTimestamps_AreSettledByMessageIdWhateverTheArrivalOrder(bool bFirst)
    {
        var a = new SpecEvents().Identify("10:00", userId: "u1", traits: new() { ["plan"] = "a" }, messageId: "msg-a")[0];
        var b = new SpecEvents().Identify("10:00", userId: "u1", traits: new() { ["plan"] = "b" }, messageId: "msg-b")[0];
        var replay = new Replay();
        replay.ApplyAll(bFirst ? [b, a] : [a, b]);

        Assert.Equal("\"a\"", Canonical.Trait(replay.Holder("user_id:u1").Traits, "plan"));
    }

    [Fact]
    public void Apply_GroupCall_CreatesTheAccount_KeepsItsTraitsApart_AndLinksTheProfile()
    {
        var events = new SpecEvents()
            .Identify("10:00", userId: "u1", traits: new() { ["name"] = "Ada" })
            .Group("10:01", "acme", userId: "u1", traits: new() { ["name"] = "Acme Inc", ["plan"] = "enterprise", ["email"] = "billing@acme.com" })
            .Group("09:00", "acme", userId: "u2", traits: new() { ["name"] = "Acme (old)", ["industry"] = "Retail" });
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["user_id:u1", "user_id:u2"], Canonical.Identities(replay.Engine));
        var account = replay.Engine.FindAccount("acme");
        Assert.NotNull(account);
        Assert.Equal("email=\"billing@acme.com\" industry=\"Retail\" name=\"Acme Inc\" plan=\"enterprise\"", Canonical.Traits(account.Traits));
        Assert.Equal(2, account.MemberCount);
        Assert.Equal((Ms("09:00"), Ms("10:01")), (account.FirstSeenMs, account.LastSeenMs));
        Assert.Equal(1, replay.Engine.AccountCount);

        var (ada, other) = (replay.Holder("user_id:u1"), replay.Holder("user_id:u2"));
        Assert.Equal(["acme"], ada.Accounts);
        Assert.Equal(["acme"], other.Accounts);
        Assert.Equal("name=\"Ada\"", Canonical.Traits(ada.Traits));
        Assert.Equal(0, other.Traits.Count);
        Assert.Equal(1, ada.CountOf(MessageType.Group));
        Assert.Null(replay.Engine.Find(Id(IdentifierType.Email, "billing@acme.com")));
    }

    [Fact]
    public void Apply_GroupCallContextTraits_AreProfileTraitsAndIdentifiers()
    {
        var events = new SpecEvents()
            .Group("10:00", "acme", userId: "u3", traits: new() { ["plan"] = "enterprise" },
                context: Context(new() { ["title"] = "CTO", ["email"] = "cy@acme.com" }));
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["email:cy@acme.com user_id:u3"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u3");
        Assert.Equal("email=\"cy@acme.com\" title=\"CTO\"", Canonical.Traits(profile.Traits));
        Assert.Equal("plan=\"enterprise\"", Canonical.Traits(replay.Engine.FindAccount("acme")!.Traits));
        Assert.Equal(["acme"], profile.Accounts);
    }

    [Fact]
    public void Apply_MergeOfProfilesInAccounts_MovesMembershipToTheSurvivor()
    {
        var events = new SpecEvents()
            .Group("10:00", "g1", anonymousId: "a1")
            .Group("10:01", "g2", userId: "u1")
            .Group("10:02", "g1", userId: "u1")
            .Identify("10:03", userId: "u1", anonymousId: "a1");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        Assert.Equal(["anonymous_id:a1 user_id:u1"], Canonical.Identities(replay.Engine));
        var profile = replay.Holder("user_id:u1");
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Equal(["g1", "g2"], profile.Accounts.Order(StringComparer.Ordinal));
        foreach (var groupId in new[] { "g1", "g2" })
        {
            var account = replay.Engine.FindAccount(groupId);
            Assert.NotNull(account);
            Assert.Equal(1, account.MemberCount);
            Assert.Same(profile, Assert.Single(account.Members));
        }
    }

    [Fact]
    public void Apply_EventTimeline_IsTheLogSeqsInOrderAcrossMerges()
    {
        var events = new SpecEvents()
            .Track("10:00", "Viewed", anonymousId: "a1")
            .Track("10:01", "Viewed", anonymousId: "a2")
            .Track("10:02", "Viewed", anonymousId: "a1")
            .Track("10:03", "Viewed", anonymousId: "a2")
            .Identify("10:04", userId: "u1", anonymousId: "a2")
            .Identify("10:05", userId: "u1", anonymousId: "a1")
            .Track("10:06", "Viewed", anonymousId: "a2");
        var replay = new Replay();
        replay.ApplyAll(events.List);

        var profile = replay.Holder("user_id:u1");
        Assert.Equal("prf_00000001", profile.Id);
        Assert.Same(profile, replay.Engine.FindById("prf_00000002"));
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], profile.EventSeqs);
        Assert.Equal(7, profile.EventCount);
        Assert.Equal(1, replay.Engine.ProfileCount);
    }
}
