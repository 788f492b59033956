using System.Net;
using System.Net.Http.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Trust;

/// <summary>
/// The three sign-in locks of docs/trust.md "Console sign-in", each tested one attempt below and at its
/// count, and one second before and at the end of its 15 minutes. The counts and the duration are
/// written out as the doc states them (five, twenty, twenty; 15 minutes), not read from
/// <c>MemberRegistry</c>: a test that loops to the production constant passes whatever it is.
/// </summary>
public sealed class DocumentedLockoutTests
{
    private const string Password = "correct horse battery";
    private static readonly TimeSpan Lock = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task FiveWrongPasswordsInARowFromOneAddress_LockThatAddressOutOfTheAccount_For15Minutes()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var guesser = FromAddress.Client(server.BaseAddress, "127.0.0.2");
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            await HttpAssert.ProblemAsync(await SignInAsync(guesser, "ada@example.com", "guess " + attempt), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        var fifth = await SignInAsync(guesser, "ada@example.com", "guess 5");
        await HttpAssert.ProblemAsync(fifth, HttpStatusCode.TooManyRequests, "account_locked");
        Assert.Equal(Lock, fifth.Headers.RetryAfter?.Delta);

        // Locked to that address only: Ada signs in from her own.
        using var ada = FromAddress.Client(server.BaseAddress, "127.0.0.3");
        await HttpAssert.JsonAsync(await SignInAsync(ada, "ada@example.com", Password), HttpStatusCode.OK);

        server.Clock.Advance(Lock - OneSecond);
        await HttpAssert.ProblemAsync(await SignInAsync(guesser, "ada@example.com", Password), HttpStatusCode.TooManyRequests, "account_locked");
        server.Clock.Advance(OneSecond);
        await HttpAssert.JsonAsync(await SignInAsync(guesser, "ada@example.com", Password), HttpStatusCode.OK);
    }

    [Fact]
    public async Task TwentyWrongPasswordsInARowFromAnyAddresses_LockTheAccountForEveryone_For15Minutes_NineteenDoNot()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var ada = FromAddress.Client(server.BaseAddress, "127.0.0.2");

        // Four from each address, so no address is locked out on its own (five would).
        var answers = await GuessFromManyAddressesAsync(server, "ada@example.com", 19, firstAddress: 10);
        Assert.All(answers, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        await HttpAssert.JsonAsync(await SignInAsync(ada, "ada@example.com", Password), HttpStatusCode.OK);

        // Her sign-in ended the run; twenty more in a row lock, the twentieth already answered as locked.
        answers = await GuessFromManyAddressesAsync(server, "ada@example.com", 20, firstAddress: 20);
        Assert.All(answers[..19], status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, answers[19]);

        var locked = await SignInAsync(ada, "ada@example.com", Password);
        await HttpAssert.ProblemAsync(locked, HttpStatusCode.TooManyRequests, "account_locked");
        Assert.Equal(Lock, locked.Headers.RetryAfter?.Delta);
        server.Clock.Advance(Lock - OneSecond);
        await HttpAssert.ProblemAsync(await SignInAsync(ada, "ada@example.com", Password), HttpStatusCode.TooManyRequests, "account_locked");
        server.Clock.Advance(OneSecond);
        await HttpAssert.JsonAsync(await SignInAsync(ada, "ada@example.com", Password), HttpStatusCode.OK);
    }

    [Fact]
    public async Task TwentyFailedSignInsFromOneAddressWithin15Minutes_StopThatAddressForAnyAccount_For15Minutes()
    {
        await using var server = await TandemServer.StartAsync();
        await server.CreateMemberAsync("ada@example.com", ["marketer"], Password);
        using var sprayer = FromAddress.Client(server.BaseAddress, "127.0.0.9");
        using var patient = FromAddress.Client(server.BaseAddress, "127.0.0.10");

        // One common password against nineteen accounts, from each of two addresses.
        for (var account = 1; account <= 19; account++)
        {
            await HttpAssert.ProblemAsync(await SignInAsync(sprayer, $"user{account}@example.com", "Summer2026!"), HttpStatusCode.Unauthorized, "invalid_credentials");
            await HttpAssert.ProblemAsync(await SignInAsync(patient, $"user{account}@example.com", "Summer2026!"), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        // The twentieth one second inside the 15 minutes stops the address...
        server.Clock.Advance(Lock - OneSecond);
        var stopped = await SignInAsync(sprayer, "user20@example.com", "Summer2026!");
        await HttpAssert.ProblemAsync(stopped, HttpStatusCode.TooManyRequests, "too_many_sign_in_attempts");
        Assert.Equal(Lock, stopped.Headers.RetryAfter?.Delta);
        await HttpAssert.ProblemAsync(await SignInAsync(sprayer, "ada@example.com", Password), HttpStatusCode.TooManyRequests, "too_many_sign_in_attempts");

        // ...the twentieth 15 minutes after the first does not: the count is of one 15-minute window.
        server.Clock.Advance(OneSecond);
        await HttpAssert.ProblemAsync(await SignInAsync(patient, "user20@example.com", "Summer2026!"), HttpStatusCode.Unauthorized, "invalid_credentials");

        server.Clock.Advance(Lock - (2 * OneSecond));
        await HttpAssert.ProblemAsync(await SignInAsync(sprayer, "ada@example.com", Password), HttpStatusCode.TooManyRequests, "too_many_sign_in_attempts");
        server.Clock.Advance(OneSecond);
        await HttpAssert.JsonAsync(await SignInAsync(sprayer, "ada@example.com", Password), HttpStatusCode.OK);
    }

    private static async Task<HttpStatusCode[]> GuessFromManyAddressesAsync(TandemServer server, string email, int guesses, int firstAddress)
    {
        var answers = new List<HttpStatusCode>();
        for (var address = firstAddress; answers.Count < guesses; address++)
        {
            using var guesser = FromAddress.Client(server.BaseAddress, "127.0.0." + address);
            for (var i = 0; i < 4 && answers.Count < guesses; i++)
            {
                using var response = await SignInAsync(guesser, email, $"guess {address}.{i}");
                answers.Add(response.StatusCode);
            }
        }

        return [.. answers];
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string email, string password) =>
        client.PostAsJsonAsync("/api/v1/session", new { email, password });
}
