using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// The findings of the hostile-input trial, each reproduced through the real HTTP collector: valid events
/// beside a bad one are kept, what is stored is valid UTF-8, and nothing answers 500.
/// </summary>
public sealed class HostileInputTests
{
    private const string Replacement = "\uFFFD";

    private static async Task<HttpResponseMessage> PostBytesAsync(TandemServer server, string route, byte[] body, string? contentEncoding = null,
        string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url(route)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (contentEncoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(contentEncoding);
        }

        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);
        return await server.Http.SendAsync(request);
    }

    /// <summary>Builds a body from ASCII JSON text with raw bytes spliced in where the text says <c>{{BAD}}</c>.</summary>
    private static byte[] WithBytes(string asciiJson, params byte[] bad)
    {
        var parts = asciiJson.Split("{{BAD}}");
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(parts[0]));
        for (var i = 1; i < parts.Length; i++)
        {
            bytes.AddRange(bad);
            bytes.AddRange(Encoding.ASCII.GetBytes(parts[i]));
        }

        return [.. bytes];
    }

    public static TheoryData<string, string> BadTextInIdentifiers => new()
    {
        // the field, and the event that carries bad text there
        { "userId (lone surrogate)", """{"type":"identify","userId":"zo\ud83d","messageId":"bad-1"}""" },
        { "anonymousId (lone low surrogate)", """{"type":"page","anonymousId":"\udc00x","messageId":"bad-1"}""" },
        { "traits.email", """{"type":"identify","userId":"u-bad","traits":{"email":"Zo\u00eb\ud83d"},"messageId":"bad-1"}""" },
        { "context.traits.email", """{"type":"track","userId":"u-bad","event":"E","context":{"traits":{"email":"x\ud83d@example.com"}},"messageId":"bad-1"}""" },
    };

    [Theory]
    [MemberData(nameof(BadTextInIdentifiers))]
    public async Task Batch_LoneSurrogateInAnIdentifierWhileSuppressing_KeepsEveryEventAndRepairsTheText(string where, string bad)
    {
        _ = where;
        await using var server = await TandemServer.StartAsync();
        // Any suppression in force made the collector read identifiers, and a lone surrogate made that throw.
        using (var suppress = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "suppress", identifier = "email:gone@example.com" }))
        {
            await HttpAssert.JsonAsync(await server.Http.SendAsync(suppress), HttpStatusCode.Created);
        }

        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"u-1","event":"A","messageId":"ok-1"},
              {{bad}},
              {"type":"track","userId":"u-2","event":"B","messageId":"ok-2"},
              {"type":"track","userId":"u-3","event":"C","messageId":"ok-3"}]}
            """;
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", batch), HttpStatusCode.OK);
        Assert.Equal(4, answer.GetProperty("accepted").GetInt32());
        var repaired = Assert.Single(answer.GetProperty("repaired").EnumerateArray());
        Assert.Equal(1, repaired.GetProperty("index").GetInt32());
        Assert.Equal("invalid_unicode", repaired.GetProperty("reason").GetString());

        var stored = await server.StoredEventsAsync();
        Assert.Equal(["bad-1", "ok-1", "ok-2", "ok-3"], stored.Select(e => e.GetProperty("messageId").GetString()).Order(StringComparer.Ordinal));
        var repairedEvent = stored.Single(e => e.GetProperty("messageId").GetString() == "bad-1");
        Assert.Contains(AllText(repairedEvent), text => text.Contains(Replacement, StringComparison.Ordinal));
    }

    public static TheoryData<string, byte[]> InvalidUtf8 => new()
    {
        { "Latin-1 é", [0xE9] },
        { "overlong /", [0xC0, 0xAF] },
        { "UTF-8 encoded surrogate", [0xED, 0xA0, 0xBD] },
        { "cut 4-byte sequence", [0xF0, 0x9F, 0x98] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task Track_InvalidUtf8InEveryField_IsStoredAsReplacementCharacters(string what, byte[] bad)
    {
        _ = what;
        await using var server = await TandemServer.StartAsync();
        var body = WithBytes("""
            {"userId":"u-{{BAD}}","event":"caf{{BAD}}","messageId":"m-{{BAD}}","timestamp":"2026-11-23T11:00:00Z",
             "context":{"k{{BAD}}":"v"},"properties":{"name":"caf{{BAD}}"}}
            """, bad);
        var answer = await HttpAssert.JsonAsync(await PostBytesAsync(server, "/v1/track", body), HttpStatusCode.OK);
        Assert.Equal("body", Assert.Single(answer.GetProperty("repaired").EnumerateArray()).GetProperty("field").GetString());

        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.StartsWith("u-" + Replacement, stored.GetProperty("userId").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("caf" + Replacement, stored.GetProperty("event").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("m-" + Replacement, stored.GetProperty("messageId").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("caf" + Replacement, stored.GetProperty("properties").GetProperty("name").GetString(), StringComparison.Ordinal);
        Assert.Contains(stored.GetProperty("context").EnumerateObject(), p => p.Name.StartsWith("k" + Replacement, StringComparison.Ordinal));

        // The processor applies it: the customer exists, under the repaired id.
        await server.CaughtUpAsync();
        var events = await server.AdminGetAsync("/v1/profiles/user_id:" + Uri.EscapeDataString(stored.GetProperty("userId").GetString()!) + "/events?limit=1");
        Assert.Contains("caf" + Replacement, events.GetRawText().Replace("\\uFFFD", Replacement, StringComparison.OrdinalIgnoreCase), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_MessageIdsThatRepairToTheSameText_AreNotDuplicatesButTheirRetriesAre()
    {
        // "m\ud83d" and "m\ud83e" both read "m�": the second must not be dropped as a retry of the first.
        await using var server = await TandemServer.StartAsync();
        const string batch = """
            {"batch":[{"type":"track","userId":"u","event":"A","messageId":"m\ud83d"},{"type":"track","userId":"u","event":"B","messageId":"m\ud83e"}]}
            """;
        var first = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", batch), HttpStatusCode.OK);
        Assert.Equal((2, 0), (first.GetProperty("accepted").GetInt32(), first.GetProperty("deduplicated").GetInt32()));

        var retry = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", batch), HttpStatusCode.OK);
        Assert.Equal(2, retry.GetProperty("deduplicated").GetInt32());
        var ids = (await server.StoredEventsAsync()).Select(e => e.GetProperty("messageId").GetString()!).ToList();
        Assert.Equal(2, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.StartsWith("m" + Replacement + "~", id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Batch_TimestampYear9999WithSentAt1970_KeepsTheSiblingAndClampsToReceivedAt()
    {
        await using var server = await TandemServer.StartAsync();
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", """
            {"batch":[
              {"type":"track","userId":"u-1","event":"Far","timestamp":"9999-12-31T23:59:59Z","sentAt":"1970-01-01T00:00:00Z","messageId":"far"},
              {"type":"track","userId":"u-1","event":"Near","messageId":"near"}]}
            """), HttpStatusCode.OK);
        Assert.Equal(2, answer.GetProperty("accepted").GetInt32());
        var note = Assert.Single(answer.GetProperty("repaired").EnumerateArray());
        Assert.Equal("timestamp_out_of_range", note.GetProperty("reason").GetString());
        Assert.Equal("batch[0].timestamp", note.GetProperty("field").GetString());

        var far = (await server.StoredEventsAsync()).Single(e => e.GetProperty("messageId").GetString() == "far");
        Assert.Equal(far.GetProperty("receivedAt").GetString(), far.GetProperty("timestamp").GetString());
        Assert.Equal("9999-12-31T23:59:59.000Z", far.GetProperty("originalTimestamp").GetString());
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59Z")] // far future alone
    [InlineData("1969-12-31T23:59:59Z")] // before the epoch
    [InlineData("0001-01-01T00:00:00Z")]
    public async Task Track_TimestampOutsideTheSaneRange_DoesNotMoveFirstAndLastSeen(string timestamp)
    {
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", $$"""{"userId":"odd-time","event":"E","timestamp":"{{timestamp}}"}"""), HttpStatusCode.OK);
        var stored = Assert.Single(await server.StoredEventsAsync());
        Assert.Equal(stored.GetProperty("receivedAt").GetString(), stored.GetProperty("timestamp").GetString());

        await server.CaughtUpAsync();
        var metadata = await server.AdminGetAsync("/v1/profiles/user_id:odd-time/metadata");
        Assert.DoesNotContain("9999", metadata.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("1969", metadata.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Track_TimestampHalfADayAhead_IsKeptAsSkew()
    {
        // A device clock a few hours off is ordinary skew, not an impossible time.
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":"E","timestamp":"2026-11-24T00:00:00Z"}"""), HttpStatusCode.OK);
        Assert.Equal("2026-11-24T00:00:00.000Z", Assert.Single(await server.StoredEventsAsync()).GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Track_BodyWithByteOrderMark_IsAccepted()
    {
        await using var server = await TandemServer.StartAsync();
        byte[] body = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"userId":"bom","event":"E"}""")];
        await HttpAssert.JsonAsync(await PostBytesAsync(server, "/v1/track", body, contentType: "text/plain"), HttpStatusCode.OK);
        Assert.Equal("bom", Assert.Single(await server.StoredEventsAsync()).GetProperty("userId").GetString());
    }

    [Theory]
    [InlineData("""{"type":"identify","userId":"   "}""", "batch[0].userId")]
    [InlineData("""{"type":"page","anonymousId":"\t \u00a0"}""", "batch[0].anonymousId")]
    [InlineData("""{"type":"track","userId":"\u0020","anonymousId":"a-1","event":"E"}""", "batch[0].userId")]
    public async Task Batch_WhitespaceOnlyIdentifier_IsRefusedWithItsFieldAndKept(string bad, string field)
    {
        await using var server = await TandemServer.StartAsync();
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", $$"""
            {"batch":[{{bad}},{"type":"track","userId":"u-ok","event":"E"}]}
            """), HttpStatusCode.OK);
        var refused = Assert.Single(answer.GetProperty("rejected").EnumerateArray());
        Assert.Equal("blank_identifier", refused.GetProperty("reason").GetString());
        Assert.Equal(field, refused.GetProperty("field").GetString());
        Assert.Equal("u-ok", Assert.Single(await server.StoredEventsAsync()).GetProperty("userId").GetString());
        Assert.Equal("blank_identifier", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Track_EventNameOfTheWrongType_SaysTheTypeIsWrong()
    {
        await using var server = await TandemServer.StartAsync();
        var problem = await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/track", """{"userId":"u","event":5}"""),
            HttpStatusCode.BadRequest, "wrong_type");
        Assert.Equal("body.event", problem.GetProperty("field").GetString());
        Assert.Contains("number", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Track_NestingPastTheLimit_SaysTheDepthAndTheLimit()
    {
        await using var server = await TandemServer.StartAsync();
        var deep = new string('[', 70) + new string(']', 70);
        var problem = await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/track", "{\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"x\":" + deep + "}}"),
            HttpStatusCode.BadRequest, "too_deep");
        Assert.Contains("64", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("too_deep", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Track_NestingAtTheLimit_IsAccepted()
    {
        await using var server = await TandemServer.StartAsync();
        // The body object is level 1 and properties level 2: 62 arrays inside reach 64.
        var deep = new string('[', 62) + new string(']', 62);
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/track", "{\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"x\":" + deep + "}}"),
            HttpStatusCode.OK);
    }

    [Fact]
    public async Task Batch_IdentifierLongerThan1024Bytes_IsRefusedAndTheSiblingKept()
    {
        // A profile is looked up by its identifier in the URL path, which servers cap at a few KB.
        await using var server = await TandemServer.StartAsync();
        var longId = new string('x', 1025);
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", $$"""
            {"batch":[{"type":"page","anonymousId":"{{longId}}"},{"type":"page","anonymousId":"{{longId[..1024]}}"}]}
            """), HttpStatusCode.OK);
        var refused = Assert.Single(answer.GetProperty("rejected").EnumerateArray());
        Assert.Equal(("identifier_too_long", "batch[0].anonymousId"), (refused.GetProperty("reason").GetString(), refused.GetProperty("field").GetString()));
        Assert.Equal(1024, Assert.Single(await server.StoredEventsAsync()).GetProperty("anonymousId").GetString()!.Length);

        // Bytes of the text, not of its escapes: 512 "é" sent as \u00e9 are 1,024 bytes, and kept.
        var escaped = string.Concat(Enumerable.Repeat("\\u00e9", 512));
        await HttpAssert.JsonAsync(await server.CollectAsync("/v1/page", $$"""{"anonymousId":"{{escaped}}"}"""), HttpStatusCode.OK);
        await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/page", $$"""{"anonymousId":"x{{escaped}}"}"""), HttpStatusCode.BadRequest, "identifier_too_long");
    }

    [Theory]
    [InlineData("""{"type":"identify","userId":"a\u0000b"}""", "batch[0].userId")]
    [InlineData("""{"type":"page","anonymousId":"line\nbreak"}""", "batch[0].anonymousId")]
    public async Task Batch_ControlCharacterInAnIdentifier_IsRefusedWithItsField(string bad, string field)
    {
        // Such a customer could never be looked up: no URL path carries a NUL or a line break.
        await using var server = await TandemServer.StartAsync();
        var answer = await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", $$"""{"batch":[{{bad}},{"type":"page","anonymousId":"fine"}]}"""),
            HttpStatusCode.OK);
        var refused = Assert.Single(answer.GetProperty("rejected").EnumerateArray());
        Assert.Equal(("invalid_identifier", field), (refused.GetProperty("reason").GetString(), refused.GetProperty("field").GetString()));
        Assert.Equal("fine", Assert.Single(await server.StoredEventsAsync()).GetProperty("anonymousId").GetString());
    }

    [Fact]
    public async Task Rejections_RefusedEventNestedToTheLimit_AreReadable()
    {
        // The feed wraps each refused event in three levels of its own: an event nested to the limit still reads.
        await using var server = await TandemServer.StartAsync();
        var deep = new string('[', 61) + new string(']', 61);
        await HttpAssert.ProblemAsync(await server.CollectAsync("/v1/batch", "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\",\"properties\":" + deep + "}]}"),
            HttpStatusCode.BadRequest, "wrong_type");
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/api/v1/sources/{server.DefaultSourceId}/rejections"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync(), new JsonDocumentOptions { MaxDepth = 128 });
        Assert.Equal("wrong_type", Assert.Single(page.RootElement.GetProperty("rejections").EnumerateArray()).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Batch_EmptyBodyLabelledGzip_IsAnEmptyBodyNotACompressionError()
    {
        await using var server = await TandemServer.StartAsync();
        await HttpAssert.ProblemAsync(await PostBytesAsync(server, "/v1/batch", [], "gzip"), HttpStatusCode.BadRequest, "invalid_json");
    }

    public static TheoryData<string> Encodings => new() { "gzip", "deflate", "br" };

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Batch_TruncatedCompressedBody_IsACompressionError(string encoding)
    {
        await using var server = await TandemServer.StartAsync();
        var json = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 50).Select(i => $$"""{"type":"track","userId":"u{{i}}","event":"E{{i}}"}""")) + "]}";
        var compressed = CompressedBody.Compress(Encoding.UTF8.GetBytes(json), encoding);
        var truncated = compressed[..(compressed.Length / 2)];
        await HttpAssert.ProblemAsync(await PostBytesAsync(server, "/v1/batch", truncated, encoding), HttpStatusCode.BadRequest, "bad_compression");

        // The whole body is still accepted, so the check does not refuse good uploads.
        var answer = await HttpAssert.JsonAsync(await PostBytesAsync(server, "/v1/batch", compressed, encoding), HttpStatusCode.OK);
        Assert.Equal(50, answer.GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task Batch_CompressedBodyWithInvalidJson_IsStillInvalidJson()
    {
        await using var server = await TandemServer.StartAsync();
        var compressed = CompressedBody.Compress(Encoding.UTF8.GetBytes("""{"batch":[{"type":"track",}]}"""), "gzip");
        await HttpAssert.ProblemAsync(await PostBytesAsync(server, "/v1/batch", compressed, "gzip"), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task Track_InvalidJsonWithInvalidUtf8_KeepsAValidUtf8Sample()
    {
        await using var server = await TandemServer.StartAsync();
        var body = WithBytes("""{"userId":"caf{{BAD}}","event":""", 0xE9);
        await HttpAssert.ProblemAsync(await PostBytesAsync(server, "/v1/track", body), HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal("invalid_json", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());

        // The API masks a sample that is not JSON, so look at what the log keeps.
        var sourceKey = server.Services.GetRequiredService<Tandem.Sources.SourceRegistry>().FindByWriteKey(server.WriteKey)!.Key;
        var kept = Assert.Single(server.Services.GetRequiredService<Tandem.Storage.Sqlite.IngestLog>().ReadRejections(sourceKey, 10)).Payload;
        Assert.True(System.Text.Unicode.Utf8.IsValid(kept));
        Assert.StartsWith("{\"userId\":\"caf" + Replacement, Encoding.UTF8.GetString(kept), StringComparison.Ordinal);
    }

    /// <summary>Every property name and string value in <paramref name="e"/>, read as .NET strings (which throws on invalid text).</summary>
    private static IEnumerable<string> AllText(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                yield return e.GetString()!;
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    yield return p.Name;
                    foreach (var inner in AllText(p.Value))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var inner in e.EnumerateArray().SelectMany(AllText))
                {
                    yield return inner;
                }

                break;
            default:
                break;
        }
    }

}
