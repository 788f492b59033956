using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>What applying one event did.</summary>
/// <param name="NotApplied">Why no customer got the event, when none did.</param>
public readonly record struct ApplyResult(Profile? Profile, int Merges, int Declined, NotAppliedEvent? NotApplied = null)
{
    /// <summary>False when the event reached no profile (see <see cref="NotApplied"/>).</summary>
    public bool Attributed => Profile is not null;
}

/// <summary>
/// Identity resolution and profiles, in memory: the deterministic heart of the processor. Fed the
/// log's events in sequence order, it links identifiers into profiles, merges profiles an event
/// proves to be one customer (unless a limit forbids it), and keeps traits, counters, accounts, the
/// event timeline and computed traits. Given the same events and rules it always ends in the same
/// state, which is what makes a replay of the log equal the live state.
/// </summary>
/// <remarks>Not thread-safe: one writer applies events; readers take the host's lock.</remarks>
public sealed partial class ProfileEngine
{
    private const int MaxDeclinedKept = 50;

    private readonly Dictionary<Identifier, Profile> _index = [];
    private readonly Dictionary<long, Profile> _absorbed = [];
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _interned;

    private readonly Dictionary<long, Profile> _profiles = [];
    private readonly List<Identifier> _eventIds = new(8);
    private readonly List<string> _identifiersRefused = new(2);
    private readonly List<Profile> _awaitingId = [];
    private readonly Func<Identifier, bool> _isKnown;
    private int _indexCapacity;
    private readonly ValuePool _values = new();

    /// <summary>Every profile number handed out, ascending; merged and forgotten ones are skipped when read, and compacted away.</summary>
    private readonly List<long> _numbers = [];

    public ProfileEngine(IdentityRules? rules = null)
    {
        Rules = rules ?? IdentityRules.Default;
        _interned = new(StringComparer.Ordinal);
        _search = new SearchIndex(IsLive);
        _isKnown = _index.ContainsKey;
    }

    /// <summary>The identity configuration applied to the next events (changes are not retroactive).</summary>
    public IdentityRules Rules { get; set; }

    /// <summary>The last log sequence number applied.</summary>
    public long Position { get; private set; }

    /// <summary>Events applied, those with no usable identifier included (they move the log clock and describe accounts).</summary>
    public long EventsApplied { get; private set; }

    /// <summary>Events with no usable identifier: kept in the log, attributed to no profile.</summary>
    public long EventsUnattributed { get; private set; }

    public long MergeCount { get; private set; }

    /// <summary>Events read that reached no customer, with the reason: exact totals, and the newest ones.</summary>
    public NotAppliedEvents NotApplied { get; } = new();

    public int ProfileCount => _profiles.Count;

    public int IdentifierCount => _index.Count;

    public int AccountCount => _accounts.Count;

    /// <summary>Every live profile, oldest first.</summary>
    public IEnumerable<Profile> Profiles => _profiles.Values.OrderBy(p => p.Number);

    /// <summary>
    /// Live profiles numbered after <paramref name="number"/>, oldest first, read lazily: a page costs
    /// what it reads (profile numbers only grow; merged ones leave gaps), not a sort of every profile.
    /// </summary>
    public IEnumerable<Profile> ProfilesAfter(long number)
    {
        var at = _numbers.BinarySearch(number);
        for (at = at < 0 ? ~at : at + 1; at < _numbers.Count; at++)
        {
            if (_profiles.TryGetValue(_numbers[at], out var profile))
            {
                yield return profile;
            }
        }
    }

    /// <summary>The oldest <paramref name="max"/> profiles that match, without sorting every profile.</summary>
    public IReadOnlyList<Profile> FindProfiles(Func<Profile, bool> match, int max)
    {
        var oldest = new PriorityQueue<Profile, long>(max + 1, Comparer<long>.Create((a, b) => b.CompareTo(a)));
        foreach (var profile in _profiles.Values)
        {
            if ((oldest.Count < max || profile.Number < oldest.Peek().Number) && match(profile))
            {
                oldest.Enqueue(profile, profile.Number);
                if (oldest.Count > max)
                {
                    oldest.Dequeue();
                }
            }
        }

        return [.. oldest.UnorderedItems.Select(x => x.Element).OrderBy(p => p.Number)];
    }

