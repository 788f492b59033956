using Tandem.Collect;
using Tandem.Hosting;

namespace Tandem.Storage.Sqlite;

/// <summary>
/// The one place where the embedded mode chooses its storage: each capability's port bound to its
/// SQLite adapter over the data folder. A clustered mode binds the same ports to other adapters here.
/// </summary>
internal static class SqliteStorage
{
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, TandemOptions options)
    {
        services.AddSingleton(_ => ControlDatabase.Open(options.DataDirectory));
        services.AddSingleton<IMemberStore>(sp => new SqliteMemberStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<ITokenStore>(sp => new SqliteTokenStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<IPrivacyRequestStore>(sp => new SqlitePrivacyRequestStore(sp.GetRequiredService<ControlDatabase>()));
        services.AddSingleton<IRetentionRunStore>(sp => new SqliteRetentionRunStore(sp.GetRequiredService<ControlDatabase>()));

        // The event log: one adapter behind its three ports (ADR 0002).
        services.AddSingleton(sp => new IngestLog(options.DataDirectory, options.IngestLog, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<IngestLog>());
        services.AddSingleton<IEventLogReader>(sp => sp.GetRequiredService<IngestLog>());
        services.AddSingleton<IEventLogMaintenance>(sp => sp.GetRequiredService<IngestLog>());
        return services;
    }
}
