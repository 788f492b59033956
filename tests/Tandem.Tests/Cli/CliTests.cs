using System.Text.Json;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Cli;

public sealed class CliTests
{
    [Fact]
    public async Task Help_ListsEveryCommand()
    {
        var (code, output, _) = await RunAsync("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "serve", "demo", "sources" })
        {
            Assert.Contains(command, output, StringComparison.Ordinal);
        }
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
        Assert.Equal(0, (await RunAsync(["sources", "rotate-key", id, .. connection])).Code);
        var changed = await server.AdminGetAsync($"/api/v1/sources/{id}");
        Assert.Equal("Web shop", changed.GetProperty("name").GetString());
        Assert.False(changed.GetProperty("enabled").GetBoolean());
        Assert.NotEqual(website.GetProperty("writeKey").GetString(), changed.GetProperty("writeKey").GetString());

        var list = await RunAsync(["sources", "list", .. connection]);
        Assert.Contains("Web shop", list.Output, StringComparison.Ordinal);
        Assert.Contains(changed.GetProperty("writeKey").GetString()!, list.Output, StringComparison.Ordinal);
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

        var unreachable = await RunAsync("sources", "list", "--url", "http://127.0.0.1:9", "--token", "x");
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

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args.AsEnumerable());

    private static async Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args.ToArray(), output, error);
        return (code, output.ToString(), error.ToString());
    }
}
