using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Settings;

/// <summary>
/// The settings rules without HTTP: what the API and the console both rely on when an admin changes a
/// policy. A document that cannot be used changes nothing and says every problem with its field; one
/// that can is in force at once, kept across a restart, and audited with what it replaced.
/// </summary>
public sealed class SettingsServiceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-settings-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private readonly AuditLog _audit;
    private SqliteControlStore _control;
    private SettingsService _settings;

    public SettingsServiceTests()
    {
        _audit = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, _clock);
        _control = SqliteControlStore.Open(_directory);
        _settings = new(_control, _audit, _clock);
    }

    [Fact]
    public void Current_NothingSaved_IsEachDocumentsDefault()
    {
        Assert.Same(AccessPolicy.Default, _settings.Current(PiiPolicyDocument.Instance));
        Assert.Same(PurposeCatalog.Default, _settings.Current(PurposesDocument.Instance));
        Assert.Same(RetentionPolicy.KeepEverything, _settings.Current(RetentionPolicyDocument.Instance));
        Assert.Null(_settings.Current(OidcDocument.Instance));
    }

    [Fact]
    public void Save_ValidPiiPolicy_IsInForceKeptAcrossARestartAndAuditedWithBeforeAndAfter()
    {
        var change = _settings.Save("member:ada", PiiPolicyDocument.Instance, """{"marketer":{"yellow":"full"}}""");

        Assert.True(change.Saved);
        Assert.Equal(Exposure.Full, _settings.Current(PiiPolicyDocument.Instance)!.For(["marketer"], PiiClass.Yellow));
        Restart();
        Assert.Equal(Exposure.Full, _settings.Current(PiiPolicyDocument.Instance)!.For(["marketer"], PiiClass.Yellow));

        var record = Assert.Single(_audit.Query(new AuditQuery()).Records);
        Assert.Equal(("member:ada", "pii.policy_change", "pii:policy"), (record.Actor, record.Action, record.Target));
        Assert.Equal(AccessPolicy.Default.ToJson(), record.Before!.ToJsonString());
        Assert.Equal(change.After!.ToJson(), record.After!.ToJsonString());
    }

    [Fact]
    public void Save_PiiPolicyWithTwoProblems_RefusesWithEachFieldAndChangesNothing()
    {
        var change = _settings.Save("member:ada", PiiPolicyDocument.Instance, """{"intern":{},"marketer":{"purple":"full"}}""");

        Assert.False(change.Saved);
        Assert.Equal(("invalid_policy", "The policy cannot be used"), (change.Refused!.Code, change.Refused.Title));
        Assert.Equal(["intern", "marketer.purple"], change.Refused.Errors.Select(e => e.Field));
        Assert.Same(AccessPolicy.Default, _settings.Current(PiiPolicyDocument.Instance));
        Assert.Null(_control.Setting(PiiPolicyDocument.Instance.Key));
        Assert.Empty(_audit.Query(new AuditQuery()).Records);
    }

    [Fact]
    public void Current_StoredPolicyThatNoLongerParses_LeavesTheDefaultInForce()
    {
        _control.SaveSetting(PiiPolicyDocument.Instance.Key, """{"intern":{}}""", _clock.GetUtcNow());

        Assert.Same(AccessPolicy.Default, _settings.Current(PiiPolicyDocument.Instance));
    }

    [Fact]
    public void Save_ConsentPurposes_RefusesAnUnknownFieldAndSavesAValidList()
    {
        var refused = _settings.Save("member:ada", PurposesDocument.Instance, """{"purposes":[{"name":"marketing"}],"extra":1}""");
        Assert.Equal("invalid_purposes", refused.Refused!.Code);
        Assert.Contains(refused.Refused.Errors, e => e.Field == "extra");

        var saved = _settings.Save("member:ada", PurposesDocument.Instance, """{"purposes":[{"name":"marketing"},{"name":"analytics"}]}""");

        Assert.True(saved.Saved);
        Assert.NotNull(_settings.Current(PurposesDocument.Instance)!.Find("analytics"));
        var record = Assert.Single(_audit.Query(new AuditQuery()).Records);
        Assert.Equal(("consent.purposes_change", "consent:purposes"), (record.Action, record.Target));
    }

    [Fact]
    public void Save_RetentionPolicy_RefusesZeroDaysAndAuditsAValidChangeWithTheDaysBeforeAndAfter()
    {
        var refused = _settings.Save("member:ada", RetentionPolicyDocument.Instance, """{"defaultDays": 0}""");
        Assert.Equal("invalid_retention_policy", refused.Refused!.Code);
        Assert.Equal("defaultDays", Assert.Single(refused.Refused.Errors).Field);

        _settings.Save("member:ada", RetentionPolicyDocument.Instance, """{"defaultDays": 30}""");

        Assert.Equal(30, _settings.Current(RetentionPolicyDocument.Instance)!.DefaultDays);
        var record = Assert.Single(_audit.Query(new AuditQuery()).Records);
        Assert.Equal(("retention.policy_changed", "retention:policy"), (record.Action, record.Target));
        Assert.Null(record.Before!["defaultDays"]);
        Assert.Equal(30, (int)record.After!["defaultDays"]!);
    }

    [Fact]
    public void Save_RaisesChangedWithTheKey_AndARefusalRaisesNothing()
    {
        var changed = new List<string>();
        _settings.Changed += changed.Add;

        _settings.Save("member:ada", RetentionPolicyDocument.Instance, """{"defaultDays": -1}""");
        _settings.Save("member:ada", RetentionPolicyDocument.Instance, """{"defaultDays": 7}""");

        Assert.Equal(["retention.policy"], changed);
    }

    [Fact]
    public void OidcValidate_TrustingUnverifiedEmailWithoutDomains_IsRefusedAtAllowedEmailDomains()
    {
        var settings = OidcDocument.Validate(Oidc() with { TrustUnverifiedEmail = true }, null, Seal, _clock.GetUtcNow(), out var refusal);

        Assert.Null(settings);
        Assert.Equal("email_domains_required", refusal!.Code);
        Assert.Equal("allowedEmailDomains", Assert.Single(refusal.Errors).Field);
    }

    [Fact]
    public void OidcValidate_SecretLeftOut_KeepsTheStoredSealedSecret()
    {
        var first = OidcDocument.Validate(Oidc() with { ClientSecret = "first-secret" }, null, Seal, _clock.GetUtcNow(), out _);

        var second = OidcDocument.Validate(Oidc() with { DisplayName = "Acme SSO" }, first, Seal, _clock.GetUtcNow(), out var refusal);

        Assert.Null(refusal);
        Assert.Equal("sealed:first-secret", second!.ProtectedSecret);
        Assert.Equal(["openid", "profile", "email"], second.Scopes);
    }

    [Fact]
    public void Save_OidcConfiguredThenRemoved_AuditsNeitherSecretNorItsSealAndLeavesItUnconfigured()
    {
        var settings = OidcDocument.Validate(Oidc() with { ClientSecret = "very-secret-value" }, null, Seal, _clock.GetUtcNow(), out _);

        _settings.Save("member:ada", OidcDocument.Instance, settings, "client secret set");
        _settings.Save("member:ada", OidcDocument.Instance, null);

        Assert.Null(_settings.Current(OidcDocument.Instance));
        Restart();
        Assert.Null(_settings.Current(OidcDocument.Instance));
        var records = _audit.Query(new AuditQuery()).Records.Reverse().ToList();
        Assert.Equal(["oidc.configure", "oidc.remove"], records.Select(r => r.Action));
        Assert.Equal("client secret set", records[0].Detail);
        Assert.True((bool)records[0].After!["clientSecretSet"]!);
        Assert.All(records, r => Assert.DoesNotContain("secret-value", r.Before?.ToJsonString() + r.After?.ToJsonString(), StringComparison.Ordinal));
        Assert.Null(records[1].After);
    }

    [Fact]
    public void UnifySettings_SavedTypes_ReadBackWithTheBuiltInsAfterARestart_AndAreNotAuditedHere()
    {
        var saved = new List<IdentityRules>();
        var unify = new UnifySettings(_settings);
        unify.RulesSaved += saved.Add;

        unify.SaveRules(new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("crm_id", 1, 5)]));
        Restart();

        var types = new UnifySettings(_settings).LoadRules().Types.Select(t => t.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { IdentifierType.UserId, IdentifierType.Email, IdentifierType.Phone, IdentifierType.AnonymousId, "crm_id" }, types);
        Assert.Single(saved);
        Assert.Empty(_audit.Query(new AuditQuery()).Records); // the API records the one type that changed
    }

    public void Dispose()
    {
        _control.Dispose();
        _audit.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static OidcRequest Oidc() => new("https://login.example.com/realms/acme", "tandem", null, null, null, null, null, null);

    private static string Seal(string secret) => "sealed:" + secret;

    /// <summary>A new service over a new connection to the same folder: what a restarted server reads.</summary>
    private void Restart()
    {
        _control.Dispose();
        _control = SqliteControlStore.Open(_directory);
        _settings = new(_control, _audit, _clock);
    }
}
