using System.CommandLine;
using Tandem.Cli;
using Tandem.Tests.Support;

namespace Tandem.Tests.Cli;

/// <summary>Tests that set environment variables the CLI reads: alone, so no other test sees them.</summary>
[CollectionDefinition(nameof(EnvironmentVariableTests), DisableParallelization = true)]
public sealed class EnvironmentVariableTests;

/// <summary>--help and argument errors show where defaults come from, never a secret's value.</summary>
[Collection(nameof(EnvironmentVariableTests))]
public sealed class HelpTests
{
    private const string Secret = "tdm_admin_must-never-be-printed-4f1c";
    private const string ServerUrl = "http://127.0.0.1:6123/from-the-environment";

    [Fact]
    public async Task Help_EveryCommandWithTokenAndUrlInTheEnvironment_NamesTheVariablesNeverTheirValues()
    {
        using var token = new EnvironmentVariable("TANDEM_ADMIN_TOKEN", Secret);
        using var url = new EnvironmentVariable("TANDEM_URL", ServerUrl);
        var commands = Paths(TandemCli.Build(), []).ToList();
        Assert.True(commands.Count > 30, $"only {commands.Count} commands found");

        var withToken = 0;
        foreach (var path in commands)
        {
            var help = await Cli.RunAsync([.. path, "--help"]);
            Assert.True(help.Code == 0, $"{string.Join(' ', path)} --help: {help.Error}");
            var mistake = await Cli.RunAsync([.. path, "--no-such-option"]);
            foreach (var text in new[] { help.Output, help.Error, mistake.Output, mistake.Error })
            {
                Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
            }

            Assert.DoesNotContain(ServerUrl, help.Output, StringComparison.Ordinal); // help is the same wherever it runs

            if (help.Output.Contains("--token", StringComparison.Ordinal))
            {
                withToken++;
                Assert.Contains("[default: $TANDEM_ADMIN_TOKEN]", help.Output, StringComparison.Ordinal);
                Assert.Contains("[default: $TANDEM_URL or http://127.0.0.1:5080]", help.Output, StringComparison.Ordinal);
            }
        }

        Assert.True(withToken > 20, $"only {withToken} commands take --token");
    }

    [Fact]
    public async Task ArgumentError_PrintsTheErrorAndWhereHelpIsNotTheWholeHelp()
    {
        var (code, output, error) = await Cli.RunAsync("sources", "create");

        Assert.NotEqual(0, code);
        Assert.DoesNotContain("Usage:", output + error, StringComparison.Ordinal);
        Assert.Contains("Run './tandem sources create --help' for usage.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCommands_NoUrlOrToken_UseTandemUrlAndTandemAdminToken()
    {
        await using var server = await TandemServer.StartAsync();
        using var token = new EnvironmentVariable("TANDEM_ADMIN_TOKEN", TandemServer.AdminToken);
        using var url = new EnvironmentVariable("TANDEM_URL", server.BaseAddress.ToString());

        var (code, output, error) = await Cli.RunAsync("sources", "list");

        Assert.True(code == 0, error);
        Assert.Contains("…" + server.WriteKey[^4..], output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCommands_TandemUrlNotAUrl_SayWhatIsWrongInOneLine()
    {
        using var url = new EnvironmentVariable("TANDEM_URL", "127.0.0.1 port 5080");

        var (code, _, error) = await Cli.RunAsync("sources", "list", "--token", "x");

        Assert.Equal(1, code);
        Assert.StartsWith("error: --url '127.0.0.1 port 5080' is not a server URL", Assert.Single(Cli.Lines(error)), StringComparison.Ordinal);
    }

    private static IEnumerable<string[]> Paths(Command command, string[] path)
    {
        yield return path;
        foreach (var sub in command.Subcommands)
        {
            foreach (var deeper in Paths(sub, [.. path, sub.Name]))
            {
                yield return deeper;
            }
        }
    }

    /// <summary>Sets a variable of this process for one test, and puts the old value back.</summary>
    private sealed class EnvironmentVariable : IDisposable
    {
        private readonly string _name;
        private readonly string? _before;

        public EnvironmentVariable(string name, string value)
        {
            _name = name;
            _before = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _before);
    }
}
