using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Demo;

/// <summary>
/// README.md's tour, run as written against a real server: every <c>curl</c> and <c>./tandem</c> line of
/// its <c>sh</c> blocks, in order, with the tour's host, token, ids and data folder pointed at the test
/// server. Edit the tour and this test runs the edit.
/// </summary>
public sealed partial class ReadmeTourTests
{
    private const string TourHost = "http://127.0.0.1:5080";
    private const string Ada = "ada@example.com";

    [Fact]
    public async Task Tour_EveryCommandOnTheDemoData_AnswersWithSomethingMeaningful()
    {
        var commands = ReadmeTour.Commands(await File.ReadAllTextAsync(Path.Combine(ChildProcess.RepositoryRoot, "README.md"), TestContext.Current.CancellationToken));
        await using var server = await TandemServer.StartAsync();
        var tour = new Tour(server);
        var checks = Checks(tour);
        var ran = 0;

        foreach (var command in commands)
        {
            await server.CaughtUpAsync();
            await tour.FindAdaAsync();
            // Environment assignments (export X=…, or X=… before a command) are the tour's settings, which the test supplies.
            var words = command.Words.SkipWhile(w => Assignment().IsMatch(w.Literal)).ToList();
            var program = words.Count == 0 ? "export" : words[0].Literal;
            var answer = program switch
            {
                "export" => null,
                "./tandem" => await tour.TandemAsync(command, words),
                "curl" => await tour.CurlAsync(command, words),
                _ => throw new Xunit.Sdk.XunitException($"The tour test does not know how to run '{program}' in README.md: {command.Text}"),
            };
            if (answer is null)
            {
                continue;
            }

            ran++;
            Assert.False(string.IsNullOrWhiteSpace(answer), $"Nothing came back from: {command.Text}");
            foreach (var check in checks.Where(c => command.Text.Contains(c.Key, StringComparison.Ordinal)))
            {
                check.Value.Used = true;
                check.Value.Assert(answer, command.Text);
            }
        }

        Assert.True(ran >= 15, $"Only {ran} commands found in README.md's tour.");
        var unused = checks.Where(c => !c.Value.Used).Select(c => c.Key).ToList();
        Assert.True(unused.Count == 0,
            $"README.md's tour no longer has a command containing: {string.Join(", ", unused)}. Update the checks in {nameof(ReadmeTourTests)} with the README.");
    }

    [Fact]
    public void Split_QuotesVariablesAndComment_GivesTheShellsWords()
    {
        var words = ReadmeTour.Split("""curl -u "$KEY:" -d '{"a":"$b"}' "x/${ID}/y" plain\ word # a comment""")
            .Select(w => w.Expand(name => "<" + name + ">")).ToList();

        Assert.Equal(["curl", "-u", "<KEY>:", "-d", """{"a":"$b"}""", "x/<ID>/y", "plain word"], words);
    }

    [Fact]
    public void Commands_ContinuedLinesInTheTourSection_AreOneCommandEach()
    {
        var readme = "# T\n\n```sh\nnot in the tour\n```\n\n## A short tour\n\n```sh\n# comment\ncurl -X PUT \\\n     http://h/p \\\n     -d '{}'\n./tandem demo\n```\n\n## Next\n\n```sh\nnot either\n```\n";

        var commands = ReadmeTour.Commands(readme);

        Assert.Equal(["curl -X PUT http://h/p -d {}", "./tandem demo"], commands.Select(c => string.Join(' ', c.Words.Select(w => w.Literal))));
    }

    [Fact]
    public void Split_Pipe_IsRefusedRatherThanSkipped()
    {
        Assert.Throws<FormatException>(() => ReadmeTour.Split("curl http://h/p | jq ."));
    }

    /// <summary>What each example must show on the demo data, beyond answering 2xx with a body: keyed by text in the command.</summary>
    private static Dictionary<string, Check> Checks(Tour tour) => new(StringComparer.Ordinal)
    {
        ["/v1/track"] = new((json, _) => Assert.Equal(1, Json(json).GetProperty("accepted").GetInt32())),
        ["sources list"] = new((text, _) =>
        {
            Assert.Contains("…" + tour.Server.WriteKey[^4..], text, StringComparison.Ordinal); // which key, never the key
            Assert.DoesNotContain(tour.Server.WriteKey, text, StringComparison.Ordinal);
        }),
        ["/events?limit=20"] = new((json, _) => Assert.NotEqual(0, Json(json).GetProperty("events").GetArrayLength())),
        ["./tandem demo"] = new((text, _) => Assert.Contains(" new, ", text, StringComparison.Ordinal)),
        ["/v1/profiles/user_id:42/traits"] = new((json, _) =>
        {
            var traits = Json(json).GetProperty("traits");
            Assert.Equal(Ada, traits.GetProperty("email").GetString());
            Assert.Equal("Ada", traits.GetProperty("firstName").GetString());
        }),
        [$"/v1/profiles/email:{Ada}/events"] = new((json, _) =>
        {
            var events = Json(json).GetProperty("data");
            Assert.NotEqual(0, events.GetArrayLength());
            Assert.Equal(tour.AdaProfileId, Json(json).GetProperty("profileId").GetString());
        }),
        ["/api/v1/profiles?search=ada"] = new((json, _) => Assert.Contains(tour.AdaProfileId, json, StringComparison.Ordinal)),
        ["/merges"] = new((json, _) => Assert.NotEqual(0, Json(json).GetProperty("merges").GetArrayLength())),
        ["traits?include=usd_spend_30d"] = new((json, _) =>
            Assert.Equal(42.5m + AdaDemoRevenue(), Json(json).GetProperty("traits").GetProperty("usd_spend_30d").GetDecimal())),
        ["audit?action=member.*"] = new((json, _) => Assert.Contains("member.", json, StringComparison.Ordinal)),
        ["/exports/profiles"] = new((json, _) => Assert.True(Json(json).GetProperty("exported").GetInt32() > 0, json)),
        [$"privacy consent email:{Ada}"] = new((text, _) => Assert.Contains("marketing", text, StringComparison.Ordinal)),
    };

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*=")]
    private static partial System.Text.RegularExpressions.Regex Assignment();

