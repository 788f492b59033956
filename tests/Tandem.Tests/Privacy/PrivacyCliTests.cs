using System.Net;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Privacy;

public sealed class PrivacyCliTests
{
    [Fact]
    public async Task PrivacyRequests_FiledListedAndConsentRead_FromTheCommandLine()
    {
        await using var server = await TandemServer.StartAsync();
        string[] connection = ["--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken];
        await server.CollectAsync("/v1/identify", """
            {"userId":"u-1","messageId":"m-1","traits":{"email":"ada@example.com"},"context":{"consent":{"categoryPreferences":{"marketing":true}}}}
            """);
        await server.CaughtUpAsync();

        var consent = await RunAsync(["privacy", "consent", "email:ada@example.com", .. connection]);
        Assert.True(consent.Code == 0, consent.Error);
        Assert.Contains("\"status\": \"granted\"", consent.Output, StringComparison.Ordinal);

        var export = await RunAsync(["privacy", "request", "export", "user_id:u-1", .. connection]);
        Assert.True(export.Code == 0, export.Error);
        Assert.Contains("\"value\": \"ada@example.com\"", export.Output, StringComparison.Ordinal);

        var delete = await RunAsync(["privacy", "request", "delete", "user_id:u-1", .. connection]);
        Assert.True(delete.Code == 0, delete.Error);
        var list = await RunAsync(["privacy", "list", .. connection]);
        Assert.Contains("delete", list.Output, StringComparison.Ordinal);
        Assert.Contains("user_id:u***", list.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.SendAsync(server.Admin(HttpMethod.Get, "/v1/profiles/user_id:u-1/traits"))).StatusCode);

        var wrongType = await RunAsync(["privacy", "request", "erase", "user_id:u-1", .. connection]);
        Assert.NotEqual(0, wrongType.Code);
        var badIdentifier = await RunAsync(["privacy", "request", "delete", "nocolon", .. connection]);
        Assert.Equal(1, badIdentifier.Code);
        Assert.Contains("type:value", badIdentifier.Error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
