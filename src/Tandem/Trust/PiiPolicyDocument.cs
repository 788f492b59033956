using Tandem.Settings;

namespace Tandem.Trust;

/// <summary>The PII access policy as a settings document: role × class → full, masked or hidden.</summary>
internal sealed class PiiPolicyDocument : TextSettingsDocument<AccessPolicy>
{
    public static PiiPolicyDocument Instance { get; } = new();

    public override string Key => "pii.policy";

    public override AccessPolicy Default => AccessPolicy.Default;

    public override string AuditTarget => "pii:policy";

    public override string AuditAction(AccessPolicy? after) => "pii.policy_change";

    public override AccessPolicy? Parse(string json, out SettingsRefusal? refusal) =>
        Checked(AccessPolicy.TryParse(json, out var policy, out var errors), policy, () => errors.Select(e => new SettingsError(e.Field, e.Detail)),
            "invalid_policy", "The policy cannot be used", out refusal);

    public override string Write(AccessPolicy? value) => value!.ToJson();
}
