using System.Text.Json.Nodes;
using Tandem.Settings;

namespace Tandem.Privacy;

/// <summary>The retention policy as a settings document: how long each kind of event is kept.</summary>
internal sealed class RetentionPolicyDocument : TextSettingsDocument<RetentionPolicy>
{
    public static RetentionPolicyDocument Instance { get; } = new();

    public override string Key => "retention.policy";

    public override RetentionPolicy Default => RetentionPolicy.KeepEverything;

    public override string AuditTarget => "retention:policy";

    public override string AuditAction(RetentionPolicy? after) => "retention.policy_changed";

    public override RetentionPolicy? Parse(string json, out SettingsRefusal? refusal) =>
        Checked(RetentionPolicy.TryParse(json, out var policy, out var errors), policy, () => errors.Select(e => new SettingsError(e.Field, e.Detail)),
            "invalid_retention_policy", "The retention policy cannot be used", out refusal);

    public override string Write(RetentionPolicy? value) => value!.ToJson().ToJsonString();

    public override JsonNode? AuditView(RetentionPolicy? value) => value?.ToJson();
}
