using System.CommandLine;
using System.Globalization;
using Tandem.Demo;
using Tandem.Hosting;
using Tandem.Sources;
using Tandem.Unify;

namespace Tandem.Cli;

/// <summary>Demo traffic from four sources, always sent through the real collector over HTTP.</summary>
internal static class DemoCommand
{
    private const int DefaultPeople = 200;

    // One seed for the CLI and serve --demo: a customer is the same person whichever sent them.
    internal const int Seed = 2026;

    public static Command Build()
    {
        var url = ApiClient.UrlOption();
        var token = ApiClient.TokenOption();
        var people = new Option<int>("--people") { Description = "How many demo customers to simulate", DefaultValueFactory = _ => DefaultPeople };
        people.Validators.Add(option =>
        {
            if (option.GetValueOrDefault<int>() < 0)
            {
                option.AddError("--people is a number of customers: 0 or more.");
            }
        });
        var command = new Command("demo", "Sends realistic demo traffic (website, CMS, marketing automation, CRM) to a running server") { url, token, people };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (ApiClient.ServerUrl(result, url) is not { } baseUrl)
            {
                return 1;
            }

            using var api = new ApiClient(baseUrl, ApiClient.Token(result, token));
            try
            {
                // Write keys are shown only when issued: the demo's own sources get new ones each run.
                var existing = await api.SendAsync(HttpMethod.Get, "api/v1/sources", null, cancellationToken);
                var ids = existing.EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("id").GetString()!);
                var keys = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var name in DemoSources.All)
                {
                    var issued = ids.TryGetValue(name, out var id)
                        ? await api.SendAsync(HttpMethod.Post, $"api/v1/sources/{id}/rotate-key", null, cancellationToken)
                        : await api.SendAsync(HttpMethod.Post, "api/v1/sources", new { name }, cancellationToken);
                    keys[name] = issued.GetProperty("writeKey").GetString()!;
                }

                var types = await api.SendAsync(HttpMethod.Get, "api/v1/identity/types", null, cancellationToken);
                var known = types.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToHashSet(StringComparer.Ordinal);
                foreach (var type in DemoSources.IdentifierTypes.Where(t => !known.Contains(t.Name)))
                {
                    await api.SendAsync(HttpMethod.Put, $"api/v1/identity/types/{type.Name}", new { limit = type.Limit, priority = type.Priority }, cancellationToken);
                }

                var delivery = await new DemoTraffic(Seed, TimeProvider.System.GetUtcNow()).SendAsync(api.Http, baseUrl, keys, result.GetValue(people), cancellationToken);
                result.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Sent {delivery.Sent:N0} demo events from {DemoSources.All.Length} sources to {baseUrl}: {delivery.Outcome()}."));
                return 0;
            }
            catch (Exception ex) when (ex is ApiException or HttpRequestException)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>serve --demo: create the demo sources in place, then post through this server's own collector.</summary>
    public static async Task<int> SendFromServerAsync(WebApplication app, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var registry = app.Services.GetRequiredService<SourceRegistry>();
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in DemoSources.All)
            {
                keys[name] = registry.Issue(name).WriteKey; // keys are not stored: the demo's sources get new ones
            }

            await AddIdentifierTypesAsync(app.Services.GetRequiredService<ProfileProcessor>());

            var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            using var http = new HttpClient();
            var delivery = await new DemoTraffic(Seed, now).SendAsync(http, LocalAddress(app), keys, DefaultPeople, cancellationToken);
            Log.DemoSent(logger, keys.Count, delivery.Outcome());
            return delivery.Sent;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            Log.DemoFailed(logger, ex);
            return 0;
        }
    }

    private static Task AddIdentifierTypesAsync(ProfileProcessor processor) =>
        processor.ChangeRulesAsync(rules => DemoSources.IdentifierTypes.All(t => rules.Find(t.Name) is not null)
            ? (null, 0)
            : (new IdentityRules(rules.Types.Concat(DemoSources.IdentifierTypes.Where(t => rules.Find(t.Name) is null))), 0));

    /// <summary>The first bound address, with wildcard hosts replaced by loopback.</summary>
    internal static Uri LocalAddress(WebApplication app)
    {
        var address = new UriBuilder(app.Urls.First());
        if (address.Host is "0.0.0.0" or "[::]" or "+" or "*" or "::")
        {
            address.Host = "127.0.0.1";
        }

        return address.Uri;
    }
}
