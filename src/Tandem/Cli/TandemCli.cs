using System.CommandLine;
using Tandem.Hosting;

namespace Tandem.Cli;

/// <summary>Every command of <c>./tandem</c>; <c>./tandem --help</c> lists them.</summary>
public static class TandemCli
{
    public static Task<int> RunAsync(string[] args) => Build().Parse(args).InvokeAsync();

    /// <summary>Runs a command with its output captured (tests, embedding).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

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
        var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var demo = new Option<bool>("--demo") { Description = "Send realistic demo traffic from four sources through the collector once started" };
        var proxies = new Option<string[]>("--trusted-proxy")
        {
            Description = "A reverse proxy (IP address or CIDR network) whose X-Forwarded-For and X-Forwarded-Proto are believed; repeat for several",
        };
        var command = new Command("serve", "Runs Tandem on the embedded store: collector, management API, metrics") { data, urls, demo, proxies };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = new TandemOptions
            {
                DataDirectory = result.GetValue(data)!,
                Urls = result.GetValue(urls)!,
                AdminToken = Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN"),
                TrustedProxies = result.GetValue(proxies) ?? [],
            };
            WebApplication built;
            try
            {
                built = TandemHost.Build(options);
            }
            catch (ArgumentException e)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync("error: --trusted-proxy: " + e.Message.Split(" (Parameter")[0]);
                return 2;
            }

            await using var app = built;
            await app.StartAsync(cancellationToken);
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
