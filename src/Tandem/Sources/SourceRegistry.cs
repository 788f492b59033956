using System.Collections.Frozen;
using System.Security.Cryptography;
using Tandem.Storage;

namespace Tandem.Sources;

/// <summary>A source with the write key just issued for it: the only moment the key exists outside its owner's hands.</summary>
public sealed record IssuedSource(Source Source, string WriteKey);

/// <summary>Why a source change was refused.</summary>
internal enum SourceChangeError
{
    None,
    NotFound,
    NameTaken,
}

/// <summary>
/// Sources, stored in the control store and mirrored in memory: the collector resolves a write key on
/// every request, so lookups read an immutable snapshot that is swapped on each (rare) change.
/// </summary>
internal sealed class SourceRegistry
{
    private const string KeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private readonly ISourceStore _store;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private FrozenDictionary<string, Source> _byWriteKeyDigest;
    private FrozenDictionary<string, Source> _byId;

    public SourceRegistry(ISourceStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        (_byWriteKeyDigest, _byId) = Index(store.Load());
    }

    public IReadOnlyCollection<Source> All => _byId.Values.OrderBy(s => s.Key).ToArray();

    /// <summary>The source this key opens: looked up by digest, so what is compared is never the key itself.</summary>
    public Source? FindByWriteKey(string writeKey) => _byWriteKeyDigest.GetValueOrDefault(WriteKeyDigest.Of(writeKey));

    public Source? FindById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>A source by the small number the log stores with each event (few sources: a scan of the snapshot).</summary>
    public Source? FindByKey(int key)
    {
        foreach (var source in _byId.Values)
        {
            if (source.Key == key)
            {
                return source;
            }
        }

        return null;
    }

    public (IssuedSource? Issued, SourceChangeError Error) Create(string name)
    {
        lock (_gate)
        {
            if (NameTaken(name, exceptId: null))
            {
                return (null, SourceChangeError.NameTaken);
            }

            var writeKey = NewWriteKey();
            var source = _store.Insert("src_" + RandomNumberGenerator.GetString(KeyAlphabet, 16), name, WriteKeyDigest.Of(writeKey), WriteKeyDigest.End(writeKey), _time.GetUtcNow());
            Refresh();
            return (new IssuedSource(source, writeKey), SourceChangeError.None);
        }
    }

    /// <summary>
    /// The source with exactly this name, with a write key issued now: created when there is none, its key
    /// rotated otherwise (a first start cut short and run again, the demo's sources). Keys are not stored,
    /// so one that is needed again can only be replaced.
    /// </summary>
    public IssuedSource Issue(string name)
    {
        lock (_gate)
        {
            return _byId.Values.FirstOrDefault(s => s.Name == name) is { } existing ? RotateKey(existing.Id).Issued! : Create(name).Issued!;
        }
    }

    /// <summary>Gives the source a new write key; the old one stops working at once.</summary>
    public (IssuedSource? Issued, SourceChangeError Error) RotateKey(string id)
    {
        lock (_gate)
        {
            var writeKey = NewWriteKey();
            var (source, error) = Change(id, s => s with { WriteKeyDigest = WriteKeyDigest.Of(writeKey), WriteKeyEnd = WriteKeyDigest.End(writeKey) });
            return (source is null ? null : new IssuedSource(source, writeKey), error);
        }
    }

    public (Source? Source, SourceChangeError Error) Change(string id, Func<Source, Source> change)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var current))
            {
                return (null, SourceChangeError.NotFound);
            }

            var changed = change(current);
            if (changed.Name != current.Name && NameTaken(changed.Name, id))
            {
                return (null, SourceChangeError.NameTaken);
            }

            _store.Update(changed, _time.GetUtcNow());
            Refresh();
            return (changed, SourceChangeError.None);
        }
    }

    private static string NewWriteKey() => RandomNumberGenerator.GetString(KeyAlphabet, 32);

    private bool NameTaken(string name, string? exceptId) =>
        _byId.Values.Any(s => s.Id != exceptId && string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    private void Refresh() => (_byWriteKeyDigest, _byId) = Index(_store.Load());

    private static (FrozenDictionary<string, Source>, FrozenDictionary<string, Source>) Index(IReadOnlyList<Source> sources) =>
        (sources.ToFrozenDictionary(s => s.WriteKeyDigest, StringComparer.Ordinal), sources.ToFrozenDictionary(s => s.Id, StringComparer.Ordinal));
}
