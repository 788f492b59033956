using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tandem.Hosting;
using Tandem.Privacy;
using Tandem.Settings;
using Tandem.Storage;
using Tandem.Storage.Sqlite;
using Tandem.Tests.Support;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>
/// <c>suppressions.db</c> as docs/privacy.md describes it: SHA-256 digests of type and value (trimmed,
/// emails in lower case), never the value in clear; a file written earlier keeps working; and custom
/// identifier types read from a trait are followed as the identity rules change.
/// </summary>
public sealed class SuppressionFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void TheFile_KeepsSha256DigestsOfTypeAndKeptValue_NeverTheValue()
    {
        using (var list = TestSuppressions.Open(_directory, TimeProvider.System))
        {
            list.Suppress("prq_1", [new Identifier(IdentifierType.Email, "  Ada@Example.COM "), new Identifier(IdentifierType.UserId, " ada-1")]);
        }

        SqliteConnection.ClearAllPools();
        var path = Path.Combine(_directory, "suppressions.db");
        using (var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT type, hex(digest) FROM suppressed_identifiers ORDER BY type";
            using var reader = command.ExecuteReader();
            var rows = new List<(string, string)>();
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetString(1)));
            }

            // sha256("email\nada@example.com") and sha256("user_id\nada-1"), computed outside Tandem.
            Assert.Equal([
                ("email", "6BAC39FB09DC9D6CA6946DA0F3358CD8F93D119EA4738EF6F143D6A907CE6FAB"),
                ("user_id", "5BC0D98DE382290B630AB45880797784E13ABF482D05277DB9C3673ACDD17422"),
            ], rows);
        }

        var bytes = Encoding.Latin1.GetString(File.ReadAllBytes(path))
            + (File.Exists(path + "-wal") ? Encoding.Latin1.GetString(File.ReadAllBytes(path + "-wal")) : "");
        Assert.DoesNotContain("example.com", bytes, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ada-1", bytes, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileWrittenEarlier_StillDropsThePerson_ThroughBothItsDigestAndItsPrefilter()
    {
        // Rows as this version writes them, values worked out by hand: the digest is SHA-256 of
        // "type\nkept value"; the prefilter is XXH32 (seed 0) of the type's first 16 characters, "\n"
        // and the kept value. A change to either would let a suppressed person in after an upgrade.
        TestSuppressions.Open(_directory, TimeProvider.System).Dispose(); // creates the tables

        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "suppressions.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO suppressions(request_id, created_at) VALUES ('prq_old', 1764900000000);
                INSERT INTO suppressed_identifiers(digest, type, request_id, prefilter) VALUES
                  (X'5BC0D98DE382290B630AB45880797784E13ABF482D05277DB9C3673ACDD17422', 'user_id', 'prq_old', 2287255039),
                  (X'6BAC39FB09DC9D6CA6946DA0F3358CD8F93D119EA4738EF6F143D6A907CE6FAB', 'email', 'prq_old', 3706874171),
                  (X'1922D0CBE3E8C9EA7393481434D6E9E7F1AF4415B0585CD7BA2DAAE0338F0502', 'salesforce_contact_id', 'prq_old', 3171327751);
                """;
            command.ExecuteNonQuery();
        }

        using var reopened = TestSuppressions.Open(_directory, TimeProvider.System);
        Assert.True(reopened.Active);
        Assert.Equal("prq_old", reopened.Match(Encoding.UTF8.GetBytes("""{"userId":"ada-1"}""")));
        Assert.Equal("prq_old", reopened.Match(Encoding.UTF8.GetBytes("""{"traits":{"email":"ADA@example.com"}}""")));
        Assert.Equal("prq_old", reopened.Match(Encoding.UTF8.GetBytes("""{"context":{"externalIds":[{"id":"003XYZ","type":"salesforce_contact_id"}]}}""")));
        Assert.Null(reopened.Match(Encoding.UTF8.GetBytes("""{"userId":"ada-2"}""")));
    }

    [Fact]
    public void ACustomTypeReadFromATrait_IsCheckedFromTheMomentTheRulesSayItIs()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        using var audit = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, clock);
        using var control = SqliteControlStore.Open(_directory);
        var unify = new UnifySettings(new SettingsService(control, audit, clock));
        unify.SaveRules(new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("crm_id", 1, 5)]));

        using var list = TestSuppressions.Open(_directory, clock, unify);
        list.Suppress("prq_1", [new Identifier("crm_id", "c-9")]);
        var inTraits = Encoding.UTF8.GetBytes("""{"userId":"someone","traits":{"crm":"c-9"}}""");
        var inContextTraits = Encoding.UTF8.GetBytes("""{"userId":"someone","context":{"traits":{"crm":" c-9 "}}}""");
        Assert.Null(list.Match(inTraits)); // crm_id is not read from any trait yet

        unify.SaveRules(new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("crm_id", 1, 5, TraitKey: "crm")]));
        Assert.Equal("prq_1", list.Match(inTraits));
        Assert.Equal("prq_1", list.Match(inContextTraits));
        Assert.True(list.Naming([new Identifier("crm_id", "c-9")])(Encoding.UTF8.GetBytes("""{"traits":{"crm":"c\u002D9"}}""")));

        unify.SaveRules(new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("crm_id", 1, 5)]));
        Assert.Null(list.Match(inTraits));
    }

    [Fact]
    public void ACustomTypeReadFromATrait_InTheRulesAtStart_IsChecked()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        using var audit = TestAudit.Open(new TandemOptions { DataDirectory = _directory }, clock);
        using var control = SqliteControlStore.Open(_directory);
        var unify = new UnifySettings(new SettingsService(control, audit, clock));
        unify.SaveRules(new IdentityRules([.. IdentityRules.DefaultTypes, new IdentifierType("crm_id", 1, 5, TraitKey: "crm")]));

        using var list = TestSuppressions.Open(_directory, clock, unify);
        list.Suppress("prq_1", [new Identifier("crm_id", "c-9")]);
        Assert.Equal("prq_1", list.Match(Encoding.UTF8.GetBytes("""{"traits":{"plan":"pro","crm":"c-9"}}""")));
        Assert.Null(list.Match(Encoding.UTF8.GetBytes("""{"traits":{"crm":"c-10","email":"c-9"}}""")));
    }
}
