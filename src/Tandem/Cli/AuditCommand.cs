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
        command.Subcommands.Add(CheckpointCommand());
        command.Subcommands.Add(ListCommand());
        return command;
    }

    private static Command VerifyCommand()
    {
        var data = DataOption();
        var keyFile = KeyFileOption();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A checkpoint written by ./tandem audit checkpoint: the log must still hold its head record" };
        var verify = new Command("verify", "Checks every record's hash, every link of the chain and the anchor, and with the audit key every MAC (read-only; works while the server runs). Exit 0 intact, 2 tampered, 1 no audit log or nothing to check with")
        {
            data, keyFile, checkpoint,
        };
        verify.SetAction(result =>
        {
            var directory = result.GetValue(data)!;
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            if (result.GetValue(checkpoint) is not null && Directory.Exists(directory) && !File.Exists(Path.Combine(directory, AuditLog.DatabaseFile)))
            {
                error.WriteLine($"audit log TAMPERED: {Path.GetFullPath(directory)} holds no {AuditLog.DatabaseFile}, but the checkpoint says the log existed.");
                return Tampered;
            }

            if (!Open(directory, result.GetValue(keyFile), error, out var key))
            {
                return NoLog;
            }

            AuditCheckpoint? kept = null;
            if (result.GetValue(checkpoint) is { } path)
            {
                (kept, var problem) = AuditCheckpoint.Read(path);
                if (kept is null)
                {
                    error.WriteLine("error: " + problem);
                    return NoLog;
                }

                if (key is not null && !kept.SignedBy(key))
                {
                    error.WriteLine($"checkpoint {path} TAMPERED: {(kept.Mac is null ? "it carries no MAC" : "its MAC was not made with this key")}; it proves nothing about the log.");
                    return Tampered;
                }
            }

            var outcome = AuditChain.Verify(directory, key, kept);
            if (outcome.Intact)
            {
                output.WriteLine($"audit log intact: {outcome.Records} records, head #{outcome.HeadSeq} sha256:{outcome.HeadHash}");
                output.WriteLine(key is null
                    ? "  hashes only: no audit key given ($TANDEM_AUDIT_KEY or --audit-key-file), so records forged or cut by someone who can write the data folder are not detected"
                    : "  MACs checked with the audit key");
                if (kept is not null)
                {
                    output.WriteLine($"  extends the checkpoint of {kept.At:u} (record #{kept.HeadSeq}){(key is null && kept.Mac is not null ? "; its MAC was not checked (no key)" : "")}");
                }

                return Intact;
            }

            error.WriteLine(outcome.Seq is { } seq
                ? $"audit log TAMPERED at record #{seq}: {outcome.Problem}"
                : $"audit log TAMPERED: {outcome.Problem}");
            return Tampered;
        });
        return verify;
    }

    private static Command CheckpointCommand()
    {
        var data = DataOption();
        var keyFile = KeyFileOption();
        var file = new Option<string?>("--out") { Description = "Where to write the checkpoint (standard output when left out); keep it away from the server" };
        var command = new Command("checkpoint", "Checks the audit log, then writes its count, head hash and the time, signed with the audit key, for you to keep off the server. Exit 0 written, 2 tampered, 1 no audit log")
        {
            data, keyFile, file,
        };
        command.SetAction(result =>
        {
            var directory = result.GetValue(data)!;
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            if (!Open(directory, result.GetValue(keyFile), error, out var key))
            {
                return NoLog;
            }

            var outcome = AuditChain.Verify(directory, key);
            if (!outcome.Intact)
            {
                error.WriteLine($"audit log TAMPERED{(outcome.Seq is { } seq ? $" at record #{seq}" : "")}: {outcome.Problem} No checkpoint written.");
                return Tampered;
            }

            var checkpoint = AuditCheckpoint.Of(outcome, TimeProvider.System.GetUtcNow(), key).ToJson();
            if (result.GetValue(file) is { } path)
            {
                File.WriteAllText(path, checkpoint + Environment.NewLine);
                output.WriteLine($"checkpoint of {outcome.Records} records (head #{outcome.HeadSeq}) written to {path}");
            }
            else
            {
                output.WriteLine(checkpoint);
            }

            if (key is null)
            {
                error.WriteLine("note: no audit key, so the checkpoint is not signed: it proves the log only while you keep it where the server cannot write.");
            }

            return Intact;
        });
        return command;
    }

    private static Option<string> DataOption() => new("--data") { Description = "Data folder of the server", DefaultValueFactory = _ => "./tandem-data" };

    private static Option<string?> KeyFileOption() =>
        new(AuditKey.FileOption) { Description = $"File holding the server's audit key; else ${AuditKey.EnvironmentVariable}" };

    /// <summary>Finds the log and reads the key; says why not and answers false when the log is missing or the key unusable.</summary>
    private static bool Open(string directory, string? keyFile, TextWriter error, out AuditKey? key)
    {
        key = null;
        if (!File.Exists(Path.Combine(directory, AuditLog.DatabaseFile)) && !File.Exists(Path.Combine(directory, AuditLog.AnchorFile)))
        {
            error.WriteLine(Directory.Exists(directory)
                ? $"no audit log in {Path.GetFullPath(directory)}: it holds neither {AuditLog.DatabaseFile} nor {AuditLog.AnchorFile}. Is --data the server's data folder? (A log emptied with its anchor shows only against a checkpoint kept elsewhere.)"
                : $"no data folder at {Path.GetFullPath(directory)}: pass the server's data folder with --data.");
            return false;
        }

        try
        {
            key = AuditKey.Load(keyFile, Environment.GetEnvironmentVariable(AuditKey.EnvironmentVariable), directory);
            return true;
        }
        catch (Tandem.Hosting.StartRefusedException e)
        {
            error.WriteLine("error: " + e.Message);
            return false;
        }
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
