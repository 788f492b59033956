using System.Text.RegularExpressions;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>
/// Where SQL and SQLite may appear in src/ (ADR 0002): each database's schema in the one file that owns
/// it, the log's tables named only by the log, each table of <c>tandem.db</c> only by its adapter, and
/// SQLite types only in the adapters, all in <c>Storage/Sqlite/</c>.
/// </summary>
public sealed partial class StorageBoundaryTests
{
    private static readonly string Src = Path.Combine(ChildProcess.RepositoryRoot, "src");

    [Fact]
    public void Schemas_AreCreatedOnlyByTheFileThatOwnsEachDatabase()
    {
        Assert.Equal(
            // SqliteDatabase: the helper that adds a column a table lacks, called by the owners.
            [
                "Storage/Sqlite/ControlSchema.cs", "Storage/Sqlite/IngestLog.cs", "Storage/Sqlite/SqliteAuditStore.cs",
                "Storage/Sqlite/SqliteDatabase.cs", "Storage/Sqlite/SqliteSuppressionStore.cs",
            ],
            FilesMatching(CreateOrAlter()));
    }

    [Fact]
    public void LogTables_AreReadAndWrittenOnlyByTheLog()
    {
        Assert.Equal(["Storage/Sqlite/EventInsert.cs", "Storage/Sqlite/IngestLog.cs"], FilesMatching(LogTable()));
    }

    [Fact]
    public void ControlTables_AreReadAndWrittenOnlyByTheirAdapters()
    {
        Assert.Equal(
            [
                "Storage/Sqlite/ControlSchema.cs", // the migration that digests write keys kept in clear by older versions
                "Storage/Sqlite/SqliteControlStore.cs", "Storage/Sqlite/SqliteMemberStore.cs", "Storage/Sqlite/SqlitePrivacyRequestStore.cs",
                "Storage/Sqlite/SqliteRetentionRunStore.cs", "Storage/Sqlite/SqliteTokenStore.cs",
            ],
            FilesMatching(ControlTable()));
    }

    [Fact]
    public void SqliteTypes_AppearOnlyInTheSqliteAdapters()
    {
        var files = FilesMatching(SqliteNamespace());
        Assert.Contains("Storage/Sqlite/IngestLog.cs", files);
        Assert.DoesNotContain(files, f => !f.StartsWith("Storage/Sqlite/", StringComparison.Ordinal));
    }

    [Fact]
    public void TheScan_SeesTheSourceTree()
    {
        // Guards the three tests above against passing on an empty or wrong folder.
        Assert.True(File.Exists(Path.Combine(Src, "Tandem", "Storage", "Sqlite", "IngestLog.cs")), Src);
        Assert.Contains("Storage/Sqlite/ControlSchema.cs", FilesMatching(CreateOrAlter()));
    }

    private static List<string> FilesMatching(Regex pattern) =>
    [
        .. Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => pattern.IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Path.Combine(Src, "Tandem"), f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal),
    ];

    [GeneratedRegex(@"\b(CREATE (TABLE|INDEX)|ALTER TABLE)\b")]
    private static partial Regex CreateOrAlter();

    [GeneratedRegex(@"\b(FROM|INTO|UPDATE|JOIN)\s+(events|rejections|log_meta)\b")]
    private static partial Regex LogTable();

    [GeneratedRegex(@"\b(FROM|INTO|UPDATE|JOIN)\s+(workspace|sources|checkpoints|settings|members|api_tokens|privacy_requests|retention_runs)\b")]
    private static partial Regex ControlTable();

    [GeneratedRegex(@"\b(Microsoft\.Data\.Sqlite|SQLitePCL)\b")]
    private static partial Regex SqliteNamespace();
}
