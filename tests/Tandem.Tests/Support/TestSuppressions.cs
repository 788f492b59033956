using Tandem.Privacy;
using Tandem.Storage.Sqlite;
using Tandem.Unify;

namespace Tandem.Tests.Support;

/// <summary>A suppression list over <c>suppressions.db</c> in a folder, as the server opens it; disposing it saves its counts and closes the file.</summary>
internal static class TestSuppressions
{
    public static SuppressionList Open(string directory, TimeProvider time, UnifySettings? settings = null) =>
        new(new SqliteSuppressionStore(directory), time, settings, ownsStore: true);
}
