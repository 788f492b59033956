using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Storage.Sqlite;

namespace Tandem.Storage;

/// <summary>
/// The one place where the embedded mode chooses its storage: each capability's port bound to its
/// adapter over the data folder (SQLite files, and the profile snapshot as a file). A clustered mode
/// binds the same ports to other adapters in a place like this one.
/// </summary>
internal static class EmbeddedStorage
{
    public static IServiceCollection AddEmbeddedStorage(this IServiceCollection services, TandemOptions options)
    {
        services.AddSingleton(_ => ControlDatabase.Open(options.DataDirectory));
        services.AddSingleton(sp => new SqliteControlStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<IWorkspaceStore>(sp => sp.GetRequiredService<SqliteControlStore>());
        services.AddSingleton<ISourceStore>(sp => sp.GetRequiredService<SqliteControlStore>());
        services.AddSingleton<ICheckpointStore>(sp => sp.GetRequiredService<SqliteControlStore>());
        services.AddSingleton<IMemberStore>(sp => new SqliteMemberStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<ITokenStore>(sp => new SqliteTokenStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<IPrivacyRequestStore>(sp => new SqlitePrivacyRequestStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<IRetentionRunStore>(sp => new SqliteRetentionRunStore(sp.GetRequiredService<ControlDatabase>()));

        services.AddSingleton<ISuppressionStore>(_ => new SqliteSuppressionStore(options.DataDirectory));
        services.AddSingleton<IAuditStore>(_ => new SqliteAuditStore(options.DataDirectory));
        services.AddSingleton<ISnapshotStore>(_ => new FileSnapshotStore(options.DataDirectory));

        // The event log: one adapter behind its three ports (ADR 0002).
        services.AddSingleton(sp => new IngestLog(options.DataDirectory, options.IngestLog, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<IngestLog>());
        services.AddSingleton<IEventLogReader>(sp => sp.GetRequiredService<IngestLog>());
        services.AddSingleton<IEventLogMaintenance>(sp => sp.GetRequiredService<IngestLog>());
        return services;
    }
}
