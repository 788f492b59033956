using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tandem.Storage;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>
/// People whose future events the collector drops (counted, never stored), from <c>suppress</c> and
/// <c>delete_and_suppress</c> privacy requests. Identifiers are kept as SHA-256 digests
/// (<see cref="ISuppressionStore"/>), never in clear: the list must not become a copy of what was deleted.
/// The collector matches an event's userId, anonymousId, previousId, email and phone (in traits and
/// context.traits) and external ids against it; with no suppression in force it costs nothing.
/// </summary>
internal sealed class SuppressionList : IDisposable
{
    private readonly ISuppressionStore _store;
    private readonly bool _ownsStore;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _dropped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _droppedSaved = new(StringComparer.Ordinal);
    private volatile State _state = new(FrozenDictionary<UInt128, string>.Empty, FrozenSet<uint>.Empty, TraitKeyedTypes.None);

    /// <param name="settings">Where the identity rules are kept: custom types read from a trait are checked too.</param>
    /// <param name="ownsStore">Dispose the store with the list (a list opened on its own, outside the server's container).</param>
    public SuppressionList(ISuppressionStore store, TimeProvider time, UnifySettings? settings = null, bool ownsStore = false)
    {
        if (settings is not null)
        {
            _traitKeyed = TraitKeyedTypes.Of(settings.LoadRules());
            settings.RulesSaved += rules =>
            {
                lock (_gate)
                {
                    _traitKeyed = TraitKeyedTypes.Of(rules);
                    _state = _state with { TraitKeyed = _traitKeyed };
                }
            };
        }

        _time = time;
        _store = store;
        _ownsStore = ownsStore;
        Reload();
    }

    private TraitKeyedTypes _traitKeyed = TraitKeyedTypes.None;

    /// <summary>True when at least one identifier is suppressed: only then does the collector look.</summary>
    public bool Active => _state.ByDigest.Count > 0;

    /// <summary>Suppresses the identifiers under the request; answers how many were newly suppressed.</summary>
    public int Suppress(string requestId, IEnumerable<Identifier> identifiers)
    {
        lock (_gate)
        {
            var added = _store.Add(requestId, _time.GetUtcNow(), [.. identifiers.Distinct().Select(id => new SuppressedIdentifier(
                Digest(id.Type, id.Value), id.Type, Prefilter(id.Type, Encoding.UTF8.GetBytes(EventIdentity.Normal(id.Type, id.Value)))))]);
            Reload();
            return added;
        }
    }

    /// <summary>Lifts every suppression that covers the identifier (all of that person's identifiers with it); answers the requests lifted.</summary>
    public IReadOnlyList<string> Unsuppress(Identifier identifier)
    {
        lock (_gate)
        {
            SaveCountsLocked();
            var requests = _store.RequestsCovering(Digest(identifier.Type, identifier.Value));
            _store.Remove(requests);
            foreach (var request in requests)
            {
                _dropped.Remove(request);
                _droppedSaved.Remove(request);
            }

            Reload();
            return requests;
        }
    }

    /// <summary>The suppression in force for this identifier, if any.</summary>
    public string? Find(Identifier identifier) => _state.Find(identifier.Type, identifier.Value);

    public IReadOnlyList<Suppression> List()
    {
        lock (_gate)
        {
            SaveCountsLocked();
            return _store.List();
        }
    }

    /// <summary>
    /// The suppression an event falls under, or null. Reads the identifiers the profile engine would
    /// link the event by; emails are compared in lower case and every value trimmed, as the engine keeps
    /// them. One forward pass of a JSON reader, no allocation for a miss: each value is first looked up
    /// by a 32-bit hash, and only a hit there pays for the SHA-256 the list is kept by.
    /// </summary>
    /// <exception cref="JsonException">The bytes are not JSON.</exception>
    public string? Match(byte[] json) => Match(_state, json);

    private static string? Match(State state, byte[] json)
    {
        if (state.ByDigest.Count == 0)
        {
            return null;
        }

        var first = new FirstSuppression(state);
        EventIdentity.Scan(json, state.TraitKeyed, ref first);
        return first.Request;
    }

    /// <summary>Stops at the first identifier under a suppression; a miss costs a 32-bit hash and a set lookup.</summary>
    private struct FirstSuppression(State state) : IIdentifierVisitor
    {
        public string? Request { get; private set; }

        public bool Visit(string type, ReadOnlySpan<byte> normalUtf8)
        {
            if (!state.Prefilter.Contains(Prefilter(type, normalUtf8)))
            {
                return true;
            }

            Request = state.Find(type, normalUtf8);
            return Request is null;
        }
    }

    /// <summary>32-bit hash of type and kept value: the cheap first look; only a hit computes the SHA-256.</summary>
    private static uint Prefilter(string type, ReadOnlySpan<byte> keptValue)
    {
        Span<byte> buffer = stackalloc byte[64 + 1 + 512];
        var n = Encoding.UTF8.GetBytes(type.AsSpan(0, Math.Min(type.Length, 16)), buffer);
        buffer[n++] = (byte)'\n';
        var length = Math.Min(keptValue.Length, 512);
        keptValue[..length].CopyTo(buffer[n..]);
        return System.IO.Hashing.XxHash32.HashToUInt32(buffer[..(n + length)]);
    }

