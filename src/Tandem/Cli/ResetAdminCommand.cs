using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Tandem.Hosting;
using Tandem.Storage;
using Tandem.Storage.Sqlite;
using Tandem.Trust;

namespace Tandem.Cli;

/// <summary>
/// <c>./tandem tokens reset-admin --data DIR</c>: a new admin token for a workspace whose admin token is
/// lost, leaked, or is not the one in TANDEM_ADMIN_TOKEN. It works on the data folder itself, because
/// without an admin token there is no one to ask the server; so the server must be stopped.
/// </summary>
internal static class ResetAdminCommand
{
    public const int Reset = 0;
    public const int Refused = 1;
    public const int InUse = 2;

    public static Command Build()
    {
        var data = new Option<string>("--data") { Description = "Data folder of the stopped server", DefaultValueFactory = _ => "./tandem-data" };
        var command = new Command("reset-admin",
            "Issues a new admin token in a data folder while its server is stopped: the value of $TANDEM_ADMIN_TOKEN when set, "
            + "else a generated one printed once. Every other admin token is revoked, and the audit log records who did it")
        {
            data,
        };
        command.SetAction(result => Run(result.GetValue(data)!, Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN"),
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error));
        return command;
    }

    internal static int Run(string dataDirectory, string? chosenSecret, TextWriter output, TextWriter error)
    {
        var folder = Path.GetFullPath(dataDirectory);
        if (AdminTokenRule.Weakness(chosenSecret) is { } weak)
        {
            error.WriteLine($"error: TANDEM_ADMIN_TOKEN is too weak to be the admin token: {weak} {AdminTokenRule.HowToMakeOne}");
            return Refused;
        }

        if (!File.Exists(Path.Combine(folder, "tandem.db")))
        {
            error.WriteLine($"error: no workspace in {folder}: pass the server's data folder with --data (a new one is created by ./tandem serve).");
            return Refused;
        }

        DataFolderLock folderLock;
        try
        {
            folderLock = DataFolderLock.Acquire(folder);
        }
        catch (DataFolderInUseException e)
        {
            error.WriteLine($"error: {e.Message}: stop the server first, then run tokens reset-admin again.");
            return InUse;
        }

        using (folderLock)
        {
            var options = new TandemOptions { DataDirectory = folder };
            using (var store = SqliteControlStore.Open(folder))
            {
                if (store.WorkspaceId() is null)
                {
                    error.WriteLine($"error: no workspace in {folder}: it was never started to the end; start it once with ./tandem serve --data {folder}.");
                    return Refused;
                }
            }

            var generated = string.IsNullOrWhiteSpace(chosenSecret);
            var secret = generated ? "tdm_admin_" + RandomNumberGenerator.GetHexString(40, lowercase: true) : chosenSecret!.Trim();
            using var tokenStore = SqliteTokenStore.Open(folder);
            var tokens = new TokenRegistry(tokenStore, TimeProvider.System);
            ApiToken token;
            IReadOnlyList<ApiToken> revoked;
            try
            {
                (token, revoked) = tokens.ResetAdmin(secret);
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"error: TANDEM_ADMIN_TOKEN: {e.Message.Split(" (Parameter")[0]} Unset it to get a generated token.");
                return Refused;
            }

            Audit(options, token, revoked);
            output.WriteLine($"new admin token {token.Id} in {folder}; revoked: {(revoked.Count == 0 ? "none" : string.Join(", ", revoked.Select(t => t.Id)))}");
            output.WriteLine(generated
                ? $"  admin token (shown once, keep it safe): {secret}"
                : "  admin token: the value of TANDEM_ADMIN_TOKEN");
            var others = tokens.List(null).Where(t => t.OwnerId is null && t.RevokedAt is null && t.Id != token.Id).ToList();
            if (others.Count > 0)
            {
                // Tokens without an owner were made by an admin token; if that one leaked, so may they have.
                output.WriteLine($"  still active without an owner (check them; revoke with ./tandem tokens revoke): {string.Join(", ", others.Select(t => $"{t.Id} \"{t.Name}\""))}");
            }

            return Reset;
        }
    }

    /// <summary>One record per revoked token and one for the new one, by the operating-system user who ran the command.</summary>
    private static void Audit(TandemOptions options, ApiToken token, IReadOnlyList<ApiToken> revoked)
    {
        using var audit = new AuditLog(new SqliteAuditStore(options.DataDirectory), options, TimeProvider.System, NullLogger<AuditLog>.Instance, ownsStore: true);
        var actor = $"operator:{Environment.UserName}@{Environment.MachineName}";
        var detail = $"./tandem tokens reset-admin, run by OS user {Environment.UserName} on {Environment.MachineName} (process {Environment.ProcessId})";
        foreach (var old in revoked)
        {
            audit.Append(actor, "token.revoke", "token:" + old.Id, View(old with { RevokedAt = null }), View(old), detail);
        }

        audit.Append(actor, "token.reset_admin", "token:" + token.Id, after: View(token),
            detail: $"{detail}; revoked {(revoked.Count == 0 ? "none" : string.Join(", ", revoked.Select(t => t.Id)))}");
    }

    private static System.Text.Json.Nodes.JsonNode? View(ApiToken token) =>
        JsonSerializer.SerializeToNode(TrustApi.TokenView.From(token, token.RevokedAt ?? token.CreatedAt, [Roles.Admin]), JsonSerializerOptions.Web);
}
