using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Sources;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Sources;

/// <summary>
/// The rules of sources without HTTP, as the console will call them: names of 1 to 100 characters, unique
/// whatever the case; a write key shown once and replaced at once; every change audited with what it
/// replaced, and never the key itself.
/// </summary>
public sealed class SourcesServiceTests : IDisposable
{
    private static readonly Caller Admin = new("member:mbr_admin", "mbr_admin", new HashSet<string> { Scopes.All }, false, null);

    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-sources-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly SqliteControlStore _store;
    private readonly AuditLog _audit;
    private readonly SourceRegistry _registry;
    private readonly SourcesService _service;

    public SourcesServiceTests()
    {
        _store = SqliteControlStore.Open(_directory);
        _audit = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, _clock);
        _registry = new SourceRegistry(_store, _clock);
        _service = new SourcesService(_registry, _audit);
    }

    public void Dispose()
    {
        _audit.Dispose();
        _store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData(null, "missing_name")]
    [InlineData("", "missing_name")]
    [InlineData("   ", "missing_name")]
    [InlineData("x", null)]
    [InlineData(" padded ", null)]
    public void Create_NeedsANonBlankName(string? name, string? refused)
    {
        var created = _service.Create(Admin, name);

        Assert.Equal(refused, created.Refusal?.Code);
        Assert.Equal(refused is null ? name!.Trim() : null, created.Value?.Source.Name);
    }

    [Fact]
    public void Create_NameOfOneHundredCharacters_IsTaken_OneMoreIsRefused()
    {
        Assert.True(_service.Create(Admin, new string('a', 100)).Succeeded);

        var refused = _service.Create(Admin, new string('b', 101)).Refusal!;

        Assert.Equal((RefusalKind.Invalid, "name_too_long", "name"), (refused.Kind, refused.Code, refused.Field));
        Assert.Single(_service.List());
    }

    [Fact]
    public void Create_ANameTakenInAnotherCase_IsAConflict_AndNothingIsAudited()
    {
        _service.Create(Admin, "Website");

        var refused = _service.Create(Admin, " WEBSITE ").Refusal!;

        Assert.Equal((RefusalKind.Conflict, "name_taken"), (refused.Kind, refused.Code));
        Assert.Single(Audited("source.create"));
    }

    [Fact]
    public void Create_TheWriteKeyOpensTheSource_AndTheAuditKeepsOnlyItsEnding()
    {
        var issued = _service.Create(Admin, "Website").Value!;

        Assert.Equal(issued.Source.Id, _registry.FindByWriteKey(issued.WriteKey)?.Id);
        var record = Assert.Single(Audited("source.create"));
        Assert.Equal(("member:mbr_admin", "source:" + issued.Source.Id), (record.Actor, record.Target));
        Assert.Equal("…" + issued.WriteKey[^4..], record.After!["writeKeyEnding"]!.GetValue<string>());
        Assert.DoesNotContain(issued.WriteKey, record.After!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Update_NothingGiven_IsRefused_UnknownId_IsNotFound()
    {
        var id = _service.Create(Admin, "Website").Value!.Source.Id;

        Assert.Equal("nothing_to_change", _service.Update(Admin, id, null, null).Refusal!.Code);
        Assert.Equal(RefusalKind.NotFound, _service.Update(Admin, "src_missing", "New", null).Refusal!.Kind);
        Assert.Empty(Audited("source.update"));
    }

    [Fact]
    public void Update_RenamesAndDisables_AuditedWithBeforeAndAfter()
    {
        var id = _service.Create(Admin, "Website").Value!.Source.Id;

        var updated = _service.Update(Admin, id, " Shop ", false).Value!;

        Assert.Equal(("Shop", false), (updated.Name, updated.Enabled));
        var record = Assert.Single(Audited("source.update"));
        Assert.Equal(("Website", true), (record.Before!["name"]!.GetValue<string>(), record.Before!["enabled"]!.GetValue<bool>()));
        Assert.Equal(("Shop", false), (record.After!["name"]!.GetValue<string>(), record.After!["enabled"]!.GetValue<bool>()));
    }

    [Fact]
    public void Update_ToAnotherSourcesName_IsAConflict()
    {
        _service.Create(Admin, "Website");
        var id = _service.Create(Admin, "Shop").Value!.Source.Id;

        Assert.Equal("name_taken", _service.Update(Admin, id, "website", null).Refusal!.Code);
        Assert.Equal("Shop", _service.Find(id)!.Name);
    }

    [Fact]
    public void RotateKey_TheOldKeyStopsAtOnce_TheNewOneOpensTheSource()
    {
        var issued = _service.Create(Admin, "Website").Value!;

        var rotated = _service.RotateKey(Admin, issued.Source.Id).Value!;

        Assert.Null(_registry.FindByWriteKey(issued.WriteKey));
        Assert.Equal(issued.Source.Id, _registry.FindByWriteKey(rotated.WriteKey)?.Id);
        var record = Assert.Single(Audited("source.rotate_key"));
        Assert.Equal("…" + rotated.WriteKey[^4..], record.After!["writeKeyEnding"]!.GetValue<string>());
        Assert.Equal(RefusalKind.NotFound, _service.RotateKey(Admin, "src_missing").Refusal!.Kind);
    }

    private IReadOnlyList<AuditRecord> Audited(string action) => _audit.Query(new AuditQuery(Action: action)).Records;
}