    /// <summary>Ada's orders in the demo (all in the last 30 days): she is its first customer, the same whatever the count.</summary>
    private static decimal AdaDemoRevenue() =>
        DemoTrafficTests.Events(new Tandem.Demo.DemoTraffic(DemoCommand.Seed, DateTimeOffset.UnixEpoch).Generate(1))
            .Where(x => DemoTrafficTests.Str(x.Event, "userId") == "42" && DemoTrafficTests.Str(x.Event, "event") == "Order Completed")
            .Sum(x => x.Event.GetProperty("properties").GetProperty("revenue").GetDecimal());

    private sealed class Check(Action<string, string> assert)
    {
        public bool Used { get; set; }

        public void Assert(string answer, string command)
        {
            try
            {
                assert(answer, command);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or KeyNotFoundException or InvalidOperationException or JsonException)
            {
                throw new Xunit.Sdk.XunitException($"README.md's `{command}` answered, but not what the tour promises: {e.Message}\n{answer}");
            }
        }
    }

    /// <summary>Runs tour commands against the test server, standing in for the shell's variables and the default address.</summary>
    private sealed class Tour(TandemServer server)
    {
        private string? _adaProfileId;

        public TandemServer Server { get; } = server;

        public string AdaProfileId => _adaProfileId ?? throw new InvalidOperationException("Ada's profile is not known yet.");

        public async Task<string?> TandemAsync(TourCommand command, List<TourWord> line)
        {
            var args = new List<string>();
            var words = line.Skip(1).Select(w => OnServer(w.Expand(Variable))).ToList();
            if (words.FirstOrDefault() == "serve")
            {
                return null; // the test server is the tour's server
            }

            for (var i = 0; i < words.Count; i++)
            {
                args.Add(words[i]);
                if (words[i] == "--data" && i + 1 < words.Count)
                {
                    args.Add(Server.DataDirectory);
                    i++;
                }
            }

            if (!args.Contains("--data") && !args.Contains("--url") && !args.Contains("--help"))
            {
                args.AddRange(["--url", Server.BaseAddress.ToString()]);
            }

            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await TandemCli.RunAsync([.. args], output, error);
            Assert.True(code == 0, $"`{command.Text}` exited {code}: {error}{output}");
            return output.ToString();
        }

        public async Task<string> CurlAsync(TourCommand command, List<TourWord> line)
        {
            var method = (string?)null;
            string? url = null, data = null;
            var headers = new List<(string Name, string Value)>();
            var words = line.Skip(1).Select(w => w.Expand(Variable)).ToList();
            for (var i = 0; i < words.Count; i++)
            {
                switch (words[i])
                {
                    case "-X":
                        method = words[++i];
                        break;
                    case "-H":
                        var header = words[++i];
                        var colon = header.IndexOf(':', StringComparison.Ordinal);
                        headers.Add((header[..colon].Trim(), header[(colon + 1)..].Trim()));
                        break;
                    case "-u":
                        headers.Add(("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(words[++i]))));
                        break;
                    case "-d" or "--data":
                        data = words[++i];
                        break;
                    case var word when word.StartsWith(TourHost + "/", StringComparison.Ordinal):
                        url = OnServer(word);
                        break;
                    default:
                        throw new Xunit.Sdk.XunitException($"The tour test does not know curl's '{words[i]}' in README.md: {command.Text}");
                }
            }

            Assert.True(url is not null, $"No {TourHost} address in: {command.Text}");
            using var request = new HttpRequestMessage(new HttpMethod(method ?? (data is null ? "GET" : "POST")), url);
            if (data is not null)
            {
                // What curl -d sends unless told otherwise.
                request.Content = new StringContent(data, Encoding.UTF8);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            }

            foreach (var (name, value) in headers)
            {
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    request.Content!.Headers.ContentType = MediaTypeHeaderValue.Parse(value);
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }
            }

            using var response = await Server.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"`{command.Text}` answered {(int)response.StatusCode}: {body}");
            return body;
        }

        /// <summary>The tour's address, moved to the test server's.</summary>
        private string OnServer(string word) => word.StartsWith(TourHost, StringComparison.Ordinal)
            ? Server.BaseAddress.AbsoluteUri.TrimEnd('/') + word[TourHost.Length..]
            : word;

        private string Variable(string name) => name switch
        {
            "TANDEM_URL" => TourHost,
            "TANDEM_ADMIN_TOKEN" => TandemServer.AdminToken,
            "WRITE_KEY" => Server.WriteKey,
            "SOURCE_ID" => Server.DefaultSourceId,
            "PROFILE_ID" => AdaProfileId,
            _ => throw new Xunit.Sdk.XunitException($"README.md's tour uses ${name}, which the tour test does not know how to fill in."),
        };

        /// <summary>The tour's customer, once the demo has brought her email: the tour's $PROFILE_ID.</summary>
        public async Task FindAdaAsync()
        {
            if (_adaProfileId is not null)
            {
                return;
            }

            using var response = await Server.Http.SendAsync(Server.Admin(HttpMethod.Get, $"/v1/profiles/email:{Ada}/traits"));
            if (response.IsSuccessStatusCode)
            {
                _adaProfileId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("profileId").GetString();
            }
        }
    }
}
