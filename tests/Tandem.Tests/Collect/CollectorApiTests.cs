using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

public sealed class CollectorApiTests
{
    private static readonly string[] AllPostRoutes =
        ["identify", "i", "track", "t", "page", "p", "screen", "s", "group", "g", "alias", "a", "batch", "b", "import"];

    [Fact]
    public async Task Track_WithSentAt_StoresEventStampedAndSkewCorrected()
    {
        await using var server = await TandemServer.StartAsync();
        // The client's clock is 5 minutes behind: it says it sent 2 s after the event happened.
        var response = await server.CollectAsync("/v1/track", """
            {"userId":"u-1","event":"Order Completed","properties":{"revenue":42.5},
             "timestamp":"2026-11-23T11:55:00.000Z","sentAt":"2026-11-23T11:55:02.000Z","extra":{"kept":true}}
            """);
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());

        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.Equal("track", stored.GetProperty("type").GetString());
        Assert.Equal("u-1", stored.GetProperty("userId").GetString());
        Assert.Equal("Order Completed", stored.GetProperty("event").GetString());
        Assert.Equal(42.5, stored.GetProperty("properties").GetProperty("revenue").GetDouble());
        Assert.True(stored.GetProperty("extra").GetProperty("kept").GetBoolean());
        Assert.StartsWith("tdm-", stored.GetProperty("messageId").GetString());
        Assert.Equal("2026-11-23T12:00:00.000Z", stored.GetProperty("receivedAt").GetString());
        Assert.Equal("2026-11-23T11:55:00.000Z", stored.GetProperty("originalTimestamp").GetString());
        Assert.Equal("2026-11-23T11:59:58.000Z", stored.GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Track_WithoutSentAt_KeepsClientTimestamp()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/t", """{"anonymousId":"a","event":"E","timestamp":"2026-11-20T08:00:00Z","messageId":"given-id"}""");
        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.Equal("2026-11-20T08:00:00.000Z", stored.GetProperty("timestamp").GetString());
        Assert.Equal("given-id", stored.GetProperty("messageId").GetString());
    }

    public static TheoryData<string> WriteKeyPlaces => new() { "basic", "bearer", "body" };

    [Theory]
    [MemberData(nameof(WriteKeyPlaces))]
    public async Task Collect_WriteKeyInEachPlace_IsAccepted(string place)
    {
        await using var server = await TandemServer.StartAsync();
        var json = place == "body"
            ? $$"""{"userId":"u","event":"E","writeKey":"{{server.WriteKey}}"}"""
            : """{"userId":"u","event":"E"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent(json) };
        request.Headers.Authorization = place switch
        {
            "basic" => TandemServer.Basic(server.WriteKey),
            "bearer" => new AuthenticationHeaderValue("Bearer", server.WriteKey),
            _ => null,
        };
        using var response = await server.Http.SendAsync(request);
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.False(stored.TryGetProperty("writeKey", out _), "the write key is a secret and is not stored with the event");
    }

    [Fact]
    public async Task Batch_GzipLabelledFormUrlEncoded_IsDecompressedAndStored()
    {
        await using var server = await TandemServer.StartAsync();
        var json = """{"batch":[{"type":"track","userId":"u","event":"Gz"}],"sentAt":"2026-11-23T12:00:00Z"}""";
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        using var response = await server.Http.SendAsync(request);
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("Gz", Assert.Single(await server.StoredEventsAsync()).GetProperty("event").GetString());
    }

