using System.Text.RegularExpressions;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>
/// Where SQL and SQLite may appear in src/ (ADR 0002): each database's schema in the one file that owns
/// it, the log's tables named only by the log, and SQLite types only in the files that still hold storage.
/// The last list shrinks as ports are carved; a file added to it needs a reason in the ADR.
/// </summary>
public sealed partial class StorageBoundaryTests
{
    private static readonly string Src = Path.Combine(ChildProcess.RepositoryRoot, "src");

    [Fact]
    public void Schemas_AreCreatedOnlyByTheFileThatOwnsEachDatabase()
    {
        Assert.Equal(
            // SqliteDatabase: the helper that adds a column a table lacks, called by the owners.
            ["Collect/IngestLog.cs", "Privacy/SuppressionList.cs", "Storage/ControlSchema.cs", "Storage/SqliteDatabase.cs", "Trust/AuditLog.cs"],
            FilesMatching(CreateOrAlter()));
    }

    [Fact]
    public void LogTables_AreReadAndWrittenOnlyByTheLog()
    {
        Assert.Equal(["Collect/EventInsert.cs", "Collect/IngestLog.cs"], FilesMatching(LogTable()));
    }

    [Fact]
    public void ControlTablesWithAPort_AreReadAndWrittenOnlyByTheirAdapter()
    {
        Assert.Equal(
            [
                "Storage/Sqlite/SqliteMemberStore.cs", "Storage/Sqlite/SqlitePrivacyRequestStore.cs",
                "Storage/Sqlite/SqliteRetentionRunStore.cs", "Storage/Sqlite/SqliteTokenStore.cs",
            ],
            FilesMatching(PortedControlTable()));
    }

    [Fact]
    public void SqliteTypes_AppearOnlyInTheFilesThatHoldStorage()
    {
        Assert.Equal(
            [
                "Collect/EventInsert.cs", "Collect/IngestLog.cs",
                "Privacy/SuppressionList.cs",
                "Storage/ControlSchema.cs", "Storage/ControlStore.cs",
                "Storage/Sqlite/ControlDatabase.cs", "Storage/Sqlite/SqliteMemberStore.cs", "Storage/Sqlite/SqlitePrivacyRequestStore.cs",
                "Storage/Sqlite/SqliteRetentionRunStore.cs", "Storage/Sqlite/SqliteTokenStore.cs", "Storage/SqliteDatabase.cs",
                "Trust/AuditChain.cs", "Trust/AuditLog.cs",
            ],
            FilesMatching(SqliteNamespace()));
    }

    [Fact]
    public void TheScan_SeesTheSourceTree()
    {
        // Guards the three tests above against passing on an empty or wrong folder.
        Assert.True(File.Exists(Path.Combine(Src, "Tandem", "Collect", "IngestLog.cs")), Src);
        Assert.Contains("Storage/ControlSchema.cs", FilesMatching(CreateOrAlter()));
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

    [GeneratedRegex(@"\b(FROM|INTO|UPDATE|JOIN)\s+(members|api_tokens|privacy_requests|retention_runs)\b")]
    private static partial Regex PortedControlTable();

    [GeneratedRegex(@"\b(Microsoft\.Data\.Sqlite|SQLitePCL)\b")]
    private static partial Regex SqliteNamespace();
}
