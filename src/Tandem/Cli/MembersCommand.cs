using System.CommandLine;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary><c>./tandem members ...</c> and <c>./tandem tokens ...</c>: members, roles and API tokens from a terminal.</summary>
internal static class MembersCommand
{
    public static Command Members()
    {
        var (command, url, token) = ApiClient.Group("members", "Lists and manages members and their roles (talks to a running server)");
        var email = new Argument<string>("email") { Description = "The member's email (their sign-in name)" };
        var name = new Argument<string>("name") { Description = "The member's name" };
        var roles = new Argument<string>("roles") { Description = "Comma-separated roles: admin, marketer, it_steward, privacy_officer, analyst, liaison, viewer" };
        var id = new Argument<string>("id") { Description = "Member id (mbr_...)" };

        command.Subcommands.Add(ApiClient.Leaf("list", "Lists members and their roles", [], url, token, PrintMembers,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/members", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("add", "Adds a member; prints the initial password once", [email, name, roles], url, token, PrintCreatedMember,
            (api, r, ct) => api.SendAsync(HttpMethod.Post, "api/v1/members", new { email = r.GetValue(email), name = r.GetValue(name), roles = Split(r.GetValue(roles)) }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("roles", "Replaces a member's roles", [id, roles], url, token, PrintMembers,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/members/{r.GetValue(id)}", new { roles = Split(r.GetValue(roles)) }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("disable", "Disables a member: sessions and tokens stop working", [id], url, token, PrintMembers,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/members/{r.GetValue(id)}", new { disabled = true }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("enable", "Enables a disabled member", [id], url, token, PrintMembers,
            (api, r, ct) => api.SendAsync(HttpMethod.Patch, $"api/v1/members/{r.GetValue(id)}", new { disabled = false }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("reset-password", "Sets a new generated password (printed once) and lifts a lockout", [id], url, token,
            (answer, output) => output.WriteLine($"new password for {answer.GetProperty("id").GetString()} (shown once): {answer.GetProperty("initialPassword").GetString()}"),
            (api, r, ct) => api.SendAsync(HttpMethod.Post, $"api/v1/members/{r.GetValue(id)}/password", null, ct)));
        return command;
    }

    public static Command Tokens()
    {
        var (command, url, token) = ApiClient.Group("tokens", "Lists, creates and revokes API tokens (talks to a running server); reset-admin works on a stopped server's data folder");
        var name = new Argument<string>("name") { Description = "What the token is for, e.g. \"website personalization\"" };
        var scopes = new Argument<string>("scopes") { Description = "Comma-separated scopes, e.g. profiles:read (GET /api/v1/scopes lists them)" };
        var id = new Argument<string>("id") { Description = "Token id (tok_...)" };

        command.Subcommands.Add(ApiClient.Leaf("list", "Lists the caller's tokens (never their secrets)", [], url, token, PrintTokens,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/tokens", null, ct)));
        command.Subcommands.Add(ApiClient.Leaf("create", "Creates a token and prints it once", [name, scopes], url, token,
            (answer, output) =>
            {
                output.WriteLine($"token {answer.GetProperty("id").GetString()} with {string.Join(' ', answer.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()))}");
                output.WriteLine($"  secret (shown once, keep it safe): {answer.GetProperty("token").GetString()}");
            },
            (api, r, ct) => api.SendAsync(HttpMethod.Post, "api/v1/tokens", new { name = r.GetValue(name), scopes = Split(r.GetValue(scopes)) }, ct)));
        command.Subcommands.Add(ApiClient.Leaf("revoke", "Revokes a token at once", [id], url, token, PrintTokens,
            (api, r, ct) => api.SendAsync(HttpMethod.Delete, $"api/v1/tokens/{r.GetValue(id)}", null, ct)));
        command.Subcommands.Add(ResetAdminCommand.Build());
        return command;
    }

    private static string[] Split(string? list) => list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    private static void PrintMembers(JsonElement answer, TextWriter output)
    {
        var rows = answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToArray() : [answer];
        output.WriteLine($"{"ID",-18} {"EMAIL",-32} {"DISABLED",-9} ROLES");
        foreach (var m in rows)
        {
            output.WriteLine($"{m.GetProperty("id").GetString(),-18} {m.GetProperty("email").GetString(),-32} {m.GetProperty("disabled").GetBoolean(),-9} {string.Join(',', m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))}");
        }
    }

    private static void PrintCreatedMember(JsonElement answer, TextWriter output)
    {
        PrintMembers(answer.GetProperty("member"), output);
        if (answer.GetProperty("initialPassword").GetString() is { } password)
        {
            output.WriteLine($"  initial password (shown once): {password}");
        }
    }

    private static void PrintTokens(JsonElement answer, TextWriter output)
    {
        var rows = answer.ValueKind == JsonValueKind.Array ? answer.EnumerateArray().ToArray() : [answer];
        output.WriteLine($"{"ID",-18} {"NAME",-28} {"STATUS",-8} {"EXPIRES",-21} SCOPES");
        foreach (var t in rows)
        {
            var expires = t.GetProperty("expiresAt").ValueKind == JsonValueKind.Null ? "never" : t.GetProperty("expiresAt").GetDateTimeOffset().ToString("u", System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine($"{t.GetProperty("id").GetString(),-18} {t.GetProperty("name").GetString(),-28} {t.GetProperty("status").GetString(),-8} {expires,-21} {string.Join(' ', t.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()))}");
        }
    }
}