    public Profile? Find(Identifier identifier) => _index.GetValueOrDefault(identifier);

    /// <summary>A profile by its id, or by the id of a profile that was merged into it.</summary>
    public Profile? FindById(string profileId)
    {
        var number = Profile.ParseId(profileId);
        return _profiles.GetValueOrDefault(number) ?? _absorbed.GetValueOrDefault(number);
    }

    public Account? FindAccount(string groupId) => _accounts.GetValueOrDefault(groupId);

    public IEnumerable<Account> Accounts => _accounts.Values;

    /// <summary>Moves the position past events that were deleted before they were applied (never backwards); answers the position.</summary>
    public long SkipTo(long seq) => Position = Math.Max(Position, seq);

    /// <summary>
    /// Applies one stored event. Events must come in sequence order. Every event moves the position:
    /// one that reaches no customer is counted in <see cref="NotApplied"/> with its reason, never thrown.
    /// </summary>
    public ApplyResult Apply(long seq, int sourceKey, byte[] payload)
    {
        Position = seq;

        // Logs written before the collector repaired text can hold invalid UTF-8 or a lone surrogate,
        // which .NET throws on when the string is read. Such an event is applied as every reader shows
        // it, with U+FFFD in place of the broken text: the collector's policy (docs/collect.md).
        payload = Tandem.Text.UnicodeRepair.RepairIfNeeded(payload);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException ex)
        {
            return NotApply(seq, sourceKey, payload, NotAppliedReason.InvalidJson, "The stored event is not valid JSON: " + ex.Message);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return NotApply(seq, sourceKey, payload, NotAppliedReason.InvalidJson, $"The stored event is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object.");
            }

