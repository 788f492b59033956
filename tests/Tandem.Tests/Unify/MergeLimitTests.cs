using System.Net;
using Tandem.Tests.Support;

namespace Tandem.Tests.Unify;

/// <summary>
/// Every identifier type's limit per profile, at the limit and one past it, both when a new value joins a
/// profile and when two profiles would merge. The limits are written out as docs/unify.md "Identifiers"
/// states the defaults: user_id 1, email 5, phone 5, anonymous_id 5, a custom type 5 unless set.
/// </summary>
public sealed class MergeLimitTests
{
    private const string Custom = "loyalty_id";

    public static TheoryData<string, int> Limits => new()
    {
        { "user_id", 1 },
        { "email", 5 },
        { "phone", 5 },
        { "anonymous_id", 5 },
        { Custom, 5 },
    };

    /// <summary>Not user_id: an event carries one userId, so a user id never joins a profile holding another (the merge test covers it).</summary>
    public static TheoryData<string, int> JoinLimits => new()
    {
        { "email", 5 },
        { "phone", 5 },
        { "anonymous_id", 5 },
        { Custom, 5 },
    };

    [Theory]
    [MemberData(nameof(JoinLimits))]
    public async Task ANewValue_JoinsAProfileHoldingOneLessThanTheLimit_AndIsDeclinedByOneHoldingTheLimit(string type, int limit)
    {
        await using var server = await StartAsync();
        var events = Enumerable.Range(1, limit + 1).Select(i => Event(("user_id", "anchor"), (type, Value(type, "join", i)))).ToArray();
        await SendAsync(server, events);

        var anchor = await ProfileIdAsync(server, "user_id", "anchor");
        Assert.Equal(anchor, await ProfileIdAsync(server, type, Value(type, "join", limit)));
        Assert.Null(await ProfileIdAsync(server, type, Value(type, "join", limit + 1)));
        var declined = (await server.AdminGetAsync($"/api/v1/profiles/{anchor}/merges")).GetProperty("declined");
        Assert.Contains(declined.EnumerateArray(), d => d.GetProperty("identifier").GetString() == $"{type}:{Value(type, "join", limit + 1)}");
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public async Task TwoProfiles_MergeWhenTheirValuesTogetherReachTheLimit_AndNotWhenTheyPassIt(string type, int limit)
    {
        await using var server = await StartAsync();
        await BuildTwoProfilesAsync(server, type, "at", limit);
        await BuildTwoProfilesAsync(server, type, "over", limit + 1);

        Assert.Equal(await ProfileIdAsync(server, "user_id", Left("at")), await ProfileIdAsync(server, Link(type).Type, Link(type).Value("at")));
        Assert.NotEqual(await ProfileIdAsync(server, "user_id", Left("over")), await ProfileIdAsync(server, Link(type).Type, Link(type).Value("over")));
    }

    /// <summary>
    /// A profile of user id "left" and one found by a link identifier, holding <paramref name="total"/>
    /// values of <paramref name="type"/> between them, then an event carrying both.
    /// </summary>
    private static async Task BuildTwoProfilesAsync(TandemServer server, string type, string name, int total)
    {
        var link = (Link(type).Type, Link(type).Value(name));
        var left = type == "user_id" ? 1 : 2; // the left profile's own user id counts when the type is user_id
        var events = new List<string> { Event(("user_id", Left(name))) };
        events.AddRange(Enumerable.Range(1, type == "user_id" ? 0 : left).Select(i => Event(("user_id", Left(name)), (type, Value(type, name + "-l", i)))));
        if (type != "anonymous_id")
        {
            events.Add(Event(link)); // an email alone is no event (it needs a userId or anonymousId); its values start it then
        }

        events.AddRange(Enumerable.Range(1, total - left).Select(i => Event(link, (type, Value(type, name + "-r", i)))));
        events.Add(Event(("user_id", Left(name)), link));
        await SendAsync(server, [.. events]);
    }

    private static string Left(string name) => "left-" + name;

    /// <summary>The identifier that ties the second profile to the first: one of another type, weaker than a user id.</summary>
    private static (string Type, Func<string, string> Value) Link(string type) =>
        type == "anonymous_id" ? ("email", name => $"link-{name}@example.com") : ("anonymous_id", name => "link-" + name);

    private static string Value(string type, string name, int i) => type switch
    {
        "email" => $"{name}-{i}@example.com",
        _ => $"{name}-{i}",
    };

    private static string Event(params (string Type, string Value)[] identifiers)
    {
        var fields = new List<string> { "\"type\":\"identify\"" };
        var traits = new List<string>();
        foreach (var (type, value) in identifiers)
        {
            switch (type)
            {
                case "user_id": fields.Add($"\"userId\":\"{value}\""); break;
                case "anonymous_id": fields.Add($"\"anonymousId\":\"{value}\""); break;
                case "email" or "phone": traits.Add($"\"{type}\":\"{value}\""); break;
                default: fields.Add("\"context\":{\"externalIds\":[{\"id\":\"" + value + "\",\"type\":\"" + type + "\",\"collection\":\"users\"}]}"); break;
            }
        }

        if (traits.Count > 0)
        {
            fields.Add("\"traits\":{" + string.Join(',', traits) + "}");
        }

        return "{" + string.Join(',', fields) + "}";
    }

    private static async Task<TandemServer> StartAsync()
    {
        var server = await TandemServer.StartAsync();
        // A custom type created without a limit gets the documented default.
        using var created = await server.Http.SendAsync(server.Admin(HttpMethod.Put, $"/api/v1/identity/types/{Custom}", new { }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return server;
    }

    private static async Task SendAsync(TandemServer server, string[] events)
    {
        // One event per request, in order: the algorithm applies them in log order.
        foreach (var json in events)
        {
            using var response = await server.CollectAsync("/v1/batch", "{\"batch\":[" + json + "]}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await server.CaughtUpAsync();
    }

    private static async Task<string?> ProfileIdAsync(TandemServer server, string type, string value)
    {
        using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/v1/profiles/{type}:{Uri.EscapeDataString(value)}/metadata"));
        return response.StatusCode == HttpStatusCode.NotFound
            ? null
            : (await HttpAssert.JsonAsync(response, HttpStatusCode.OK)).GetProperty("profileId").GetString();
    }
}