    /// <summary>The list as the collector reads it: digests to requests, and the prefilter of the same identifiers.</summary>
    private sealed record State(FrozenDictionary<UInt128, string> ByDigest, FrozenSet<uint> Prefilter, TraitKeyedTypes TraitKeyed)
    {
        public string? Find(string type, string value) => ByDigest.GetValueOrDefault(Key(Digest(type, value)));

        public string? Find(string type, ReadOnlySpan<byte> normalUtf8) => ByDigest.GetValueOrDefault(Key(type, normalUtf8));
    }

    /// <summary>Like <see cref="Match"/> for a refused event's stored sample, which may not be JSON at all.</summary>
    public string? MatchRaw(byte[] payload)
    {
        if (!Active)
        {
            return null;
        }

        try
        {
            return Match(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A test of whether a refused event's stored sample names one of these identifiers, for deleting a
    /// person's refused events. A sample names them when it holds one of their values as a JSON string
    /// anywhere (emails in any case), whether or not it is readable JSON: a body refused as malformed, or
    /// cut off at its 4 KB sample, still holds the values it was sent with. A readable sample is also read
    /// as <see cref="Match"/> reads an event, which finds numbers, padded values and escaped text.
    /// </summary>
    internal Func<byte[], bool> Naming(IReadOnlyCollection<Identifier> identifiers)
    {
        var digests = new Dictionary<UInt128, string>();
        var prefilter = new HashSet<uint>();
        var exact = new List<byte[]>();
        var folded = new List<byte[]>();
        foreach (var id in identifiers)
        {
            var kept = EventIdentity.Normal(id.Type, id.Value);
            if (kept.Length == 0)
            {
                continue;
            }

            digests[Key(Digest(id.Type, id.Value))] = id.Type;
            prefilter.Add(Prefilter(id.Type, Encoding.UTF8.GetBytes(kept)));
            (id.Type == IdentifierType.Email ? folded : exact).Add(Encoding.UTF8.GetBytes("\"" + kept + "\""));
        }

        var state = new State(digests.ToFrozenDictionary(), prefilter.ToFrozenSet(), _traitKeyed);
        return payload =>
        {
            foreach (var quoted in exact)
            {
                if (payload.AsSpan().IndexOf(quoted) >= 0)
                {
                    return true;
                }
            }

            if (folded.Count > 0)
            {
                var lower = AsciiLower(payload);
                foreach (var quoted in folded)
                {
                    if (lower.AsSpan().IndexOf(quoted) >= 0)
                    {
                        return true;
                    }
                }
            }

            try
            {
                return Match(state, payload) is not null;
            }
            catch (JsonException)
            {
                return false;
            }
        };
    }

    /// <summary>A copy with ASCII letters in lower case and every other byte as it was (so UTF-8 stays intact).</summary>
    private static byte[] AsciiLower(byte[] bytes)
    {
        var lower = new byte[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            lower[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
        }

        return lower;
    }

    /// <summary>Counts an event dropped under a suppression; the counts are saved when listed and on shutdown.</summary>
    public void CountDropped(string requestId)
    {
        lock (_dropped)
        {
            _dropped[requestId] = _dropped.GetValueOrDefault(requestId) + 1;
        }
    }

    private void SaveCountsLocked()
    {
        KeyValuePair<string, long>[] counts;
        lock (_dropped)
        {
            counts = [.. _dropped];
        }

        foreach (var (request, count) in counts)
        {
            var saved = _droppedSaved.GetValueOrDefault(request);
            if (count == saved)
            {
                continue;
            }

            _store.AddDropped(request, count - saved);
            _droppedSaved[request] = count;
        }
    }

    private void Reload()
    {
        var map = new Dictionary<UInt128, string>();
        var prefilter = new HashSet<uint>();
        foreach (var entry in _store.LoadAll())
        {
            map[Key(entry.Digest.Span)] = entry.RequestId;
            prefilter.Add(entry.Prefilter);
        }

        _state = new State(map.ToFrozenDictionary(), prefilter.ToFrozenSet(), _traitKeyed);
    }

    /// <summary>SHA-256 of type and value as the engine keeps them (<see cref="EventIdentity.Normal"/>).</summary>
    internal static byte[] Digest(string type, string value) => SHA256.HashData(Encoding.UTF8.GetBytes(type + "\n" + EventIdentity.Normal(type, value)));

    /// <summary>The key of <see cref="Digest(string, string)"/> from a value already in normal form, as UTF-8 (what a scan hands over).</summary>
    private static UInt128 Key(string type, ReadOnlySpan<byte> normalUtf8)
    {
        var length = Encoding.UTF8.GetByteCount(type) + 1 + normalUtf8.Length;
        Span<byte> bytes = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var n = Encoding.UTF8.GetBytes(type, bytes);
        bytes[n++] = (byte)'\n';
        normalUtf8.CopyTo(bytes[n..]);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, digest);
        return new(BitConverter.ToUInt64(digest), BitConverter.ToUInt64(digest[8..]));
    }

    private static UInt128 Key(ReadOnlySpan<byte> digest) => new(BitConverter.ToUInt64(digest), BitConverter.ToUInt64(digest[8..]));

    public void Dispose()
    {
        lock (_gate)
        {
            SaveCountsLocked();
        }

        if (_ownsStore && _store is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}
