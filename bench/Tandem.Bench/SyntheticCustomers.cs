using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Bench;

/// <summary>Events of one session from one source, stamped as the collector stores them.</summary>
internal readonly record struct SessionBatch(int SourceKey, DateTimeOffset ReceivedAt, List<StampedMessage> Messages);

/// <summary>
/// A deterministic stream of Segment events from a number of synthetic customers, in the collector's
/// stored form: each session's events go through <see cref="SpecParser"/> as one batch, so payloads
/// carry the collector's field order, <c>originalTimestamp</c>, <c>timestamp</c> and <c>receivedAt</c>.
/// </summary>
/// <remarks>
/// Each person browses anonymously (0–3 events), signs up with an identify of 10 traits, then acts
/// signed in (web pages and tracks with userId and anonymousId, server-side tracks with userId only).
/// About a fifth later use a second device, a browser or the app: anonymous first, then a login
/// identify, or for ~1% of all people an alias from the app; either merges two profiles. ~5% make a
/// group call. Sessions of 2–6 events from everyone are shuffled over 90 days, so consecutive events
/// rarely touch the same profile. Everything follows from the seed: the same sizes give the same log.
/// </remarks>
internal sealed partial class SyntheticCustomers
{
    public const int WebSource = 1;
    public const int AppSource = 2;
    public const int ServerSource = 3;

    // In the past by far more than the ingest log's 24 h dedup window, so reopening the log rebuilds nothing.
    private static readonly DateTimeOffset Start = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Period = TimeSpan.FromDays(90);

    private readonly Person[] _people;
    private readonly int[] _sessions;
    private readonly Random _random;
    private readonly ulong _seed;
    private readonly int _companies;
    private readonly SpecParser _parser = new(CollectLimits.Default);
    private readonly ArrayBufferWriter<byte> _clientBody = new(16 * 1024);
    private readonly ArrayBufferWriter<byte> _serverBody = new(4 * 1024);
    private long _emitted;

    public SyntheticCustomers(int people, long events, int seed)
    {
        if (people < 1 || events < people || events / people > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(events), "Every person needs at least one event (their sign-up), and at most 10,000 on average.");
        }

        _random = new Random(seed);
        _seed = Mix((ulong)seed);
        _companies = Math.Max(1, people / 25);
        _people = new Person[people];
        Events = events;
        var groups = new HashSet<int>();
        long sessions = 0;
        foreach (var (p, count) in EventCounts(people, events))
        {
            ref var person = ref _people[p];
            Plan(ref person, count);
            ExpectedMerges += person.SecondFrom < int.MaxValue ? 1 : 0;
            ExpectedIdentifiers += person.SecondFrom < int.MaxValue ? 5 : 4;
            if (person.GroupAt >= 0)
            {
                groups.Add(Company(p));
            }

            sessions += person.SessionCount;
        }

        ExpectedAccounts = groups.Count;
        _sessions = new int[sessions];
        var next = 0;
        for (var p = 0; p < people; p++)
        {
            _sessions.AsSpan(next, _people[p].SessionCount).Fill(p);
            next += _people[p].SessionCount;
        }

