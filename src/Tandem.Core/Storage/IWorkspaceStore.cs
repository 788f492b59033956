namespace Tandem.Storage;

/// <summary>
/// The workspace's own row and its settings documents. A settings document is JSON text under a key; what
/// it means, how it is validated and who may change it is <c>SettingsService</c>'s.
/// </summary>
public interface IWorkspaceStore
{
    /// <summary>The workspace's id; null before its first start completed.</summary>
    string? WorkspaceId();

    void CreateWorkspace(string id, string name, DateTimeOffset at);

    /// <summary>A settings document as JSON text; null when it was never saved.</summary>
    string? Setting(string key);

    /// <summary>Saves a settings document, replacing the one under the same key.</summary>
    void SaveSetting(string key, string value, DateTimeOffset at);
}
