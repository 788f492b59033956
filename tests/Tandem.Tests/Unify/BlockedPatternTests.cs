using System.Net;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// Blocked patterns run against every identifier on the processor's one loop: what an admin may save is
/// bounded, so no setting can stall every customer's events (issue 15: 40 patterns and a 30 KB userId
/// took 4.8 s per event).
/// </summary>
public sealed class BlockedPatternTests
{
    [Fact]
    public async Task PutType_FortyPatterns_TooManyPatterns()
    {
        await using var server = await TandemServer.StartAsync();
        var patterns = Enumerable.Range(0, 40).Select(i => $"^spam{i}[0-9]*@").ToArray();

        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/identity/types/user_id", new { blockedPatterns = patterns })),
            HttpStatusCode.BadRequest, "too_many_patterns");

        Assert.Equal("blockedPatterns", problem.GetProperty("field").GetString());
        var types = await server.AdminGetAsync("/api/v1/identity/types");
        Assert.Empty(types.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "user_id").GetProperty("blockedPatterns").EnumerateArray());
    }

    [Fact]
    public async Task Identify_ThirtyKilobyteUserId_RefusedByTheCollector()
    {
        await using var server = await TandemServer.StartAsync();

        using var response = await server.CollectAsync("/v1/identify", $$"""{"userId":"{{new string('a', 30 * 1024)}}"}""");

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "identifier_too_long");
    }

    [Theory]
    [InlineData("(a+)+$", "pattern_too_costly")]
    [InlineData("^(\\w+\\s?)*$", "pattern_too_costly")]
    [InlineData("(.*a){20}x", "pattern_too_costly")]
    [InlineData("(a|b|c|ab|bc|ca){1,10}z", "pattern_too_costly")]
    [InlineData(".{0,5000}x", "pattern_too_costly")]
    [InlineData("(a)\\1", "invalid_field")]
    public async Task PutType_PathologicalPattern_RefusedWithItsField(string pattern, string reason)
    {
        await using var server = await TandemServer.StartAsync();

        var problem = await HttpAssert.ProblemAsync(
            await server.Http.SendAsync(server.Admin(HttpMethod.Put, "/api/v1/identity/types/email", new { blockedPatterns = (string[])["@mailinator\\.com$", pattern] })),
            HttpStatusCode.BadRequest, reason);

        Assert.Equal("blockedPatterns[1]", problem.GetProperty("field").GetString());
    }

    [Fact]
    public void Check_TooManyValuesOrTooMuchText_Refused()
    {
        Assert.Equal("too_many_blocked_values", BlockedPatterns.Check(Enumerable.Range(0, 10_001).Select(i => "v" + i).ToArray(), null)?.Reason);
        Assert.Equal("pattern_too_long", BlockedPatterns.Check(null, [new string('a', 201)])?.Reason);
        Assert.Equal("patterns_too_large", BlockedPatterns.Check(null, Enumerable.Range(0, 20).Select(i => new string('a', 150)).ToArray())?.Reason);
    }

    [Theory]
    [InlineData("@mailinator\\.com$")]
    [InlineData("^test.*@example\\.com$")]
    [InlineData("(?i)^(test|fake|dummy|noreply)[0-9]*@")]
    [InlineData("^\\+?1?555[0-9]{7}$")]
    [InlineData("^[^@]+@(guerrillamail|sharklasers)\\.(com|net)$")]
    [InlineData("^(ab)+$")]
    [InlineData("a{2}b{0,100}[a-z-[aeiou]]*\\p{L}+")]
    [InlineData("literal {brace}")]
    public void Check_EverydayPatterns_Accepted(string pattern) => Assert.Null(BlockedPatterns.Check(["test@example.com"], [pattern]));
}
