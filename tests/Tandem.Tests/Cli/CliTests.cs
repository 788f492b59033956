using System.Text.Json;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Cli;

public sealed class CliTests
{
    /// <summary>The commands the README and docs name (README "Run it", docs/collect.md, docs/trust.md, docs/privacy.md), written out here.</summary>
    private static readonly string[] Commands = ["serve", "demo", "sources", "profiles", "members", "tokens", "audit", "privacy", "retention"];

    [Fact]
    public async Task Help_ListsEveryCommandAndNoOther()
    {
        var (code, output, _) = await RunAsync("--help");
        Assert.Equal(0, code);
        var listed = output[(output.IndexOf("Commands:", StringComparison.Ordinal) + "Commands:".Length)..]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2)[0])
            .ToArray();
        Assert.Equal(Commands.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        foreach (var command in Commands)
        {
            var help = await RunAsync(command, "--help");
            Assert.True(help.Code == 0, $"{command} --help: {help.Error}");
            Assert.Contains("Usage:", help.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>One reading subcommand of every command that talks to a server, so each is known to reach it and to send the token.</summary>
    public static TheoryData<string[]> ServerReads => new()
    {
        new[] { "sources", "list" },
        new[] { "profiles", "search", "ada" },
        new[] { "members", "list" },
        new[] { "tokens", "list" },
        new[] { "audit", "list" },
        new[] { "privacy", "list" },
        new[] { "retention", "show" },
    };

    [Theory]
    [MemberData(nameof(ServerReads))]
    public async Task EveryServerCommand_RightTokenReads_WrongTokenExitsOneWith401(string[] command)
    {
        await using var server = await TandemServer.StartAsync();

        var read = await RunAsync([.. command, "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken]);
        Assert.True(read.Code == 0, $"{string.Join(' ', command)}: {read.Error}");

        var refused = await RunAsync([.. command, "--url", server.BaseAddress.ToString(), "--token", "not-the-admin-token"]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("401", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_SetShowRun_WorkAgainstARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];

        var set = await RunAsync(["retention", "set", """{"defaultDays": 395, "events": {"Page Viewed": 30}}""", .. connection]);
        Assert.True(set.Code == 0, set.Error);
        var policy = (await server.AdminGetAsync("/api/v1/retention")).GetProperty("policy");
        Assert.Equal(395, policy.GetProperty("defaultDays").GetInt32());
        Assert.Equal(30, policy.GetProperty("events").GetProperty("Page Viewed").GetInt32());

        var show = await RunAsync(["retention", "show", .. connection]);
        Assert.Contains("395", show.Output, StringComparison.Ordinal);
        Assert.Contains("last run: none yet", show.Output, StringComparison.Ordinal);

        var run = await RunAsync(["retention", "run", .. connection]);
        Assert.True(run.Code == 0, run.Error);
        Assert.Contains("completed", run.Output, StringComparison.Ordinal);
        Assert.Contains("0 events", run.Output, StringComparison.Ordinal);

        var notJson = await RunAsync(["retention", "set", "{defaultDays", .. connection]);
        Assert.Equal(1, notJson.Code);
        Assert.Contains("not valid JSON", notJson.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sources_CreateRenameDisableRotate_WorkAgainstARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];

        var (code, output, error) = await RunAsync(["sources", "create", "Website", .. connection]);
        Assert.True(code == 0, error);
        Assert.Contains("Website", output, StringComparison.Ordinal);
        var website = (await server.AdminGetAsync("/api/v1/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "Website");
        var id = website.GetProperty("id").GetString()!;

        Assert.Equal(0, (await RunAsync(["sources", "rename", id, "Web shop", .. connection])).Code);
        Assert.Equal(0, (await RunAsync(["sources", "disable", id, .. connection])).Code);
        var rotate = await RunAsync(["sources", "rotate-key", id, .. connection]);
        Assert.Equal(0, rotate.Code);
        var changed = await server.AdminGetAsync($"/api/v1/sources/{id}");
        Assert.Equal("Web shop", changed.GetProperty("name").GetString());
        Assert.False(changed.GetProperty("enabled").GetBoolean());

        // The new key is printed once, by the command that issued it; the list shows its last four characters.
        var newKey = rotate.Output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Single(w => w.Length == 32);
        Assert.EndsWith(changed.GetProperty("writeKeyEnd").GetString()!, newKey, StringComparison.Ordinal);
        Assert.False(website.TryGetProperty("writeKey", out _));
        var list = await RunAsync(["sources", "list", .. connection]);
        Assert.Contains("Web shop", list.Output, StringComparison.Ordinal);
        Assert.Contains("…" + newKey[^4..], list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(newKey, list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sources_WrongTokenOrUnknownId_ExitsNonZeroWithTheServersExplanation()
    {
        await using var server = await TandemServer.StartAsync();
        var wrongToken = await RunAsync("sources", "list", "--url", server.BaseAddress.ToString(), "--token", "nope");
        Assert.Equal(1, wrongToken.Code);
        Assert.Contains("401", wrongToken.Error, StringComparison.Ordinal);

        var unknown = await RunAsync("sources", "disable", "src_missing", "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("src_missing", unknown.Error, StringComparison.Ordinal);

        // A port just bound and released: nothing listens on it, whatever else runs on this machine.
        var unreachable = await RunAsync("sources", "list", "--url", $"http://127.0.0.1:{Cli.FreePort()}", "--token", "x");
        Assert.Equal(1, unreachable.Code);
        Assert.Contains("cannot reach", unreachable.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_SendsTrafficFromFourSourcesThroughTheCollector()
    {
        await using var server = await TandemServer.StartAsync();
        var (code, output, error) = await RunAsync("demo", "--people", "20", "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken);
        Assert.True(code == 0, error);
        Assert.Contains("demo events", output, StringComparison.Ordinal);

        var sources = (await server.AdminGetAsync("/api/v1/sources")).EnumerateArray().ToList();
        foreach (var name in new[] { "Website", "CMS", "Marketing automation", "CRM" })
        {
            var source = sources.Single(s => s.GetProperty("name").GetString() == name);
            var events = await server.StoredEventsAsync(source.GetProperty("id").GetString());
            Assert.NotEmpty(events);
            Assert.All(events, e => Assert.True(e.TryGetProperty("receivedAt", out _)));
            Assert.Empty(await server.RejectionsAsync(source.GetProperty("id").GetString()));
        }
    }

    [Fact]
    public async Task Profiles_GetSearchAndMerges_WorkAgainstARunningServer()
    {
        await using var server = await TandemServer.StartAsync();
        await Tandem.Tests.Profiles.ProfileApiTests.SendAsync(server,
            """{"type":"page","anonymousId":"a-1","messageId":"1"}""",
            """{"type":"identify","userId":"u-1","traits":{"email":"ada@example.com","plan":"pro"},"messageId":"2"}""",
            """{"type":"track","userId":"u-1","anonymousId":"a-1","event":"Signed In","messageId":"3"}""");
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];

        var traits = await RunAsync(["profiles", "get", "email:ada@example.com", .. connection]);
        Assert.True(traits.Code == 0, traits.Error);
        var profileId = JsonDocument.Parse(traits.Output).RootElement.GetProperty("profileId").GetString()!;
        Assert.Equal("pro", JsonDocument.Parse(traits.Output).RootElement.GetProperty("traits").GetProperty("plan").GetString());

        var metadata = await RunAsync(["profiles", "get", "user_id:u-1", "metadata", .. connection]);
        Assert.Equal(3, JsonDocument.Parse(metadata.Output).RootElement.GetProperty("eventCount").GetInt32());

        var search = await RunAsync(["profiles", "search", "ada", .. connection]);
        Assert.Contains(profileId, search.Output, StringComparison.Ordinal);

        var merges = await RunAsync(["profiles", "merges", profileId, .. connection]);
        Assert.Equal("3", JsonDocument.Parse(merges.Output).RootElement.GetProperty("merges")[0].GetProperty("messageId").GetString());

        var unknown = await RunAsync(["profiles", "get", "user_id:nobody", .. connection]);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("404", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Profiles_TraitsWithEmojiAndPlus_PrintedAsTheyAre()
    {
        await using var server = await TandemServer.StartAsync();
        await Tandem.Tests.Profiles.ProfileApiTests.SendAsync(server,
            """{"type":"identify","userId":"u-1","traits":{"name":"Zoë 😀","phone":"+44 20 7946 0000","note":"<b>"},"messageId":"1"}""");

        var (code, output, error) = await RunAsync("profiles", "get", "user_id:u-1", "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken);

        Assert.True(code == 0, error);
        Assert.Contains("\"name\": \"Zoë 😀\"", output, StringComparison.Ordinal);
        Assert.Contains("\"phone\": \"+44 20 7946 0000\"", output, StringComparison.Ordinal);
        Assert.Contains("\"note\": \"\\u003Cb\\u003E\"", output, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args.AsEnumerable());

    private static async Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args.ToArray(), output, error);
        return (code, output.ToString(), error.ToString());
    }
}
