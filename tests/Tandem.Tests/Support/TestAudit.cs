using Microsoft.Extensions.Logging.Abstractions;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;
using Tandem.Trust;

namespace Tandem.Tests.Support;

/// <summary>An audit log over <c>audit.db</c> and <c>audit.head</c> in a data folder, as the server opens it; disposing it closes the files.</summary>
internal static class TestAudit
{
    public static AuditLog Open(TandemOptions options, TimeProvider time) =>
        new(new SqliteAuditStore(options.DataDirectory), options, time, NullLogger<AuditLog>.Instance, ownsStore: true);
}
