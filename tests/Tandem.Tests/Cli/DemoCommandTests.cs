using System.Text.Json;
using Tandem.Cli;
using Tandem.Demo;
using Tandem.Tests.Support;

namespace Tandem.Tests.Cli;

/// <summary><c>./tandem demo</c> against a real server: what it reports, and what a second run does.</summary>
public sealed class DemoCommandTests
{
    [Fact]
    public async Task Demo_SentTwice_SecondRunReportsEveryEventAsADuplicate()
    {
        await using var server = await TandemServer.StartAsync();

        var first = await DemoAsync(server, 15);
        var second = await DemoAsync(server, 15);

        Assert.True(first.Code == 0, first.Error);
        var sent = SentCount(first.Output);
        Assert.True(sent > 0);
        Assert.Contains($"{sent:N0} new, 0 duplicates", first.Output, StringComparison.Ordinal);
        Assert.True(second.Code == 0, second.Error);
        Assert.Equal(sent, SentCount(second.Output));
        Assert.Contains($": 0 new, {sent:N0} duplicates (already sent within the dedup window)", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_MorePeopleAfterFewer_KeepsEachUserIdWithItsOwnPerson()
    {
        await using var server = await TandemServer.StartAsync();

        var first = await DemoAsync(server, 12);
        var second = await DemoAsync(server, 30);
        await server.CaughtUpAsync();

        Assert.True(first.Code == 0 && second.Code == 0, first.Error + second.Error);
        Assert.Contains(" duplicates (already sent", second.Output, StringComparison.Ordinal);
        var people = new DemoTraffic(DemoCommand.Seed, DateTimeOffset.UnixEpoch).People(30);
        var signedUp = 0;
        foreach (var person in people)
        {
            using var response = await server.Http.SendAsync(server.Admin(HttpMethod.Get, $"/v1/profiles/user_id:{person.UserId}/identifiers"),
                TestContext.Current.CancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                continue; // never signed up: no user id anywhere
            }

            var identifiers = await HttpAssert.JsonAsync(response, System.Net.HttpStatusCode.OK);
            var emails = identifiers.GetProperty("data").EnumerateArray()
                .Where(i => i.GetProperty("type").GetString() == "email").Select(i => i.GetProperty("value").GetString()).ToList();
            var userIds = identifiers.GetProperty("data").EnumerateArray()
                .Where(i => i.GetProperty("type").GetString() == "user_id").Select(i => i.GetProperty("value").GetString()).ToList();
            Assert.Equal([person.UserId], userIds);
            Assert.All(emails, email => Assert.Equal(person.Email, email));
            signedUp++;
        }

        Assert.True(signedUp > 5, $"only {signedUp} of 30 demo people have a user id");
    }

    [Fact]
    public async Task Demo_NegativePeople_ExitsNonZeroNamingTheOption()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await TandemCli.RunAsync(["demo", "--people", "-3", "--url", "http://127.0.0.1:9", "--token", "x"], output, error);

        Assert.NotEqual(0, code);
        Assert.Contains("--people", error.ToString(), StringComparison.Ordinal);
    }

    private static int SentCount(string output)
    {
        var words = output.Split(' ');
        return int.Parse(words[Array.IndexOf(words, "Sent") + 1], System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<(int Code, string Output, string Error)> DemoAsync(TandemServer server, int people)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TandemCli.RunAsync(
            ["demo", "--people", people.ToString(System.Globalization.CultureInfo.InvariantCulture), "--url", server.BaseAddress.ToString(), "--token", TandemServer.AdminToken],
            output, error);
        return (code, output.ToString(), error.ToString());
    }
}
