using System.CommandLine;
using System.CommandLine.Invocation;
using System.Net.Sockets;
using Tandem.Hosting;

namespace Tandem.Cli;

/// <summary>Every command of <c>./tandem</c>; <c>./tandem --help</c> lists them.</summary>
public static class TandemCli
{
    /// <summary>Exit code for a command that cannot start: a bad address, a busy port, a data folder in use.</summary>
    public const int CannotStart = 2;

    public static Task<int> RunAsync(string[] args) => InvokeAsync(args, new InvocationConfiguration());

    /// <summary>Runs a command with its output captured (tests, embedding).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        InvokeAsync(args, new InvocationConfiguration { Output = output, Error = error });

    private static async Task<int> InvokeAsync(string[] args, InvocationConfiguration configuration)
    {
        var parsed = Build().Parse(args);
        if (parsed.Action is not ParseErrorAction errors)
        {
            return await parsed.InvokeAsync(configuration);
        }

        // The errors and a pointer to the help, not the whole help after every typo.
        errors.ShowHelp = false;
        var code = await parsed.InvokeAsync(configuration);
        await configuration.Error.WriteLineAsync($"Run '{CommandLine(parsed)} --help' for usage.");
        return code;
    }

    private static string CommandLine(ParseResult parsed)
    {
        var names = new List<string>();
        for (var command = parsed.CommandResult; command is not null && command.Command is not RootCommand; command = command.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, command.Command.Name);
        }

        return string.Join(' ', ["./tandem", .. names]);
    }

    internal static RootCommand Build()
    {
        var root = new RootCommand("Tandem: the customer data platform that marketing and IT run together.");
        root.Subcommands.Add(ServeCommand());
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(SourcesCommand.Build());
        root.Subcommands.Add(ProfilesCommand.Build());
        root.Subcommands.Add(MembersCommand.Members());
        root.Subcommands.Add(MembersCommand.Tokens());
        root.Subcommands.Add(AuditCommand.Build());
        root.Subcommands.Add(PrivacyCommand.Build());
        root.Subcommands.Add(Privacy.RetentionCommand.Build());
        return root;
    }

    private static Command ServeCommand()
    {
        var data = new Option<string>("--data") { Description = "Data folder (created on first start)", DefaultValueFactory = _ => "./tandem-data" };
        var urls = new Option<string>("--urls") { Description = "Address to listen on (several separated by ';')", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var demo = new Option<bool>("--demo") { Description = "Send realistic demo traffic from four sources through the collector once started" };
        var proxies = new Option<string[]>("--trusted-proxy")
        {
            Description = "A reverse proxy (IP address or CIDR network) whose X-Forwarded-For and X-Forwarded-Proto are believed; repeat for several",
        };
        var logLevel = new Option<string>("--log-level")
        {
            Description = "Least severe log lines written: trace, debug, information, warning or error (ASP.NET Core's own lines start at warning unless trace or debug)",
            DefaultValueFactory = _ => "information",
        };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "information", "warning", "error");
        var logRequests = new Option<bool>("--log-requests") { Description = "Log one line per HTTP request: method, the route it matched (never the URL), status and duration" };
        var auditKeyFile = new Option<string?>(Trust.AuditKey.FileOption) { Description = "File, outside the data folder, holding the key (32+ characters) that signs the audit log; else $TANDEM_AUDIT_KEY" };
        var maxConnections = new Option<int>("--max-connections")
        {
            Description = "Most connections open at once; further ones are closed as they open (default 10000)",
            DefaultValueFactory = _ => ServerLimits.DefaultMaxConnections,
        };
        maxConnections.Validators.Add(v =>
        {
            if (v.GetValueOrDefault<int>() < 1)
            {
                v.AddError("--max-connections must be a whole number of at least 1.");
            }
        });
        var command = new Command("serve", "Runs Tandem on the embedded store: collector, management API, metrics. The first admin token is $TANDEM_ADMIN_TOKEN when set, else generated and printed once")
        {
            data, urls, demo, proxies, logLevel, logRequests, maxConnections, auditKeyFile,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            var options = new TandemOptions
            {
                DataDirectory = result.GetValue(data)!,
                Urls = result.GetValue(urls)!,
                AdminToken = Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN"),
                AuditKey = Environment.GetEnvironmentVariable(Trust.AuditKey.EnvironmentVariable),
                AuditKeyFile = result.GetValue(auditKeyFile),
                TrustedProxies = result.GetValue(proxies) ?? [],
                LogLevel = Enum.Parse<LogLevel>(result.GetValue(logLevel)!, ignoreCase: true),
                LogRequests = result.GetValue(logRequests),
                MaxConnections = result.GetValue(maxConnections),
                Announce = result.InvocationConfiguration.Output,
            };
            WebApplication built;
            try
            {
                built = TandemHost.Build(options);
            }
            catch (StartRefusedException e)
            {
                await error.WriteLineAsync("error: " + e.Message);
                return CannotStart;
            }
            catch (DataFolderInUseException e)
            {
                await error.WriteLineAsync($"error: {e.Message} (stop that server first, or pass another --data)");
                return CannotStart;
            }
            catch (ArgumentException e)
            {
                await error.WriteLineAsync("error: --trusted-proxy: " + e.Message.Split(" (Parameter")[0]);
                return CannotStart;
            }

            await using var app = built;
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e) when (e.InnerException is SocketException or Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // Taken between the check and the bind: still one line (the data folder was opened, not changed).
                await error.WriteLineAsync("error: " + e.Message);
                return CannotStart;
            }

            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tandem");
            Log.Listening(logger, string.Join(", ", app.Urls), Path.GetFullPath(options.DataDirectory));
            if (result.GetValue(demo))
            {
                _ = DemoCommand.SendFromServerAsync(app, logger, cancellationToken);
            }

            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
