using System.Net;
using System.Text;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// docs/collect.md, Answers: the exact shape of a 200 and of a refusal, as the page prints them, and what
/// each lists (rejected beside repaired), plus the write key's Bearer form and a cut stream nested too deep.
/// </summary>
public sealed class CollectorAnswerTests
{
    // The page's own example of a refusal, field for field.
    [Fact]
    public async Task Track_WithoutEvent_AnswersThePagesExampleProblem()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.CollectAsync("/v1/track", """{"userId":"u-1"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "missing_event");
        Assert.Equal("urn:tandem:problem:missing_event", problem.GetProperty("type").GetString());
        Assert.Equal("The event was refused", problem.GetProperty("title").GetString());
        Assert.Equal("A track call needs \"event\": the non-empty name of the action, e.g. \"Order Completed\".", problem.GetProperty("detail").GetString());
        Assert.Equal("missing_event", problem.GetProperty("code").GetString());
        Assert.Equal("body.event", problem.GetProperty("field").GetString());
    }

    // "400 ... every event in it was refused (then rejected lists them all)".
    [Fact]
    public async Task Batch_EveryEventRefused_400ListsThemAllAndNamesTheFirst()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.CollectAsync("/v1/batch", """
            {"batch":[{"type":"track","userId":"u-1"},{"type":"identify"}]}
            """);

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "missing_event");
        Assert.Equal("batch[0].event", problem.GetProperty("field").GetString());
        Assert.Contains("batch[0].event", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(
            [(0, "missing_event", "batch[0].event"), (1, "missing_identity", "batch[1]")],
            problem.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("reason").GetString(), r.GetProperty("field").GetString())));
        Assert.Empty(await server.StoredEventsAsync());
        Assert.Equal(2, (await server.RejectionsAsync()).Count);
    }

    // "200 {"success":true,"accepted":N,"deduplicated":N}": nothing more when nothing was refused or repaired.
    [Fact]
    public async Task Track_Stored_AnswersExactlyTheDocumentedJson()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.CollectAsync("/v1/track", """{"userId":"u-1","event":"Plain"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"success":true,"accepted":1,"deduplicated":0}""", await response.Content.ReadAsStringAsync());
    }

    // "Refused events are already listed in rejected": a refused event with broken text is not also listed as repaired.
    [Fact]
    public async Task Batch_RefusedAndStoredEventsBothWithBrokenText_OnlyTheStoredOneIsRepaired()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.CollectAsync("/v1/batch", """
            {"batch":[{"type":"track","userId":"u-1\ud83d"},{"type":"track","userId":"u-2\ud83d","event":"Kept"}]}
            """);

        var answer = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(1, answer.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(answer.GetProperty("rejected").EnumerateArray());
        Assert.Equal((0, "missing_event"), (rejected.GetProperty("index").GetInt32(), rejected.GetProperty("reason").GetString()));
        var repaired = Assert.Single(answer.GetProperty("repaired").EnumerateArray());
        Assert.Equal((1, "invalid_unicode"), (repaired.GetProperty("index").GetInt32(), repaired.GetProperty("reason").GetString()));
    }

    // RFC 7235 lets one or more spaces follow the scheme: "Bearer   KEY" carries the key KEY.
    [Fact]
    public async Task Track_BearerKeyAfterSeveralSpaces_IsTheSourcesKey()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/track")) { Content = new StringContent("""{"userId":"u-1","event":"Spaced"}""", Encoding.UTF8, "text/plain") };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer   " + server.WriteKey);

        await HttpAssert.JsonAsync(await server.Http.SendAsync(request), HttpStatusCode.OK);

        Assert.Equal("Spaced", Assert.Single(await server.StoredEventsAsync()).GetProperty("event").GetString());
    }

    // The stream check runs when the JSON does not parse, and nesting past 64 is such a case: a cut stream
    // says it is cut, whatever its first part looked like.
    [Fact]
    public async Task Batch_CutGzipOfABodyNestedTooDeep_IsBadCompression()
    {
        await using var server = await TandemServer.StartAsync();
        var deep = "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"x\":" + new string('[', 100) + new string(']', 100) + "}}]}";
        var whole = CompressedBody.Compress(Encoding.UTF8.GetBytes(deep), "gzip");

        var problem = await HttpAssert.ProblemAsync(await CompressedBody.PostBatchAsync(server, whole[..^4], "gzip"), HttpStatusCode.BadRequest, "bad_compression");
        Assert.Contains("gzip", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("bad_compression", Assert.Single(await server.RejectionsAsync()).GetProperty("reason").GetString());
    }
}
