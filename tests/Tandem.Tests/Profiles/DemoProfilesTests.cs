using Tandem.Cli;
using Tandem.Sources;
using Tandem.Tests.Support;
using Xunit;
using static Tandem.Tests.Profiles.ProfileApiTests;

namespace Tandem.Tests.Profiles;

public sealed class DemoProfilesTests
{
    [Fact]
    public async Task Demo_JoinsCustomersAcrossWebsiteCmsMarketingAutomationAndCrm()
    {
        await using var server = await TandemServer.StartAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(["demo", "--people", "60", "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken], output, error);
        Assert.True(code == 0, error.ToString());
        await server.CaughtUpAsync();

        var registry = (SourceRegistry)server.Services.GetService(typeof(SourceRegistry))!;
        var demoKeys = Tandem.Demo.DemoSources.All.Select(n => registry.All.Single(s => s.Name == n).Key).ToArray();
        var (everywhere, merged, crmLinked, overLimit) = Processor(server).Read(engine => (
            engine.Profiles.Count(p => demoKeys.All(p.EventsBySource.ContainsKey)),
            engine.Profiles.Count(p => p.Merges.Count > 0),
            engine.Profiles.Count(p => p.Identifiers.Any(i => i.Identifier.Type == "salesforce_contact_id")),
            engine.Profiles.Count(p => p.Identifiers.Count(i => i.Identifier.Type == "user_id") > 1)));

        Assert.True(everywhere > 0, "no demo customer has events from all four sources in one profile");
        Assert.True(merged > 0, "no demo profile records a merge");
        Assert.True(crmLinked > 0, "no demo profile holds a Salesforce contact id");
        Assert.Equal(0, overLimit);

        // Cookie-banner answers ride on website events: a marketing export uses some customers and skips others.
        using var export = server.Admin(HttpMethod.Post, "/api/v1/exports/profiles", new { use = "demo check", purposes = new[] { "marketing" }, limit = 1000 });
        var page = await HttpAssert.JsonAsync(await server.Http.SendAsync(export), System.Net.HttpStatusCode.OK);
        Assert.True(page.GetProperty("exported").GetInt32() > 0, "no demo customer consented to marketing");
        Assert.True(page.GetProperty("skipped").GetInt32() > 0, "no demo customer was skipped for lack of marketing consent");
    }
}