            try
            {
                if (!EventFacts.TryRead(document.RootElement, out var facts))
                {
                    return NotApply(seq, sourceKey, payload, NotAppliedReason.UnknownType,
                        "Its 'type' is not a Segment call type (identify, track, page, screen, group or alias).");
                }

                return Apply(seq, sourceKey, facts);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A defect, not the event's fault: counted where an operator sees it. What was changed
                // before the failure stays; a replay fails at the same place, so the state stays equal.
                return NotApply(seq, sourceKey, payload, NotAppliedReason.ApplyFailed, $"{ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private const string NoIdentifierDetail =
        "It carries no usable identifier: userId and anonymousId are missing or blank, and no email, phone or configured external id was given.";

    private ApplyResult Apply(long seq, int sourceKey, in EventFacts facts)
    {
        LogClockMs = Math.Max(LogClockMs, facts.ReceivedAtMs);

        _eventIds.Clear();
        _identifiersRefused.Clear();
        EventIdentity.Linked(facts, Rules, _isKnown, _eventIds, _identifiersRefused);
        if (_eventIds.Count == 0)
        {
            EventsApplied++;
            EventsUnattributed++;
            if (facts.Type == MessageType.Group && facts.GroupId is { Length: > 0 } orphanGroup)
            {
                // The account is still described, even if no customer can be named.
                TouchAccount(orphanGroup, Account.NoOne, facts.Traits, facts.TimestampMs, Tie(facts.MessageId));
            }

            var entry = _identifiersRefused.Count > 0
                ? new NotAppliedEvent(seq, sourceKey, EventText.Shown(facts.MessageId), facts.Type.Name(), NotAppliedReason.BlockedIdentifier,
                    $"Every identifier it carries ({string.Join(", ", _identifiersRefused)}) is a blocked value: one Tandem never links, such as \"null\" or \"anonymous\", or one the identity settings block.",
                    facts.ReceivedAtMs)
                : new NotAppliedEvent(seq, sourceKey, EventText.Shown(facts.MessageId), facts.Type.Name(), NotAppliedReason.NoIdentifier, NoIdentifierDetail, facts.ReceivedAtMs);
            NotApplied.Add(entry);
            return new ApplyResult(null, 0, 0, entry);
        }

        var merges = 0;
        var declined = 0;
        var when = facts.TimestampMs;
        var tie = Tie(facts.MessageId);
        Profile? target = null;
        foreach (var id in _eventIds)
        {
            var owner = _index.GetValueOrDefault(id);
            if (target is null)
            {
                target = owner ?? NewProfile();
                if (owner is null)
                {
                    Link(target, id, when, sourceKey, seq, tie);
                }
                else
                {
                    EarlierSighting(target, id, when, sourceKey, seq, tie);
                }

                continue;
            }

            if (owner == target)
            {
                EarlierSighting(target, id, when, sourceKey, seq, tie);
                continue;
            }

            if (owner is null)
            {
                if (target.CountOfType(id.Type) < Rules.Limit(id.Type))
                {
                    Link(target, id, when, sourceKey, seq, tie);
                }
                else
                {
                    Decline(target, new DeclinedLink(seq, facts.MessageId, id, null,
                        $"{Describe(target)} already holds {Rules.Limit(id.Type)} {id.Type} value(s), the limit"));
                    declined++;
                }

                continue;
            }

            if (WhyNotMergeable(target, owner) is { } why)
            {
                Decline(target, new DeclinedLink(seq, facts.MessageId, id, owner.Id, why));
                Decline(owner, new DeclinedLink(seq, facts.MessageId, id, target.Number == 0 ? null : target.Id, why));
                if (target.Number == 0)
                {
                    _awaitingId.Add(owner);
                }

                declined++;
                continue;
            }

            var rule = facts.Type == MessageType.Alias ? "alias" : "shared_identifier";
            if (target.Number != 0)
            {
                merges++;
            }

            target = Merge(target, owner, id, rule, seq, facts, sourceKey);
            EarlierSighting(target, id, when, sourceKey, seq, tie);
        }

        var profile = target!;
        if (profile.Number == 0)
        {
            Register(profile, seq);
        }

        // Links declined against this event's new profile can name the profile it ended in.
        foreach (var other in _awaitingId)
        {
            var list = other.DeclinedList!;
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Seq == seq && list[i].OtherProfileId is null)
                {
                    list[i] = list[i] with { OtherProfileId = profile.Id };
                }
            }
        }

        _awaitingId.Clear();

        Record(profile, facts, seq, sourceKey, when, tie);
        EventsApplied++;
        return new ApplyResult(profile, merges, declined);
    }

    /// <summary>Counts an event that could not be read; what is shown of it is read again as far as it can be.</summary>
    private ApplyResult NotApply(long seq, int sourceKey, byte[] payload, string reason, string detail)
    {
        var (messageId, type, receivedAtMs) = EventText.Peek(payload);
        var entry = new NotAppliedEvent(seq, sourceKey, messageId, type, reason, detail, receivedAtMs);
        NotApplied.Add(entry);
        return new ApplyResult(null, 0, 0, entry);
    }

    private static Profile NewProfile() => new(0);

    /// <summary>
    /// A profile's number is the log sequence number of the event that created it. The log never hands a
    /// sequence number out twice, and deleting someone else's events does not change which event created
    /// this profile, so its id survives privacy deletes, restarts and full replays; a counter would
    /// renumber every profile created after a deleted one.
    /// </summary>
    private void Register(Profile profile, long seq)
    {
        profile.Number = seq;
        _profiles[seq] = profile;
        if (_numbers.Count == 0 || _numbers[^1] < seq)
        {
            _numbers.Add(seq);
        }
        else
        {
            // Only an out-of-order caller gets here; the processor applies the log in sequence order.
            var at = _numbers.BinarySearch(seq);
            if (at < 0)
            {
                _numbers.Insert(~at, seq);
            }
        }
    }

