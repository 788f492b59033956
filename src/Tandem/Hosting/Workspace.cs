using System.Security.Cryptography;
using Tandem.Sources;
using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Hosting;

/// <summary>First start of a data folder: the workspace, its first admin token and a default source.</summary>
internal sealed class Workspace(IWorkspaceStore store, TokenRegistry tokens, SourceRegistry sources, TandemOptions options, TimeProvider time, ILogger<Workspace> logger)
{
    public const string DefaultSourceName = "Default source";

    public void EnsureCreated()
    {
        if (store.WorkspaceId() is not null)
        {
            SayWhenEnvironmentTokenIsIgnored();
            return;
        }

        var now = time.GetUtcNow();
        var token = string.IsNullOrWhiteSpace(options.AdminToken)
            ? "tdm_admin_" + RandomNumberGenerator.GetHexString(40, lowercase: true)
            : options.AdminToken.Trim();
        // The workspace row is written last: a first start cut short is simply done again.
        tokens.CreateFirstAdminToken(token);
        var (source, writeKey) = sources.Issue(DefaultSourceName);
        store.CreateWorkspace("ws_" + RandomNumberGenerator.GetHexString(12, lowercase: true), "Default workspace", now);
        Log.WorkspaceCreated(logger, Path.GetFullPath(options.DataDirectory));

        var announce = options.Announce ?? Console.Out;
        announce.WriteLine($"Tandem: new workspace in {Path.GetFullPath(options.DataDirectory)}");
        announce.WriteLine(string.IsNullOrWhiteSpace(options.AdminToken)
            ? $"  admin token (shown once, keep it safe): {token}"
            : "  admin token: the value of TANDEM_ADMIN_TOKEN");
        announce.WriteLine($"  default source '{source.Name}' ({source.Id}), write key: {writeKey}");
        announce.WriteLine($"  (write keys are shown once and not stored; a lost one is replaced with: ./tandem sources rotate-key {source.Id})");
        announce.Flush();
    }

    /// <summary>
    /// TANDEM_ADMIN_TOKEN only sets the token of a new workspace. Starting an existing one with another
    /// value would otherwise look like a working setup whose every call answers 401.
    /// </summary>
    private void SayWhenEnvironmentTokenIsIgnored()
    {
        if (string.IsNullOrWhiteSpace(options.AdminToken)
            || tokens.FindBySecret(options.AdminToken.Trim()) is { } token && TokenRegistry.IsActiveAdmin(token, time.GetUtcNow()))
        {
            return;
        }

        var folder = Path.GetFullPath(options.DataDirectory);
        var announce = options.Announce ?? Console.Out;
        announce.WriteLine($"Tandem: TANDEM_ADMIN_TOKEN is ignored: the workspace in {folder} already has an admin token (the variable only sets it on first start); "
            + $"to make it the admin token, stop the server and run: ./tandem tokens reset-admin --data {folder}");
        announce.Flush();
    }
}
