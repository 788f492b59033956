using System.CommandLine;
using System.Text.Json;
using Tandem.Trust;

namespace Tandem.Cli;

/// <summary><c>./tandem audit ...</c>: check the audit log in a data folder, read it from a running server.</summary>
internal static class AuditCommand
{
    public const int Intact = 0;
    public const int NoLog = 1;
    public const int Tampered = 2;

    public static Command Build()
    {
        var command = new Command("audit", "Checks and reads the tamper-evident audit log");
        command.Subcommands.Add(VerifyCommand());
        command.Subcommands.Add(ListCommand());
        return command;
    }

    private static Command VerifyCommand()
    {
        var data = new Option<string>("--data") { Description = "Data folder of the server", DefaultValueFactory = _ => "./tandem-data" };
        var verify = new Command("verify", "Checks every record's hash, every link of the chain and the anchor (read-only; works while the server runs). Exit 0 intact, 2 tampered, 1 no audit log") { data };
        verify.SetAction(result =>
        {
            var directory = result.GetValue(data)!;
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            if (!File.Exists(Path.Combine(directory, AuditLog.DatabaseFile)) && !File.Exists(Path.Combine(directory, AuditLog.AnchorFile)))
            {
                error.WriteLine(Directory.Exists(directory)
                    ? $"no audit log in {Path.GetFullPath(directory)}: it holds neither {AuditLog.DatabaseFile} nor {AuditLog.AnchorFile}. Is --data the server's data folder?"
                    : $"no data folder at {Path.GetFullPath(directory)}: pass the server's data folder with --data.");
                return NoLog;
            }

            var outcome = AuditLog.Verify(directory);
            if (outcome.Intact)
            {
                output.WriteLine($"audit log intact: {outcome.Records} records, head #{outcome.HeadSeq} sha256:{outcome.HeadHash}");
                return Intact;
            }

            error.WriteLine(outcome.Seq is { } seq
                ? $"audit log TAMPERED at record #{seq}: {outcome.Problem}"
                : $"audit log TAMPERED: {outcome.Problem}");
            return Tampered;
        });
        return verify;
    }

    private static Command ListCommand()
    {
        var url = ApiClient.UrlOption();
        var token = ApiClient.TokenOption();
        var actor = new Option<string?>("--actor") { Description = "Only this actor, such as member:mbr_… or token:tok_…" };
        var action = new Option<string?>("--action") { Description = "Only this action, or a prefix ending in .* such as source.*" };
        var target = new Option<string?>("--target") { Description = "Only this target, such as source:src_…" };
        var since = new Option<string?>("--since") { Description = "From this ISO 8601 time or date" };
        var limit = new Option<int>("--limit") { Description = "How many records, newest first (1 to 500)", DefaultValueFactory = _ => 50 };
        var list = ApiClient.Leaf("list", "Lists audit records, newest first (talks to a running server)", [], url, token, Print, (api, r, ct) =>
        {
            var filters = new[] { ("actor", r.GetValue(actor)), ("action", r.GetValue(action)), ("target", r.GetValue(target)), ("since", r.GetValue(since)) }
                .Where(f => f.Item2 is not null)
                .Select(f => $"&{f.Item1}={Uri.EscapeDataString(f.Item2!)}");
            return api.SendAsync(HttpMethod.Get, $"api/v1/audit?limit={r.GetValue(limit)}{string.Concat(filters)}", null, ct);
        });
        foreach (var option in new Option[] { actor, action, target, since, limit })
        {
            list.Options.Add(option);
        }

        return list;
    }

    private static void Print(JsonElement page, TextWriter output)
    {
        output.WriteLine($"{"SEQ",-7} {"AT",-20} {"ACTOR",-24} {"ACTION",-22} TARGET");
        foreach (var r in page.GetProperty("records").EnumerateArray())
        {
            var detail = r.GetProperty("detail").GetString() is { } text ? "  " + text : "";
            output.WriteLine($"{r.GetProperty("seq").GetInt64(),-7} {r.GetProperty("at").GetDateTimeOffset(),-20:u} {r.GetProperty("actor").GetString(),-24} {r.GetProperty("action").GetString(),-22} {r.GetProperty("target").GetString()}{detail}");
        }
    }
}
