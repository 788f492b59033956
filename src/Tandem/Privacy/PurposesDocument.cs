using Tandem.Settings;
using Tandem.Trust;

namespace Tandem.Privacy;

/// <summary>The workspace's consent purposes as a settings document.</summary>
internal sealed class PurposesDocument : TextSettingsDocument<PurposeCatalog>
{
    public static PurposesDocument Instance { get; } = new();

    public override string Key => "consent.purposes";

    public override PurposeCatalog Default => PurposeCatalog.Default;

    public override string AuditTarget => "consent:purposes";

    public override string AuditAction(PurposeCatalog? after) => "consent.purposes_change";

    public override PurposeCatalog? Parse(string json, out SettingsRefusal? refusal) =>
        Checked(PurposeCatalog.TryParse(json, out var catalog, out var errors), catalog, () => errors.Select(e => new SettingsError(e.Field, e.Detail)),
            "invalid_purposes", "The purposes cannot be used", out refusal);

    public override string Write(PurposeCatalog? value) => value!.ToJson();
}
