using System.Text.Json;
using Tandem.Demo;
using static Tandem.Tests.Demo.DemoTrafficTests;

namespace Tandem.Tests.Demo;

/// <summary>The simulated customers: never two people behind one identifier, and the README's customer is there.</summary>
public sealed class DemoPeopleTests
{
    private const int Seed = 2026;
    private const int Many = 3000;
    private static readonly DateTimeOffset Now = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<IReadOnlyList<DemoPerson>> Crowd = new(() => new DemoTraffic(Seed, Now).People(Many));

    [Fact]
    public void People_LargeCount_NoIdentifierIsSharedByTwoPeople()
    {
        var people = Crowd.Value;

        Assert.Equal(Many, people.Count);
        AssertUnique(people.Select(p => p.UserId), "user id");
        AssertUnique(people.Select(p => p.Email.ToLowerInvariant()), "email");
        AssertUnique(people.Select(p => p.Phone), "phone");
        AssertUnique(people.Select(p => p.ContactId), "Salesforce contact id");
        AssertUnique(people.Select(p => p.LeadId), "Salesforce lead id");
        AssertUnique(people.SelectMany(p => p.AnonymousIds), "anonymous id");
        AssertUnique(people.SelectMany(p => p.AnonymousIds.Append(p.LeadId)), "anonymous id or lead id");
    }

    [Fact]
    public void People_SameCount_AreTheSamePeople()
    {
        var first = new DemoTraffic(Seed, Now).People(300);
        var second = new DemoTraffic(Seed, Now.AddDays(2)).People(300);

        Assert.Equal(first.Select(Describe), second.Select(Describe));
    }

    [Fact]
    public void People_SmallerCount_AreTheFirstPeopleOfALargerCount()
    {
        // A larger demo after the default one must not hand person 7's user id to somebody else.
        var small = new DemoTraffic(Seed, Now).People(200);

        Assert.Equal(small.Select(Describe), Crowd.Value.Take(200).Select(Describe));
    }

    [Fact]
    public void Generate_SmallerCount_ItsEventsRepeatInALargerCount()
    {
        var small = Events(new DemoTraffic(Seed, Now).Generate(40)).Select(x => x.Event.GetRawText()).ToHashSet(StringComparer.Ordinal);
        var large = Events(new DemoTraffic(Seed, Now).Generate(120)).Select(x => x.Event.GetRawText()).ToHashSet(StringComparer.Ordinal);

        Assert.Subset(large, small);
        Assert.True(large.Count > small.Count);
    }

    [Fact]
    public void Generate_LargeCount_EachUserIdHasOneEmailAndEachEmailOneUserId()
    {
        var identified = Events(new DemoTraffic(Seed, Now).Generate(1500))
            .Select(x => x.Event)
            .Where(e => Str(e, "userId") is not null && e.TryGetProperty("traits", out var t) && Str(t, "email") is not null)
            .Select(e => (UserId: Str(e, "userId")!, Email: Str(e.GetProperty("traits"), "email")!))
            .ToList();

        Assert.NotEmpty(identified);
        Assert.All(identified.GroupBy(x => x.UserId), g => Assert.Single(g.Select(x => x.Email).Distinct()));
        Assert.All(identified.GroupBy(x => x.Email), g => Assert.Single(g.Select(x => x.UserId).Distinct()));
    }

    [Fact]
    public void Generate_LargeCount_OnlyTheDocumentedSharedDeviceCarriesTwoUserIds()
    {
        var shared = Events(new DemoTraffic(Seed, Now).Generate(1500))
            .Select(x => x.Event)
            .Where(e => Str(e, "userId") is not null && Str(e, "anonymousId") is not null)
            .GroupBy(e => Str(e, "anonymousId"))
            .Where(g => g.Select(e => Str(e, "userId")).Distinct().Count() > 1)
            .ToList();

        var device = Assert.Single(shared);
        Assert.Equal(["42", Crowd.Value[1].UserId], device.Select(e => Str(e, "userId")).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Generate_Ada_BrowsesSignsUpOrdersAndIsInEverySource()
    {
        var events = Events(new DemoTraffic(Seed, Now).Generate(20));
        var ada = Assert.Single(new DemoTraffic(Seed, Now).People(20), p => p.Email == "ada@example.com");
        Assert.Equal("42", ada.UserId);
        Assert.Equal("Ada Lovelace", ada.Name);

        var hers = events.Where(x => Str(x.Event, "userId") == "42").ToList();
        var tracked = hers.Select(x => Str(x.Event, "event")).ToHashSet();
        Assert.Superset(new HashSet<string?> { "Signed Up", "Order Completed" }, tracked);
        var order = hers.First(x => Str(x.Event, "event") == "Order Completed").Event.GetProperty("properties");
        Assert.True(order.GetProperty("revenue").GetDecimal() > 0);
        Assert.Equal("USD", Str(order, "currency"));
        Assert.Contains(events, x => x.Source == DemoSources.Website && Str(x.Event, "type") == "page" && Str(x.Event, "userId") is null
            && ada.AnonymousIds.Contains(Str(x.Event, "anonymousId")));
        foreach (var source in DemoSources.All)
        {
            Assert.Contains(events, x => x.Source == source && Mentions(x.Event, ada));
        }
    }

    [Fact]
    public void Generate_SignedUpPeople_EndAsCustomersInMarketingAutomation()
    {
        var events = Events(new DemoTraffic(Seed, Now).Generate(200));
        var signedUp = events
            .Where(x => x.Source == DemoSources.Website && Str(x.Event, "type") == "identify" && Str(x.Event, "userId") is not null)
            .Select(x => Str(x.Event.GetProperty("traits"), "email"))
            .ToHashSet();
        var lastStage = events
            .Where(x => x.Source == DemoSources.MarketingAutomation && Str(x.Event, "type") == "identify")
            .GroupBy(x => Str(x.Event.GetProperty("traits"), "email"))
            .ToDictionary(g => g.Key!, g => Str(g.MaxBy(x => Str(x.Event, "timestamp"))!.Event.GetProperty("traits"), "lifecycleStage"));

        Assert.Equal("customer", lastStage["ada@example.com"]);
        var inBoth = lastStage.Where(s => signedUp.Contains(s.Key)).ToList();
        Assert.NotEmpty(inBoth);
        Assert.All(inBoth, s => Assert.Equal("customer", s.Value));
    }

    [Fact]
    public void Generate_Orders_AreAllInUsDollars()
    {
        var currencies = Events(new DemoTraffic(Seed, Now).Generate(100))
            .Where(x => Str(x.Event, "event") is "Order Completed" or "Product Added" or "Product Viewed")
            .Select(x => Str(x.Event.GetProperty("properties"), "currency"))
            .Distinct()
            .ToList();

        Assert.Equal(["USD"], currencies);
    }

    private static bool Mentions(JsonElement e, DemoPerson person)
    {
        var text = e.GetRawText();
        return text.Contains('"' + person.Email + '"', StringComparison.Ordinal) || Str(e, "userId") == person.UserId;
    }

    private static string Describe(DemoPerson p) =>
        string.Join('|', [p.Name, p.UserId, p.Email, p.Phone, p.ContactId, p.LeadId, .. p.AnonymousIds]);

    private static void AssertUnique(IEnumerable<string> values, string kind)
    {
        var repeated = values.GroupBy(v => v, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(repeated.Count == 0, $"{kind} held by more than one person: {string.Join(", ", repeated)}");
    }
}
