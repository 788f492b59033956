using System.CommandLine;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary><c>./tandem profiles ...</c>: look customers up, search, and explain merges from a terminal.</summary>
internal static class ProfilesCommand
{
    public static Command Build()
    {
        var (command, url, token) = ApiClient.Group("profiles", "Reads customer profiles (talks to a running server)");

        var identifier = new Argument<string>("identifier") { Description = "type:value, such as user_id:42, email:ada@example.com or profile_id:prf_00000001" };
        var section = new Argument<string>("section")
        {
            Description = "traits, events, identifiers, audiences or metadata",
            DefaultValueFactory = _ => "traits",
        };
        section.AcceptOnlyFromAmong("traits", "events", "identifiers", "audiences", "metadata");
        var term = new Argument<string>("term") { Description = "Start of an identifier value or of a trait value" };
        var profileId = new Argument<string>("profile-id") { Description = "Profile id (prf_...)" };

        var get = ApiClient.Leaf("get", "Shows one customer's traits (or another section) by any identifier", [identifier], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Get, $"v1/profiles/{Uri.EscapeDataString(r.GetValue(identifier)!)}/{r.GetValue(section)}", null, ct));
        get.Arguments.Add(section);
        command.Subcommands.Add(get);
        command.Subcommands.Add(ApiClient.Leaf("search", "Finds customers by identifier or trait value", [term], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Get, $"api/v1/profiles?search={Uri.EscapeDataString(r.GetValue(term)!)}", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("merges", "Explains why a profile is one customer: its merges and declined links", [profileId], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Get, $"api/v1/profiles/{Uri.EscapeDataString(r.GetValue(profileId)!)}/merges", null, ct)));
        return command;
    }

}
