using System.CommandLine;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary><c>./tandem sources ...</c>: the Sources API from a terminal.</summary>
internal static class SourcesCommand
{
    public static Command Build()
    {
        var (command, url, token) = ApiClient.Group("sources", "Lists and manages sources (talks to a running server)");

        var name = new Argument<string>("name") { Description = "Source name" };
        var id = new Argument<string>("id") { Description = "Source id (src_...)" };

        command.Subcommands.Add(ApiClient.Leaf("list", "Lists sources with their write keys", [], url, token, Print,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/sources", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("create", "Creates a source and prints its write key", [name], url, token, Print,
            (api, r, ct) => api.SendAsync(HttpMethod.Post, "api/v1/sources", new { name = r.GetValue(name) }, ct)));
        var newName = new Argument<string>("new-name") { Description = "New name" };
        command.Subcommands.Add(ApiClient.Leaf("rename", "Renames a source", [id, newName], url, token, Print,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/sources/{r.GetValue(id)}", new { name = r.GetValue(newName) }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("disable", "Disables a source: its write key is refused", [id], url, token, Print,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/sources/{r.GetValue(id)}", new { enabled = false }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("enable", "Enables a disabled source", [id], url, token, Print,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/sources/{r.GetValue(id)}", new { enabled = true }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("rotate-key", "Gives a source a new write key (the old one stops working)", [id], url, token, Print,
            (api, r, ct) => api.SendAsync(HttpMethod.Post, $"api/v1/sources/{r.GetValue(id)}/rotate-key", null, ct)));
        return command;
    }

    private static void Print(JsonElement answer, TextWriter output)
    {
        var rows = answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToArray() : [answer];
        output.WriteLine($"{"ID",-22} {"NAME",-28} {"ENABLED",-8} WRITE KEY");
        foreach (var s in rows)
        {
            // The whole key only in the answer that issued it (create, rotate-key); lists show its end.
            var key = s.TryGetProperty("writeKey", out var whole) ? whole.GetString() + "  (shown once: keep it)" : "…" + s.GetProperty("writeKeyEnd").GetString();
            output.WriteLine($"{s.GetProperty("id").GetString(),-22} {s.GetProperty("name").GetString(),-28} {s.GetProperty("enabled").GetBoolean(),-8} {key}");
        }
    }
}
