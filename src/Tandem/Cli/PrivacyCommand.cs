using System.CommandLine;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary><c>./tandem privacy ...</c>: file and follow privacy requests, list suppressions, read a customer's consent.</summary>
internal static class PrivacyCommand
{
    public static Command Build()
    {
        var (command, url, token) = ApiClient.Group("privacy", "Privacy requests, suppressions and consent (talks to a running server)");

        var type = new Argument<string>("type") { Description = "export, delete, suppress, unsuppress or delete_and_suppress" };
        type.AcceptOnlyFromAmong("export", "delete", "suppress", "unsuppress", "delete_and_suppress");
        var identifier = new Argument<string>("identifier") { Description = "type:value, such as email:ada@example.com, user_id:42 or profile_id:prf_00000001" };
        var id = new Argument<string>("request-id") { Description = "Request id (prq_...)" };

        command.Subcommands.Add(ApiClient.Leaf("request", "Files a privacy request and carries it out; an export prints the person's data", [type, identifier], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Post, "api/v1/privacy/requests", new { type = r.GetValue(type), identifier = r.GetValue(identifier) }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("list", "Lists privacy requests, newest first, with status and due date", [], url, token, PrintRequests,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/privacy/requests?limit=200", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("show", "Shows one privacy request", [id], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Get, $"api/v1/privacy/requests/{Uri.EscapeDataString(r.GetValue(id)!)}", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("retry", "Runs a failed privacy request again", [id], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Post, $"api/v1/privacy/requests/{Uri.EscapeDataString(r.GetValue(id)!)}/retry", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("suppressions", "Lists suppressions in force and the events each dropped", [], url, token, ApiClient.PrintJson,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/privacy/suppressions", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("consent", "Shows a customer's consent per purpose and its history", [identifier], url, token, ApiClient.PrintJson,
            (api, r, ct) => api.SendAsync(HttpMethod.Get, $"api/v1/profiles/{Uri.EscapeDataString(r.GetValue(identifier)!)}/consent", null, ct)));
        return command;
    }


    private static void PrintRequests(JsonElement page, TextWriter output)
    {
        output.WriteLine($"{"ID",-36} {"TYPE",-20} {"STATUS",-10} {"DUE",-20} SUBJECT");
        foreach (var r in page.GetProperty("data").EnumerateArray())
        {
            var overdue = r.GetProperty("overdue").GetBoolean() ? "  OVERDUE" : "";
            output.WriteLine($"{r.GetProperty("id").GetString(),-36} {r.GetProperty("type").GetString(),-20} {r.GetProperty("status").GetString(),-10} {r.GetProperty("dueAt").GetDateTimeOffset(),-20:u} {r.GetProperty("subject").GetString()}{overdue}");
        }
    }
}
