using System.Collections.Concurrent;
using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Settings;

/// <summary>
/// The one way a workspace settings document is read, validated, saved and audited, whoever asks: the
/// API today, the console next. Each document is read from <c>tandem.db</c> once and then served from
/// memory, so every save must come through here.
/// </summary>
internal sealed class SettingsService(IWorkspaceStore control, AuditLog audit, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, object?> _current = new(StringComparer.Ordinal);

    // One save at a time: the before of a change is the after of the one recorded ahead of it in the
    // audit log, and a subscriber sees changes in the order they were stored.
    private readonly Lock _saving = new();

    /// <summary>Raised after a document is saved, with its key, inside the save's lock: subscribers apply changes in order.</summary>
    public event Action<string>? Changed;

    /// <summary>The document in force: what was last saved, or the document's default when nothing usable is stored.</summary>
    public T? Current<T>(SettingsDocument<T> document)
        where T : class
    {
        if (_current.TryGetValue(document.Key, out var known))
        {
            return (T?)known;
        }

        var value = control.Setting(document.Key) is { } stored ? document.Read(stored) ?? document.Default : document.Default;
        return (T?)_current.GetOrAdd(document.Key, value);
    }

    /// <summary>Validates a whole document sent as JSON text; saves and audits it when it can be used.</summary>
    public SettingsChange<T> Save<T>(string actor, TextSettingsDocument<T> document, string json)
        where T : class
    {
        var value = document.Parse(json, out var refusal);
        return value is null ? new(Current(document), null, refusal) : Save(actor, document, value);
    }

    /// <summary>
    /// Saves a value its caller has already validated (OIDC is validated against the stored secret and
    /// the caller's rights; null removes it), and audits the change as <paramref name="actor"/>'s.
    /// </summary>
    public SettingsChange<T> Save<T>(string actor, SettingsDocument<T> document, T? value, string? detail = null)
        where T : class => Store(actor, document, value, detail);

    /// <summary>
    /// Saves a document whose changes the caller audits itself (identity types and computed traits: the
    /// processor stores them in order with events, and the API records the one definition that changed).
    /// </summary>
    public void Store<T>(SettingsDocument<T> document, T value)
        where T : class => Store(null, document, value, null);

    private SettingsChange<T> Store<T>(string? actor, SettingsDocument<T> document, T? value, string? detail)
        where T : class
    {
        lock (_saving)
        {
            var before = Current(document);
            control.SaveSetting(document.Key, document.Write(value), time.GetUtcNow());
            _current[document.Key] = value ?? document.Default;
            // Applied before it is audited, as each API did before this service: a change that is stored is
            // in force, even when the audit log then refuses to write (the caller gets its error).
            Changed?.Invoke(document.Key);
            if (actor is not null && document.AuditAction(value) is { } action)
            {
                audit.Append(actor, action, document.AuditTarget, document.AuditView(before), document.AuditView(value), detail);
            }

            return new(before, value, null);
        }
    }
}