    /// <summary>Drops numbers of profiles gone (merged or forgotten) once they are most of the list, so paging never wades through many.</summary>
    private void CompactNumbers()
    {
        if (_numbers.Count > 1024 && _numbers.Count > 2 * _profiles.Count)
        {
            _numbers.RemoveAll(n => !_profiles.ContainsKey(n));
        }
    }

    private void Link(Profile profile, Identifier id, long when, int sourceKey, long seq, ulong tie)
    {
        profile.AddIdentifier(new LinkedIdentifier(id, when, sourceKey, seq, tie));
        if (_index.Count >= _indexCapacity)
        {
            // Grow by half rather than let the dictionary double: at millions of identifiers the old and
            // new arrays live side by side during a resize, and that moment sets the peak memory.
            _indexCapacity = _index.EnsureCapacity(Math.Max(1024, _index.Count + (_index.Count / 2)));
        }

        _index[id] = profile;
        if (_search.Built)
        {
            _search.AddIdentifier(profile, id.Value);
        }
    }

    /// <summary>An identifier's first sighting is the earliest event time it was seen at, whatever the arrival order.</summary>
    private static void EarlierSighting(Profile profile, Identifier id, long when, int sourceKey, long seq, ulong tie)
    {
        var list = profile.IdentifierSpan;
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i].Identifier == id)
            {
                if (!list[i].SeenBefore(when, tie))
                {
                    list[i] = new LinkedIdentifier(id, when, sourceKey, seq, tie);
                }

                return;
            }
        }
    }

    private static void Decline(Profile profile, DeclinedLink link)
    {
        var list = profile.DeclinedList ??= [];
        if (list.Count == MaxDeclinedKept)
        {
            list.RemoveAt(0);
        }

        list.Add(link);
    }

    /// <summary>Null when one customer may hold both profiles' identifiers; else the limit that forbids it.</summary>
    private string? WhyNotMergeable(Profile a, Profile b)
    {
        foreach (var type in Rules.Types)
        {
            var total = a.CountOfType(type.Name) + b.CountOfType(type.Name);
            if (total > type.Limit)
            {
                return $"merging {Describe(a)} and {Describe(b)} would give one profile {total} {type.Name} values; the limit is {type.Limit}";
            }
        }

        return null;
    }

    private static string Describe(Profile p) => p.Number == 0 ? "the event's new identifiers" : p.Id;

    private Profile Merge(Profile target, Profile owner, Identifier via, string rule, long seq, in EventFacts facts, int sourceKey)
    {
        // The older profile survives, so a customer's id is stable as new identifiers join; a profile
        // this event has only just started (number 0) is always the one absorbed, and leaves no record.
        var (survivor, absorbed) = target.Number != 0 && target.Number < owner.Number ? (target, owner) : (owner, target);
        var wasReal = absorbed.Number != 0;
        var absorbedIds = absorbed.Identifiers.Select(l => l.Identifier).ToArray();

        foreach (var linked in absorbed.IdentifierSpan)
        {
            survivor.AddIdentifier(linked);
            _index[linked.Identifier] = survivor;
        }

        survivor.Traits.OfferAll(absorbed.Traits);
        survivor.Traits.Trim();
        if (_search.Built)
        {
            IndexMerged(survivor, absorbed);
        }
        survivor.FirstSeenMs = Math.Min(survivor.FirstSeenMs, absorbed.FirstSeenMs);
        survivor.LastSeenMs = Math.Max(survivor.LastSeenMs, absorbed.LastSeenMs);
        foreach (var type in Enum.GetValues<MessageType>())
        {
            survivor.AddCount(type, absorbed.CountOf(type));
        }

        foreach (var (source, count) in absorbed.CountsBySource)
        {
            survivor.CountSource(source, count);
        }

        if (absorbed.EventCount > 0)
        {
            survivor.SetSeqs(MergeSorted(survivor.EventSeqs, absorbed.EventSeqs));
        }
        if (absorbed.AccountIds is { } accounts)
        {
            survivor.AccountIds ??= new HashSet<string>(StringComparer.Ordinal);
            foreach (var groupId in accounts)
            {
                survivor.AccountIds.Add(groupId);
                var account = _accounts[groupId];
                account.Members.Remove(absorbed);
                account.Members.Add(survivor);
                account.MovePart(absorbed.Number, survivor.Number);
            }
        }

        MergeComputed(survivor, absorbed);
        if (absorbed.Consent is { } consent)
        {
            (survivor.Consent ??= new ConsentState()).OfferAll(consent);
        }

        if (absorbed.MergeList is { } olderMerges)
        {
            (survivor.MergeList ??= []).AddRange(olderMerges);
        }

        if (absorbed.DeclinedList is { } declined)
        {
            foreach (var link in declined)
            {
                Decline(survivor, link);
            }
        }

        if (wasReal)
        {
            (survivor.MergeList ??= []).Add(new MergeRecord(seq, facts.MessageId, facts.TimestampMs, sourceKey, survivor.Id, absorbed.Id,
                via, rule, [.. _eventIds], absorbedIds));
            (survivor.AbsorbedIds ??= []).Add(absorbed.Id);
            if (absorbed.AbsorbedIds is { } older)
            {
                survivor.AbsorbedIds.AddRange(older);
                foreach (var id in older)
                {
                    _absorbed[Profile.ParseId(id)] = survivor;
                }
            }

            _absorbed[absorbed.Number] = survivor;
            _profiles.Remove(absorbed.Number);
            CompactNumbers();
            MergeCount++;
        }

        return survivor;
    }

    private static long[] MergeSorted(long[] a, long[] b)
    {
        var result = new long[a.Length + b.Length];
        int i = 0, j = 0, k = 0;
        while (i < a.Length && j < b.Length)
        {
            result[k++] = a[i] <= b[j] ? a[i++] : b[j++];
        }

        while (i < a.Length)
        {
            result[k++] = a[i++];
        }

        while (j < b.Length)
        {
            result[k++] = b[j++];
        }

        return result;
    }

    private void Record(Profile profile, in EventFacts facts, long seq, int sourceKey, long when, ulong tie)
    {
        profile.AppendSeq(seq);
        profile.AddCount(facts.Type, 1);
        profile.CountSource(sourceKey, 1);
        profile.FirstSeenMs = Math.Min(profile.FirstSeenMs, when);
        profile.LastSeenMs = Math.Max(profile.LastSeenMs, when);

        if (facts.Type == MessageType.Identify && facts.Traits.ValueKind == JsonValueKind.Object)
        {
            OfferTraits(profile.Traits, facts.Traits, when, tie, profile);
        }

        if (facts.ContextTraits.ValueKind == JsonValueKind.Object)
        {
            OfferTraits(profile.Traits, facts.ContextTraits, when, tie, profile);
        }

        if (facts.Type == MessageType.Group && facts.GroupId is { Length: > 0 } groupId)
        {
            var account = TouchAccount(groupId, profile.Number, facts.Traits, when, tie);
            account.Members.Add(profile);
            (profile.AccountIds ??= new HashSet<string>(StringComparer.Ordinal)).Add(groupId);
        }

        if (facts.ConsentPreferences.ValueKind == JsonValueKind.Object)
        {
            OfferConsent(profile, facts.ConsentPreferences, when, tie, sourceKey, seq);
        }

        ApplyComputed(profile, facts, when, tie);
    }

    /// <summary>Most categories read from one event, and longest category name: more is not consent, it is noise.</summary>
    private const int MaxConsentCategories = 64;

    private const int MaxCategoryLength = 100;

    /// <summary>Category names are shared while there are few; a flood of distinct names is not kept in the table.</summary>
    private string InternCategory(string name) => _interned.Count < 10_000 || _interned.ContainsKey(name) ? Intern(name) : name;

    private void OfferConsent(Profile profile, JsonElement preferences, long when, ulong tie, int sourceKey, long seq)
    {
        var read = 0;
        foreach (var category in preferences.EnumerateObject())
        {
            if (read++ == MaxConsentCategories)
            {
                break;
            }

            if (category.Value.ValueKind is JsonValueKind.True or JsonValueKind.False && category.Name.Length is > 0 and <= MaxCategoryLength)
            {
                (profile.Consent ??= new ConsentState()).Offer(
                    new ConsentDecision(InternCategory(category.Name), category.Value.GetBoolean(), when, (uint)tie, sourceKey, seq));
            }
        }
    }

    /// <param name="number">The profile whose group call this is (<see cref="Account.NoOne"/> when it names no one).</param>
    private Account TouchAccount(string groupId, long number, JsonElement accountTraits, long when, ulong tie)
    {
        if (!_accounts.TryGetValue(groupId, out var account))
        {
            account = new Account(groupId);
            _accounts[groupId] = account;
        }

        var part = account.PartOf(number);
        account.FirstSeenMs = Math.Min(account.FirstSeenMs, when);
        account.LastSeenMs = Math.Max(account.LastSeenMs, when);
        part.FirstSeenMs = Math.Min(part.FirstSeenMs, when);
        part.LastSeenMs = Math.Max(part.LastSeenMs, when);
        if (accountTraits.ValueKind == JsonValueKind.Object)
        {
            OfferTraits(account.Traits, accountTraits, when, tie);
            OfferTraits(part.Traits, accountTraits, when, tie);
        }

        return account;
    }

    /// <param name="owner">The profile whose traits these are (null for an account's), kept in the search index.</param>
    private void OfferTraits(TraitBag bag, JsonElement traits, long when, ulong tie, Profile? owner = null)
    {
        var indexed = owner is not null && _search.Built;
        if (bag.Count == 0)
        {
            bag.Reserve(traits.GetPropertyCount());
        }

        foreach (var trait in traits.EnumerateObject())
        {
            var key = TraitKey(JsonMarshal.GetRawUtf8PropertyName(trait));
            var raw = JsonMarshal.GetRawUtf8Value(trait.Value);
            if (bag.TryGet(key, out var held))
            {
                var offered = new TraitValue(when, (uint)tie, held.Json);
                if (!offered.IsNewerThan(held))
                {
                    continue;
                }

                // Most updates repeat the value: keep the bytes already held, move only the time.
                if (raw.SequenceEqual(held.Json))
                {
                    bag.Offer(key, offered);
                    continue;
                }

                var changed = offered with { Json = _values.Get(raw) };
                bag.Offer(key, changed);
                if (indexed)
                {
                    IndexTraitChanged(owner!, held.Json, changed.Json);
                }

                continue;
            }

            var added = new TraitValue(when, (uint)tie, _values.Get(raw));
            bag.Offer(key, added);
            if (indexed)
            {
                _search.AddTrait(owner!, added.Json);
            }
        }
    }

    private string Intern(string s)
    {
        if (_interned.TryGetValue(s, out var interned))
        {
            return interned;
        }

        _interned[s] = s;
        return s;
    }

    /// <summary>The number of a trait name read as UTF-8 (escaped names are unescaped first); no allocation once seen.</summary>
    private static int TraitKey(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IndexOf((byte)'\\') < 0 && utf8.Length <= 256)
        {
            Span<char> chars = stackalloc char[utf8.Length];
            var n = Encoding.UTF8.GetChars(utf8, chars);
            return TraitKeys.Of(chars[..n]);
        }

        return TraitKeys.Of(JsonSerializer.Deserialize<string>("\"" + Encoding.UTF8.GetString(utf8) + "\"")!);
    }

    /// <summary>A stable 64-bit hash of the messageId, settling equal timestamps the same way in any order.</summary>
    internal static ulong Tie(string messageId)
    {
        var max = Encoding.UTF8.GetMaxByteCount(messageId.Length);
        Span<byte> bytes = max <= 512 ? stackalloc byte[max] : new byte[max];
        return XxHash64.HashToUInt64(bytes[..Encoding.UTF8.GetBytes(messageId, bytes)]);
    }

    /// <summary>A string or number identifier as text; anything else is not an identifier.</summary>
    internal static string? ScalarText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        _ => null,
    };
}

