using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Tandem.Demo;
using Xunit;

namespace Tandem.Tests.Demo;

public sealed class DemoTrafficTests
{
    private const int Seed = 2026;
    private const int People = 50;
    private static readonly DateTimeOffset Now = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] SpecTypes = ["identify", "track", "page", "screen", "group", "alias"];
    private static readonly Lazy<IReadOnlyList<DemoBatch>> Fifty = new(() => new DemoTraffic(Seed, Now).Generate(People));

    [Fact]
    public void Generate_SameSeedAndNow_ReturnsIdenticalBatches()
    {
        var first = new DemoTraffic(7, Now).Generate(20);
        var second = new DemoTraffic(7, Now).Generate(20);

        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Generate_DifferentSeed_ReturnsDifferentBatches()
    {
        var first = new DemoTraffic(7, Now).Generate(20);
        var second = new DemoTraffic(8, Now).Generate(20);

        Assert.NotEqual(first.Select(b => b.Json), second.Select(b => b.Json));
    }

    [Fact]
    public void Generate_LaterNow_ShiftsTimestampsButKeepsMessageIds()
    {
        var first = Events(new DemoTraffic(7, Now).Generate(20));
        var later = Events(new DemoTraffic(7, Now.AddDays(3)).Generate(20));

        // Same seed, same messageIds: sending the demo again is deduplicated rather than doubled.
        Assert.Equal(first.Select(x => Str(x.Event, "messageId")), later.Select(x => Str(x.Event, "messageId")));
        Assert.Equal(
            first.Select(x => DateTimeOffset.Parse(Str(x.Event, "timestamp")!, CultureInfo.InvariantCulture).AddDays(3)),
            later.Select(x => DateTimeOffset.Parse(Str(x.Event, "timestamp")!, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Generate_ZeroPeople_ReturnsNoBatches()
    {
        Assert.Empty(new DemoTraffic(Seed, Now).Generate(0));
    }

    [Fact]
    public void Generate_EveryEvent_PassesSpecChecks()
    {
        var events = Events(Fifty.Value);

        Assert.NotEmpty(events);
        foreach (var (source, e) in events)
        {
            var type = e.GetProperty("type").GetString();
            Assert.Contains(type, SpecTypes);
            Assert.True(NonEmpty(e, "userId") || NonEmpty(e, "anonymousId"), $"{source} {type} has no userId or anonymousId: {e}");
            if (type == "track")
            {
                Assert.True(NonEmpty(e, "event"), $"track without event: {e}");
            }

            if (type == "group")
            {
                Assert.True(NonEmpty(e, "groupId"), $"group without groupId: {e}");
            }

            var text = e.GetProperty("timestamp").GetString()!;
            Assert.EndsWith("Z", text, StringComparison.Ordinal);
            var timestamp = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.InRange(timestamp, Now.AddDays(-30), Now);
            Assert.True(NonEmpty(e, "messageId"));
            Assert.True(NonEmpty(e.GetProperty("context").GetProperty("library"), "name"));
            Assert.True(NonEmpty(e.GetProperty("context").GetProperty("library"), "version"));
        }
    }

    [Fact]
    public void Generate_MessageIds_AreUnique()
    {
        var ids = Events(Fifty.Value).Select(x => x.Event.GetProperty("messageId").GetString()).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Generate_FiftyPeople_SendsFromAllFourSourcesInOrder()
    {
        var sources = Fifty.Value.Select(b => b.SourceName).Distinct().ToArray();

        Assert.Equal(DemoSources.All, sources);
    }

    [Fact]
    public void Generate_FiftyPeople_AveragesFifteenToThirtyEventsPerPerson()
    {
        var count = Events(Fifty.Value).Count;

        Assert.InRange(count, 15 * People, 30 * People);
    }

    [Fact]
    public void Generate_Batches_StayWithinSegmentLimits()
    {
        foreach (var batch in Fifty.Value)
        {
            Assert.True(Encoding.UTF8.GetByteCount(batch.Json) < 500 * 1024);
            using var document = JsonDocument.Parse(batch.Json);
            var events = document.RootElement.GetProperty("batch");
            Assert.InRange(events.GetArrayLength(), 1, 100);
            Assert.Equal(Now, DateTimeOffset.Parse(document.RootElement.GetProperty("sentAt").GetString()!, CultureInfo.InvariantCulture));
            foreach (var e in events.EnumerateArray())
            {
                Assert.True(Encoding.UTF8.GetByteCount(e.GetRawText()) < 32 * 1024);
            }
        }
    }

    [Fact]
    public void Generate_Timestamps_AreInOrderWithinEachSourceAndIdentity()
    {
        foreach (var group in Events(Fifty.Value).GroupBy(x => (x.Source, Id: Str(x.Event, "anonymousId") ?? Str(x.Event, "userId"))))
        {
            var times = group.Select(x => DateTimeOffset.Parse(x.Event.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(times.Order(), times);
        }
    }

    [Fact]
    public void Generate_WebsiteEvents_CarryBrowserContext()
    {
        foreach (var (_, e) in Events(Fifty.Value).Where(x => x.Source == DemoSources.Website))
        {
            var context = e.GetProperty("context");
            Assert.Equal("analytics.js", context.GetProperty("library").GetProperty("name").GetString());
            Assert.StartsWith("https://", context.GetProperty("page").GetProperty("url").GetString(), StringComparison.Ordinal);
            Assert.True(NonEmpty(context, "userAgent"));
            var ip = IPAddress.Parse(context.GetProperty("ip").GetString()!).GetAddressBytes();
            Assert.DoesNotContain(ip[0], new byte[] { 0, 10, 127, 172, 192 });
            Assert.True(Guid.TryParse(e.GetProperty("anonymousId").GetString(), out _));
        }
    }

    [Fact]
    public void Generate_Website_SendsPagesProductEventsSignUpsAndOrders()
    {
        var website = Events(Fifty.Value).Where(x => x.Source == DemoSources.Website).Select(x => x.Event).ToList();
        var tracks = website.Where(e => Str(e, "type") == "track").Select(e => Str(e, "event")).ToHashSet();

        Assert.Contains(website, e => Str(e, "type") == "page" && NonEmpty(e.GetProperty("properties"), "path"));
        Assert.Superset(new HashSet<string?> { "Product Viewed", "Product Added", "Signed Up", "Order Completed" }, tracks);
        var order = website.First(e => Str(e, "event") == "Order Completed").GetProperty("properties");
        Assert.True(order.GetProperty("revenue").GetDecimal() > 0);
        Assert.Equal("USD", order.GetProperty("currency").GetString());
        Assert.NotEqual(0, order.GetProperty("products").GetArrayLength());
        var signUp = website.First(e => Str(e, "type") == "identify" && e.GetProperty("traits").TryGetProperty("createdAt", out _));
        Assert.True(NonEmpty(signUp, "userId"));
        Assert.True(NonEmpty(signUp, "anonymousId"));
        Assert.Equal(Str(signUp, "timestamp"), Str(signUp.GetProperty("traits"), "createdAt"));
    }

    [Fact]
    public void Generate_EmailsOnWebsite_AlsoAppearInMarketingAutomation()
    {
        var events = Events(Fifty.Value);
        var website = Emails(events, DemoSources.Website);
        var marketing = Emails(events, DemoSources.MarketingAutomation);

        Assert.NotEmpty(website.Intersect(marketing));
        Assert.All(events.Where(x => x.Source == DemoSources.MarketingAutomation && Str(x.Event, "type") == "identify"), x =>
        {
            Assert.False(x.Event.TryGetProperty("userId", out _));
            Assert.StartsWith("ma_", Str(x.Event, "anonymousId"), StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Generate_EmailsInCms_AlsoAppearOnWebsiteOrInMarketingAutomation()
    {
        var events = Events(Fifty.Value);
        var cms = Emails(events, DemoSources.Cms);

        Assert.NotEmpty(cms);
        Assert.NotEmpty(cms.Intersect(Emails(events, DemoSources.Website).Union(Emails(events, DemoSources.MarketingAutomation))));
    }

    [Fact]
    public void Generate_UserIdsOnWebsite_AlsoAppearInCrm()
    {
        var events = Events(Fifty.Value);
        var website = UserIds(events, DemoSources.Website);
        var crm = UserIds(events, DemoSources.Crm);

        Assert.NotEmpty(website.Intersect(crm));
    }

    [Fact]
    public void Generate_CrmContacts_CarrySalesforceIdsAndAccounts()
    {
        var crm = Events(Fifty.Value).Where(x => x.Source == DemoSources.Crm).Select(x => x.Event).ToList();

        var contact = crm.First(e => Str(e, "type") == "identify" && NonEmpty(e, "userId"));
        var externalId = Assert.Single(contact.GetProperty("context").GetProperty("externalIds").EnumerateArray());
        Assert.StartsWith("003", Str(externalId, "id"), StringComparison.Ordinal);
        Assert.Equal("salesforce_contact_id", Str(externalId, "type"));
        Assert.Equal("users", Str(externalId, "collection"));
        Assert.Equal("none", Str(externalId, "encoding"));
        Assert.True(NonEmpty(contact.GetProperty("traits"), "phone"));

        var group = crm.First(e => Str(e, "type") == "group");
        Assert.StartsWith("001", Str(group, "groupId"), StringComparison.Ordinal);
        Assert.True(NonEmpty(group.GetProperty("traits"), "name"));
        Assert.True(group.GetProperty("traits").GetProperty("employees").GetInt32() > 0);

        Assert.Contains(crm, e => Str(e, "type") == "identify" && !e.TryGetProperty("userId", out _) && NonEmpty(e.GetProperty("traits"), "email"));
    }

    [Fact]
    public void Generate_SharedDevice_OneAnonymousIdIdentifiesTwoUsers()
    {
        var shared = Events(Fifty.Value)
            .Where(x => x.Source == DemoSources.Website && Str(x.Event, "type") == "identify" && NonEmpty(x.Event, "userId"))
            .GroupBy(x => Str(x.Event, "anonymousId"))
            .Where(g => g.Select(x => Str(x.Event, "userId")).Distinct().Count() >= 2)
            .ToList();

        Assert.Single(shared);
    }

    [Fact]
    public void Generate_ReturningUsers_IdentifyOnASecondDevice()
    {
        var devices = Events(Fifty.Value)
            .Where(x => x.Source == DemoSources.Website && Str(x.Event, "type") == "identify" && NonEmpty(x.Event, "userId"))
            .GroupBy(x => Str(x.Event, "userId"))
            .Select(g => g.Select(x => Str(x.Event, "anonymousId")).Distinct().Count());

        Assert.Contains(devices, count => count >= 2);
    }

    [Fact]
    public async Task SendAsync_CollectorAccepts_PostsEveryBatchWithBasicAuthAndCountsEvents()
    {
        var keys = DemoSources.All.ToDictionary(s => s, s => "wk_" + s.Replace(' ', '_'), StringComparer.Ordinal);
        using var handler = new RecordingHandler(HttpStatusCode.OK, """{"success":true}""");
        using var http = new HttpClient(handler);
        var traffic = new DemoTraffic(Seed, Now);

        var delivery = await traffic.SendAsync(http, new Uri("http://collector.test:5000/"), keys, 10, TestContext.Current.CancellationToken);

        var expected = traffic.Generate(10);
        Assert.Equal(expected.Count, handler.Requests.Count);
        Assert.Equal(Events(expected).Count, delivery.Sent);
        for (var i = 0; i < expected.Count; i++)
        {
            var request = handler.Requests[i];
            Assert.Equal(HttpMethod.Post, request.Method);
            Assert.Equal("http://collector.test:5000/v1/batch", request.Uri);
            Assert.Equal("Basic", request.Scheme);
            Assert.Equal(keys[expected[i].SourceName] + ":", Encoding.UTF8.GetString(Convert.FromBase64String(request.Parameter!)));
            Assert.Equal("application/json", request.MediaType);
            Assert.Equal(expected[i].Json, request.Body);
        }
    }

    [Fact]
    public async Task SendAsync_CollectorRefuses_ThrowsWithResponseBody()
    {
        var keys = DemoSources.All.ToDictionary(s => s, s => "key", StringComparer.Ordinal);
        using var handler = new RecordingHandler(HttpStatusCode.BadRequest, """{"title":"Every event in the batch was refused"}""");
        using var http = new HttpClient(handler);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() =>
            new DemoTraffic(Seed, Now).SendAsync(http, new Uri("http://collector.test"), keys, 5, TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("Every event in the batch was refused", ex.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    internal static List<(string Source, JsonElement Event)> Events(IEnumerable<DemoBatch> batches) =>
        [.. batches.SelectMany(b => JsonDocument.Parse(b.Json).RootElement.GetProperty("batch").EnumerateArray().Select(e => (b.SourceName, e)))];

    private static HashSet<string> Emails(List<(string Source, JsonElement Event)> events, string source)
    {
        var emails = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, e) in events.Where(x => x.Source == source))
        {
            if (e.TryGetProperty("traits", out var traits) && Str(traits, "email") is { } email)
            {
                emails.Add(email);
            }

            if (e.GetProperty("context").TryGetProperty("traits", out var contextTraits) && Str(contextTraits, "email") is { } contextEmail)
            {
                emails.Add(contextEmail);
            }
        }

        return emails;
    }

    private static HashSet<string> UserIds(List<(string Source, JsonElement Event)> events, string source) =>
        [.. events.Where(x => x.Source == source).Select(x => Str(x.Event, "userId")).OfType<string>()];

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool NonEmpty(JsonElement e, string name) => !string.IsNullOrWhiteSpace(Str(e, name));

    private sealed record SeenRequest(HttpMethod Method, string? Uri, string? Scheme, string? Parameter, string? MediaType, string Body);

    /// <summary>Answers every request with one fixed status and body, and keeps what it was sent.</summary>
    private sealed class RecordingHandler(HttpStatusCode status, string answer) : HttpMessageHandler
    {
        public List<SeenRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            Requests.Add(new SeenRequest(request.Method, request.RequestUri?.AbsoluteUri, request.Headers.Authorization?.Scheme,
                request.Headers.Authorization?.Parameter, request.Content?.Headers.ContentType?.MediaType, body));
            return new HttpResponseMessage(status) { Content = new StringContent(answer, Encoding.UTF8, "application/json") };
        }
    }
}