        _random.Shuffle(_sessions);
    }

    public int People => _people.Length;

    public long Events { get; }

    /// <summary>Second-device logins and aliases: each joins two profiles that already exist.</summary>
    public long ExpectedMerges { get; }

    /// <summary>userId, email, phone and one anonymousId per device.</summary>
    public long ExpectedIdentifiers { get; }

    public int ExpectedAccounts { get; }

    /// <summary>Every session's events in arrival order; a session with server-side events gives a second batch.</summary>
    public IEnumerable<SessionBatch> Sessions()
    {
        // As JSON.stringify writes it: UTF-8 as is, no escaping of '+' or accents.
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using var client = new Utf8JsonWriter(_clientBody, options);
        using var server = new Utf8JsonWriter(_serverBody, options);
        for (var i = 0; i < _sessions.Length; i++)
        {
            var p = _sessions[i];
            ref var person = ref _people[p];
            var device = person.DeviceAt(person.Next);
            var clientSource = device == 2 && person.SecondIsApp ? AppSource : WebSource;
            var end = Math.Min(person.Next + person.SessionLength, device == 1 ? Math.Min(person.Events, person.SecondFrom) : person.Events);
            var at = Start + (Period * (i / (double)_sessions.Length));
            Begin(client, _clientBody);
            Begin(server, _serverBody);
            var serverEvents = 0;
            var first = person.Next;
            for (var k = first; k < end; k++)
            {
                var kind = KindAt(in person, k);
                serverEvents += kind == Kind.ServerTrack ? 1 : 0;
                WriteEvent(kind == Kind.ServerTrack ? server : client, p, in person, k, kind, at);
                at += TimeSpan.FromMilliseconds(_random.Next(4_000, 90_000));
            }

            person.Next = end;
            var receivedAt = at + TimeSpan.FromMilliseconds(_random.Next(150, 3_000));
            if (serverEvents < end - first)
            {
                yield return Stamp(client, _clientBody, clientSource, receivedAt);
            }

            if (serverEvents > 0)
            {
                yield return Stamp(server, _serverBody, ServerSource, receivedAt);
            }
        }
    }

    private static void Begin(Utf8JsonWriter writer, ArrayBufferWriter<byte> body)
    {
        body.ResetWrittenCount();
        writer.Reset(body);
        writer.WriteStartObject();
        writer.WriteStartArray("batch"u8);
    }

    private SessionBatch Stamp(Utf8JsonWriter writer, ArrayBufferWriter<byte> body, int sourceKey, DateTimeOffset receivedAt)
    {
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        var outcome = _parser.Parse(body.WrittenMemory, null, receivedAt, null);
        if (outcome.Error is not null || outcome.Rejected.Count > 0)
        {
            throw new InvalidOperationException($"The collector refused a generated event: {outcome.Error?.Detail ?? outcome.Rejected[0].Detail}");
        }

        return new SessionBatch(sourceKey, receivedAt, outcome.Accepted);
    }

    /// <summary>How many events each person sends: exponential around the mean, at least one, summing to exactly <paramref name="events"/>.</summary>
    private IEnumerable<(int Person, int Count)> EventCounts(int people, long events)
    {
        var mean = (double)events / people;
        var cap = (int)Math.Min(int.MaxValue / 2, Math.Ceiling(mean * 20));
        var counts = new int[people];
        long total = 0;
        for (var p = 0; p < people; p++)
        {
            counts[p] = Math.Min(cap, 1 + (int)Math.Round(-Math.Log(1 - _random.NextDouble()) * (mean - 1)));
            total += counts[p];
        }

        while (total != events)
        {
            var p = _random.Next(people);
            if (total < events && counts[p] < cap)
            {
                counts[p]++;
                total++;
            }
            else if (total > events && counts[p] > 1)
            {
                counts[p]--;
                total--;
            }
        }

        for (var p = 0; p < people; p++)
        {
            yield return (p, counts[p]);
        }
    }

    /// <summary>Lays out one person's events: anonymous, sign-up, signed in, then perhaps a second device.</summary>
    private void Plan(ref Person person, int events)
    {
        person.Events = events;
        person.SignUp = Math.Min(events - 1, _random.Next(4));
        person.SecondFrom = int.MaxValue;
        person.SecondLogin = int.MaxValue;
        person.GroupAt = -1;
        person.SessionLength = (byte)_random.Next(2, 7);
        var after = events - person.SignUp - 1;
        var signedOnFirst = after;
        if (after >= 2 && _random.NextDouble() < 0.2)
        {
            var anonymous = 1 + _random.Next(Math.Min(3, after - 1));
            signedOnFirst = _random.Next(after - anonymous);
            person.SecondFrom = person.SignUp + 1 + signedOnFirst;
            person.SecondLogin = person.SecondFrom + anonymous;
            person.SecondIsApp = _random.NextDouble() < 0.5;
            person.Aliases = person.SecondIsApp && _random.NextDouble() < 0.1;
        }

        if (signedOnFirst >= 2 && _random.NextDouble() < 0.05)
        {
            person.GroupAt = person.SignUp + signedOnFirst;
        }

        var first = Math.Min(events, person.SecondFrom);
        person.SessionCount = Sessions(first, person.SessionLength) + Sessions(events - first, person.SessionLength);
    }

    private static int Sessions(int events, int length) => (events + length - 1) / length;

    private Kind KindAt(in Person person, int k)
    {
        if (k < person.SignUp || (k >= person.SecondFrom && k < person.SecondLogin))
        {
            return _random.NextDouble() < 0.7 ? Kind.AnonymousPage : Kind.AnonymousTrack;
        }

        if (k == person.SignUp)
        {
            return Kind.SignUp;
        }

        if (k == person.GroupAt)
        {
            return Kind.Group;
        }

        if (k == person.SecondLogin)
        {
            return person.Aliases ? Kind.Alias : Kind.Login;
        }

        if (k == person.SignUp + 1 && k < person.SecondFrom)
        {
            return Kind.SignedUp;
        }

        var roll = _random.NextDouble();
        return roll < 0.5 ? Kind.Page : roll < 0.85 ? Kind.Track : Kind.ServerTrack;
    }

    private enum Kind
    {
        AnonymousPage,
        AnonymousTrack,
        SignUp,
        SignedUp,
        Login,
        Alias,
        Group,
        Page,
        Track,
        ServerTrack,
    }

    private struct Person
    {
        public int Events;
        public int SignUp;
        public int SecondFrom;
        public int SecondLogin;
        public int GroupAt;
        public int Next;
        public int SessionCount;
        public byte SessionLength;
        public bool SecondIsApp;
        public bool Aliases;

        public readonly int DeviceAt(int k) => k >= SecondFrom ? 2 : 1;
    }

    private static ulong Mix(ulong x)
    {
        // splitmix64: a cheap bijective scramble, so per-person values need no storage.
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }

    private ulong Hash(int person, int salt) => Mix(_seed ^ Mix(((ulong)(uint)person << 8) | (uint)salt));
}