    [Fact]
    public async Task Page_TextPlainFromBrowser_IsStoredWithConnectionIp()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/p"))
        {
            Content = new StringContent("""{"anonymousId":"a","name":"Pricing","context":{"page":{"path":"/pricing"}}}""", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        request.Headers.Add("Origin", "http://shop.example");
        using var response = await server.Http.SendAsync(request);
        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("http://shop.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.Equal("page", stored.GetProperty("type").GetString());
        Assert.Equal("127.0.0.1", stored.GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("/pricing", stored.GetProperty("context").GetProperty("page").GetProperty("path").GetString());
    }

    [Fact]
    public async Task Track_ServerSideWithoutOrigin_GetsNoConnectionIp_AndClientIpIsKept()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/track", """{"userId":"u","event":"Server","messageId":"m1"}""");
        await server.CollectAsync("/v1/track", """{"userId":"u","event":"Given","messageId":"m2","context":{"ip":"203.0.113.9"}}""");
        var stored = await server.StoredEventsAsync();
        var byEvent = stored.ToDictionary(e => e.GetProperty("event").GetString()!);
        Assert.False(byEvent["Server"].GetProperty("context").TryGetProperty("ip", out _));
        Assert.Equal("203.0.113.9", byEvent["Given"].GetProperty("context").GetProperty("ip").GetString());
    }

    public static TheoryData<string> PostRoutes => new(AllPostRoutes);

    [Theory]
    [MemberData(nameof(PostRoutes))]
    public async Task Options_CorsPreflightOnEveryRoute_AllowsBrowserPosts(string route)
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Options, server.Url("/v1/" + route));
        request.Headers.Add("Origin", "http://shop.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("http://shop.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("authorization", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
    }

    [Fact]
    public async Task Settings_KnownWriteKey_AnswersWhatAnalyticsNextNeeds()
    {
        await using var server = await TandemServer.StartAsync();
        using var response = await server.Http.GetAsync(server.Url($"/v1/projects/{server.WriteKey}/settings"));
        var settings = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        var segment = settings.GetProperty("integrations").GetProperty("Segment.io");
        Assert.Equal(server.WriteKey, segment.GetProperty("apiKey").GetString());
        Assert.Equal($"{server.BaseAddress.Authority}/v1", segment.GetProperty("apiHost").GetString());
        Assert.Equal("http", segment.GetProperty("protocol").GetString());

        using var unknown = await server.Http.GetAsync(server.Url("/v1/projects/not-a-key/settings"));
        await HttpAssert.ProblemAsync(unknown, HttpStatusCode.Unauthorized, "unknown_write_key");
    }

    [Fact]
    public async Task Batch_ContextAndIntegrations_AreMergedIntoEachItem_ItemWins()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/batch", """
            {"batch":[
              {"type":"identify","userId":"u","traits":{"plan":"pro"},"context":{"locale":"fr-FR"}},
              {"type":"group","userId":"u","groupId":"acme","integrations":{"Mixpanel":true}}],
             "context":{"library":{"name":"batch-lib"},"locale":"en-US"},
             "integrations":{"All":false,"Mixpanel":false}}
            """);
        var stored = (await server.StoredEventsAsync()).ToDictionary(e => e.GetProperty("type").GetString()!);
        Assert.Equal("fr-FR", stored["identify"].GetProperty("context").GetProperty("locale").GetString());
        Assert.Equal("batch-lib", stored["identify"].GetProperty("context").GetProperty("library").GetProperty("name").GetString());
        Assert.Equal("en-US", stored["group"].GetProperty("context").GetProperty("locale").GetString());
        Assert.True(stored["group"].GetProperty("integrations").GetProperty("Mixpanel").GetBoolean());
        Assert.False(stored["group"].GetProperty("integrations").GetProperty("All").GetBoolean());
        Assert.Equal("acme", stored["group"].GetProperty("groupId").GetString());
    }

    [Fact]
    public async Task Batch_SomeInvalid_StoresValidOnes_ReportsAndKeepsTheRest()
    {
        await using var server = await TandemServer.StartAsync();
        using var response = await server.CollectAsync("/v1/batch", """
            {"batch":[
              {"type":"track","userId":"u","event":"Good"},
              {"type":"track","userId":"u"},
              {"type":"identify"},
              {"type":"group","userId":"u"},
              {"type":"alias","userId":"u"},
              {"type":"alias","previousId":"p"},
              {"type":"track","userId":true,"event":"E"},
              {"type":"track","userId":"u","event":"E","properties":[1,2]},
              {"type":"track","userId":"u","event":"E","timestamp":"yesterday"},
              {"type":"teleport","userId":"u"},
              {"userId":"u","event":"NoType"},
              "not an object",
              {"type":"page","anonymousId":"a","name":"Good page"}]}
            """);
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        var rejected = body.GetProperty("rejected").EnumerateArray()
            .ToDictionary(r => r.GetProperty("index").GetInt32(), r => r.GetProperty("reason").GetString());
        Assert.Equal(
            new Dictionary<int, string?>
            {
                [1] = "missing_event",
                [2] = "missing_identity",
                [3] = "missing_group_id",
                [4] = "missing_previous_id",
                [5] = "missing_user_id",
                [6] = "wrong_type",
                [7] = "wrong_type",
                [8] = "invalid_timestamp",
                [9] = "unknown_type",
                [10] = "missing_type",
                [11] = "not_an_object",
            },
            rejected);

        Assert.Equal(["Good page", null], (await server.StoredEventsAsync()).Select(e => e.TryGetProperty("name", out var n) ? n.GetString() : null));
        var kept = await server.RejectionsAsync();
        Assert.Equal(11, kept.Count);
        var wrongType = kept.Single(r => r.GetProperty("index").GetInt32() == 6);
        Assert.Equal("batch[6].userId", wrongType.GetProperty("field").GetString());
        Assert.True(wrongType.GetProperty("payload").GetProperty("userId").GetBoolean(), "the refused event is kept as sent");
    }

    public static TheoryData<string, string, string> InvalidSingleEvents => new()
    {
        { "/v1/track", """{"event":"E"}""", "missing_identity" },
        { "/v1/track", """{"userId":"u"}""", "missing_event" },
        { "/v1/track", """{"userId":"u","event":""}""", "missing_event" },
        { "/v1/identify", """{"userId":["u"]}""", "wrong_type" },
        { "/v1/identify", """{"userId":"u","traits":"vip"}""", "wrong_type" },
        { "/v1/group", """{"userId":"u"}""", "missing_group_id" },
        { "/v1/alias", """{"userId":"u"}""", "missing_previous_id" },
        { "/v1/alias", """{"previousId":"p","anonymousId":"a"}""", "missing_user_id" },
        { "/v1/page", """{"anonymousId":"a","context":5}""", "wrong_type" },
        { "/v1/screen", """{"anonymousId":"a","sentAt":12}""", "invalid_timestamp" },
        { "/v1/track", """[{"userId":"u","event":"E"}]""", "not_an_object" },
        { "/v1/track", """{"userId":"u","event":"E",""", "invalid_json" },
        { "/v1/batch", """{"batch":[]}""", "empty_batch" },
        { "/v1/batch", """{"batch":{"type":"track"}}""", "wrong_type" },
        { "/v1/batch", """{"events":[]}""", "missing_batch" },
    };

    [Theory]
    [MemberData(nameof(InvalidSingleEvents))]
    public async Task Collect_InvalidEvent_Answers400ProblemAndKeepsARejection(string route, string json, string reason)
    {
        await using var server = await TandemServer.StartAsync();
        using var response = await server.CollectAsync(route, json);
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, reason);
        Assert.Empty(await server.StoredEventsAsync());
        Assert.Equal(reason, Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Track_NumericIds_AreStoredAsStrings()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CollectAsync("/v1/track", """{"userId":42,"event":"E"}""");
        Assert.Equal("42", Assert.Single(await server.StoredEventsAsync()).GetProperty("userId").GetString());
    }

    [Fact]
    public async Task Track_EventOver32KB_IsRefused()
    {
        await using var server = await TandemServer.StartAsync();
        var big = new string('x', 33 * 1024);
        using var response = await server.CollectAsync("/v1/track", $$$"""{"userId":"u","event":"E","properties":{"blob":"{{{big}}}"}}""");
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "event_too_large");
    }

    [Fact]
    public async Task Batch_OneEventOver32KB_RefusesThatEventOnly()
    {
        await using var server = await TandemServer.StartAsync();
        var big = new string('x', 33 * 1024);
        using var response = await server.CollectAsync("/v1/batch",
            $$$"""{"batch":[{"type":"track","userId":"u","event":"Big","properties":{"blob":"{{{big}}}"}},{"type":"track","userId":"u","event":"Small"}]}""");
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("event_too_large", body.GetProperty("rejected")[0].GetProperty("reason").GetString());
        Assert.Equal("Small", Assert.Single(await server.StoredEventsAsync()).GetProperty("event").GetString());
    }

    [Fact]
    public async Task Batch_Over500KB_IsRefusedWhole()
    {
        await using var server = await TandemServer.StartAsync();
        var item = $$$"""{"type":"track","userId":"u","event":"E","properties":{"blob":"{{{new string('y', 20 * 1024)}}}"}}""";
        var json = "{\"batch\":[" + string.Join(',', Enumerable.Repeat(item, 26)) + "]}";
        Assert.True(Encoding.UTF8.GetByteCount(json) > 500 * 1024);
        using var response = await server.CollectAsync("/v1/batch", json);
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "batch_too_large");
        Assert.Empty(await server.StoredEventsAsync());
        Assert.Equal("batch_too_large", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Batch_GzipBombOver500KB_IsRefusedWithoutInflatingIt()
    {
        await using var server = await TandemServer.StartAsync();
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("{\"batch\":[\"" + new string('z', 20 * 1024 * 1024) + "\"]}"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        using var response = await server.Http.SendAsync(request);
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "batch_too_large");
    }

    [Fact]
    public async Task Batch_2500Events_IsAccepted_2501IsRefused()
    {
        await using var server = await TandemServer.StartAsync();
        static string Batch(int n) => "{\"batch\":[" + string.Join(',', Enumerable.Range(0, n).Select(i => $$"""{"type":"track","userId":"u","event":"E{{i}}"}""")) + "]}";

        using var tooMany = await server.CollectAsync("/v1/batch", Batch(2501));
        var problem = await HttpAssert.ProblemAsync(tooMany, HttpStatusCode.BadRequest, "too_many_events");
        Assert.Contains("2,501", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var ok = await server.CollectAsync("/v1/batch", Batch(2500));
        Assert.Equal(2500, (await HttpAssert.JsonAsync(ok, HttpStatusCode.OK)).GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task Batch_GzipGarbage_Answers400AndKeepsARejection()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new ByteArrayContent("definitely not gzip"u8.ToArray()) };
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        using var response = await server.Http.SendAsync(request);
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "bad_compression");
        Assert.Equal("bad_compression", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Collect_UnknownOrMissingWriteKey_Answers401()
    {
        await using var server = await TandemServer.StartAsync();
        using var unknown = await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""", writeKey: "no-such-key");
        await HttpAssert.ProblemAsync(unknown, HttpStatusCode.Unauthorized, "unknown_write_key");

        using var missing = await server.Http.PostAsync(server.Url("/v1/track"), new StringContent("""{"userId":"u","event":"E"}"""));
        await HttpAssert.ProblemAsync(missing, HttpStatusCode.Unauthorized, "unauthorized");

        using var badBasic = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent("{}") };
        badBasic.Headers.TryAddWithoutValidation("Authorization", "Basic %%%not-base64");
        using var badBasicResponse = await server.Http.SendAsync(badBasic);
        await HttpAssert.ProblemAsync(badBasicResponse, HttpStatusCode.Unauthorized, "unauthorized");

        using var scheme = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent("{}") };
        scheme.Headers.TryAddWithoutValidation("Authorization", "Digest abc");
        using var schemeResponse = await server.Http.SendAsync(scheme);
        await HttpAssert.ProblemAsync(schemeResponse, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Empty(await server.StoredEventsAsync());
    }

    [Fact]
    public async Task Collect_DisabledSource_Answers401_UntilEnabledAgain()
    {
        await using var server = await TandemServer.StartAsync();
        using (var disable = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{server.DefaultSourceId}", new { enabled = false })))
        {
            await HttpAssert.JsonAsync(disable, HttpStatusCode.OK);
        }

        using var refused = await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""");
        await HttpAssert.ProblemAsync(refused, HttpStatusCode.Unauthorized, "source_disabled");

        using (var enable = await server.Http.SendAsync(server.Admin(HttpMethod.Patch, $"/api/v1/sources/{server.DefaultSourceId}", new { enabled = true })))
        {
            await HttpAssert.JsonAsync(enable, HttpStatusCode.OK);
        }

        using var accepted = await server.CollectAsync("/v1/track", """{"userId":"u","event":"E"}""");
        await HttpAssert.JsonAsync(accepted, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Collect_NotFoundRoute_AnswersProblem()
    {
        await using var server = await TandemServer.StartAsync();
        using var response = await server.Http.PostAsync(server.Url("/v1/teleport"), new StringContent("{}"));
        await HttpAssert.ProblemAsync(response, HttpStatusCode.NotFound, "no_route");
    }

    [Fact]
    public async Task Openapi_Document_ListsCollectorAndManagementRoutes()
    {
        await using var server = await TandemServer.StartAsync();
        var document = await HttpAssert.JsonAsync(await server.Http.GetAsync(server.Url("/openapi/v1.json")), HttpStatusCode.OK);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var route in AllPostRoutes)
        {
            Assert.Contains("/v1/" + route, paths);
        }

        Assert.Contains("/api/v1/sources", paths);
        Assert.Contains("/api/v1/sources/{id}/events", paths);
        Assert.Contains("/v1/projects/{writeKey}/settings", paths);
    }
}