/// <summary>
/// The fields of an event the engine needs, found in one pass over its members: identifiers and times
/// as values, traits, context traits, external ids and properties as elements of the parsed document.
/// </summary>
internal readonly record struct EventFacts(
    MessageType Type,
    string MessageId,
    long TimestampMs,
    string? UserId,
    string? AnonymousId,
    string? PreviousId,
    string? GroupId,
    string? EventName,
    long ReceivedAtMs,
    JsonElement Traits,
    JsonElement ContextTraits,
    JsonElement ExternalIds,
    JsonElement Properties,
    JsonElement ConsentPreferences)
{
    /// <summary>The facts of an event; false when its type is not a Segment call type.</summary>
    public static bool TryRead(JsonElement root, out EventFacts facts)
    {
        try
        {
            facts = Read(root);
            return true;
        }
        catch (InvalidDataException)
        {
            facts = default;
            return false;
        }
    }

    public static EventFacts Read(JsonElement root)
    {
        string? typeName = null, messageId = null, userId = null, anonymousId = null, previousId = null, groupId = null, eventName = null;
        JsonElement timestamp = default, receivedAt = default, traits = default, context = default, properties = default;
        foreach (var p in root.EnumerateObject())
        {
            // A later duplicate wins, as it does for TryGetProperty.
            var v = p.Value;
            if (p.NameEquals("type"u8)) { typeName = v.ValueKind == JsonValueKind.String ? v.GetString() : null; }
            else if (p.NameEquals("messageId"u8)) { messageId = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("userId"u8)) { userId = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("anonymousId"u8)) { anonymousId = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("previousId"u8)) { previousId = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("groupId"u8)) { groupId = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("event"u8)) { eventName = ProfileEngine.ScalarText(v); }
            else if (p.NameEquals("timestamp"u8)) { timestamp = v; }
            else if (p.NameEquals("receivedAt"u8)) { receivedAt = v; }
            else if (p.NameEquals("traits"u8)) { traits = v; }
            else if (p.NameEquals("context"u8)) { context = v; }
            else if (p.NameEquals("properties"u8)) { properties = v; }
        }

        if (!MessageTypes.TryParse(typeName, out var type))
        {
            throw new InvalidDataException($"A stored event has an unknown type '{typeName}'.");
        }

        var contextTraits = default(JsonElement);
        var externalIds = default(JsonElement);
        var preferences = default(JsonElement);
        if (context.ValueKind == JsonValueKind.Object)
        {
            _ = context.TryGetProperty("traits"u8, out contextTraits);
            _ = context.TryGetProperty("externalIds"u8, out externalIds);
            if (context.TryGetProperty("consent"u8, out var consent) && consent.ValueKind == JsonValueKind.Object)
            {
                _ = consent.TryGetProperty("categoryPreferences"u8, out preferences);
            }
        }

        return new EventFacts(
            type,
            messageId ?? "",
            timestamp.ValueKind == JsonValueKind.String && IsoTime.TryParse(timestamp, out var at) ? at.ToUnixTimeMilliseconds() : 0,
            userId,
            anonymousId,
            previousId,
            groupId,
            eventName,
            // Stored events always carry the collector's receivedAt; without one the log clock does not move.
            receivedAt.ValueKind == JsonValueKind.String && IsoTime.TryParse(receivedAt, out var received) ? received.ToUnixTimeMilliseconds() : long.MinValue,
            Object(traits),
            Object(contextTraits),
            externalIds.ValueKind == JsonValueKind.Array ? externalIds : default,
            Object(properties),
            Object(preferences));
    }

    private static JsonElement Object(JsonElement e) => e.ValueKind == JsonValueKind.Object ? e : default;
}
