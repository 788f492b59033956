using System.Text;
using Tandem.Collect;

namespace Tandem.Unify;

/// <summary>
/// The engine's whole state in one canonical binary form. The same state always writes the same
/// bytes, which is how a replay of the log is proved equal to the live state, and how the processor
/// restarts without replaying everything: it loads the newest snapshot and reads the log after its
/// <see cref="ProfileEngine.Position"/>.
/// </summary>
public sealed partial class ProfileEngine
{
    // 5: profile numbers are the sequence numbers of the events that created them (no counter is kept),
    // and accounts keep what each member said. Older snapshots are set aside and the log replayed.
    private const int SnapshotVersion = 5;
    private static readonly byte[] Magic = "TDMPROFS"u8.ToArray();

    public void WriteSnapshot(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(SnapshotVersion);
        w.Write(Position);
        w.Write(EventsApplied);
        w.Write(EventsUnattributed);
        w.Write(MergeCount);
        w.Write(LogClockMs);

        // Computed traits by name, without the gaps removals leave, so that the same definitions always
        // write the same bytes whatever order they were defined in.
        var slots = Enumerable.Range(0, _computed.Count).Where(i => _computed[i] is not null)
            .OrderBy(i => _computed[i]!.Definition.Name, StringComparer.Ordinal).ToArray();
        w.Write(slots.Length);
        foreach (var slot in slots)
        {
            WriteDefinition(w, _computed[slot]!.Definition);
        }

        var profiles = _profiles.Values.OrderBy(p => p.Number).ToList();
        w.Write(profiles.Count);
        foreach (var p in profiles)
        {
            WriteProfile(w, p, slots);
        }

        var accounts = _accounts.Values.OrderBy(a => a.GroupId, StringComparer.Ordinal).ToList();
        w.Write(accounts.Count);
        foreach (var a in accounts)
        {
            w.Write(a.GroupId);
            w.Write(a.FirstSeenMs);
            w.Write(a.LastSeenMs);

            // Sorted by key: after a privacy delete the traits are settled again from the parts, in an
            // order of their own, and must still write the bytes a replay without that person writes.
            WriteTraitsSorted(w, a.Traits);
            w.Write(a.Parts.Count);
            foreach (var (number, part) in a.Parts)
            {
                w.Write(number);
                w.Write(part.FirstSeenMs);
                w.Write(part.LastSeenMs);
                WriteTraitsSorted(w, part.Traits);
            }
        }

        NotApplied.Write(w);
    }

    /// <summary>Loads a snapshot written by <see cref="WriteSnapshot"/>; identity rules are configuration and stay as given.</summary>
    public static ProfileEngine ReadSnapshot(Stream stream, IdentityRules? rules = null)
    {
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || r.ReadInt32() != SnapshotVersion)
        {
            throw new InvalidDataException("This is not a Tandem profile snapshot of a version this build reads.");
        }

        var engine = new ProfileEngine(rules)
        {
            Position = r.ReadInt64(),
            EventsApplied = r.ReadInt64(),
            EventsUnattributed = r.ReadInt64(),
            MergeCount = r.ReadInt64(),
        };
        engine.LogClockMs = r.ReadInt64();

        var definitions = r.ReadInt32();
        for (var i = 0; i < definitions; i++)
        {
            engine._computed.Add(new CompiledTrait(ReadDefinition(r)));
        }

        var profiles = r.ReadInt32();
        for (var i = 0; i < profiles; i++)
        {
            var p = engine.ReadProfile(r);
            engine._profiles[p.Number] = p;
            engine._numbers.Add(p.Number); // written in ascending order
            foreach (var id in p.AbsorbedIds ?? [])
            {
                engine._absorbed[Profile.ParseId(id)] = p;
            }

            foreach (var linked in p.Identifiers)
            {
                engine._index[linked.Identifier] = p;
            }
        }

        var accounts = r.ReadInt32();
        for (var i = 0; i < accounts; i++)
        {
            var account = new Account(r.ReadString()) { FirstSeenMs = r.ReadInt64(), LastSeenMs = r.ReadInt64() };
            engine.ReadTraits(r, account.Traits);
            var parts = r.ReadInt32();
            for (var j = 0; j < parts; j++)
            {
                var part = account.PartOf(r.ReadInt64());
                part.FirstSeenMs = r.ReadInt64();
                part.LastSeenMs = r.ReadInt64();
                engine.ReadTraits(r, part.Traits);
            }

            engine._accounts[account.GroupId] = account;
        }

        foreach (var p in engine._profiles.Values)
        {
            foreach (var groupId in p.AccountIds ?? [])
            {
                engine._accounts[groupId].Members.Add(p);
            }
        }

        engine.NotApplied.Read(r);

        return engine;
    }

    private void WriteProfile(BinaryWriter w, Profile p, int[] slots)
    {
        w.Write(p.Number);
        w.Write(p.FirstSeenMs);
        w.Write(p.LastSeenMs);
        foreach (var type in Enum.GetValues<MessageType>())
        {
            w.Write(p.CountOf(type));
        }

        w.Write(p.CountsBySource.Length);
        foreach (var (source, count) in p.CountsBySource)
        {
            w.Write(source);
            w.Write(count);
        }

        w.Write(p.Identifiers.Count);
        foreach (var l in p.Identifiers)
        {
            WriteIdentifier(w, l.Identifier);
            w.Write(l.FirstSeenMs);
            w.Write(l.SourceKey);
            w.Write(l.Seq);
            w.Write(l.Tie);
        }

        WriteTraits(w, p.Traits);

        var seqs = p.EventSeqs;
        w.Write(seqs.Length);
        var previous = 0L;
        foreach (var seq in seqs)
        {
            w.Write7BitEncodedInt64(seq - previous);
            previous = seq;
        }

        WriteStrings(w, p.AccountIds?.Order(StringComparer.Ordinal).ToList());
        WriteStrings(w, p.AbsorbedIds);

        w.Write(p.MergeList?.Count ?? 0);
        foreach (var m in p.MergeList ?? [])
        {
            w.Write(m.Seq);
            w.Write(m.MessageId);
            w.Write(m.EventTimestampMs);
            w.Write(m.SourceKey);
            w.Write(m.SurvivorId);
            w.Write(m.AbsorbedId);
            WriteIdentifier(w, m.Via);
            w.Write(m.Rule);
            WriteIdentifiers(w, m.EventIdentifiers);
            WriteIdentifiers(w, m.AbsorbedIdentifiers);
        }

        w.Write(p.DeclinedList?.Count ?? 0);
        foreach (var d in p.DeclinedList ?? [])
        {
            w.Write(d.Seq);
            w.Write(d.MessageId);
            WriteIdentifier(w, d.Identifier);
            w.Write(d.OtherProfileId ?? "");
            w.Write(d.Reason);
        }

        var computed = p.Computed is { } states && slots.Any(slot => slot < states.Length && states[slot] is not null) ? states : null;
        w.Write(computed is null ? 0 : slots.Length);
        foreach (var slot in computed is null ? [] : slots)
        {
            var state = slot < computed!.Length ? computed[slot] : null;
            w.Write(state is not null);
            if (state is not null)
            {
                WriteState(w, state, _computed[slot]!.StaleBefore(LogClockMs));
            }
        }

        WriteConsent(w, p.Consent);
    }

    private static void WriteConsent(BinaryWriter w, ConsentState? consent)
    {
        if (consent is null)
        {
            w.Write(-1);
            return;
        }

        // Current decisions by category name, so the same state writes the same bytes.
        var current = consent.Current.Values.OrderBy(d => d.Category, StringComparer.Ordinal).ToList();
        w.Write(current.Count);
        current.ForEach(d => WriteDecision(w, d));
        w.Write(consent.Decisions.Count);
        foreach (var d in consent.Decisions)
        {
            WriteDecision(w, d);
        }
    }

    private static void WriteDecision(BinaryWriter w, ConsentDecision d)
    {
        w.Write(d.Category);
        w.Write(d.Granted);
        w.Write(d.AtMs);
        w.Write(d.Tie);
        w.Write(d.SourceKey);
        w.Write(d.Seq);
    }

    private ConsentState? ReadConsent(BinaryReader r)
    {
        var current = r.ReadInt32();
        if (current < 0)
        {
            return null;
        }

        var currentDecisions = new ConsentDecision[current];
        for (var i = 0; i < current; i++)
        {
            currentDecisions[i] = ReadDecision(r);
        }

        var history = new ConsentDecision[r.ReadInt32()];
        for (var i = 0; i < history.Length; i++)
        {
            history[i] = ReadDecision(r);
        }

        var consent = new ConsentState();
        consent.Restore(currentDecisions, history);
        return consent;
    }

    private ConsentDecision ReadDecision(BinaryReader r) =>
        new(Intern(r.ReadString()), r.ReadBoolean(), r.ReadInt64(), r.ReadUInt32(), r.ReadInt32(), r.ReadInt64());

    private Profile ReadProfile(BinaryReader r)
    {
        var p = new Profile(r.ReadInt64())
        {
            FirstSeenMs = r.ReadInt64(),
            LastSeenMs = r.ReadInt64(),
        };
        foreach (var type in Enum.GetValues<MessageType>())
        {
            p.AddCount(type, r.ReadInt64());
        }

        var sources = r.ReadInt32();
        for (var i = 0; i < sources; i++)
        {
            p.CountSource(r.ReadInt32(), r.ReadInt64());
        }

        var identifiers = r.ReadInt32();
        for (var i = 0; i < identifiers; i++)
        {
            p.AddIdentifier(new LinkedIdentifier(ReadIdentifier(r), r.ReadInt64(), r.ReadInt32(), r.ReadInt64(), r.ReadUInt64()));
        }

        ReadTraits(r, p.Traits);
        p.Traits.Trim();

        var events = r.ReadInt32();
        var seqs = new long[events];
        var seq = 0L;
        for (var i = 0; i < events; i++)
        {
            seq += r.Read7BitEncodedInt64();
            seqs[i] = seq;
        }

        p.SetSeqs(seqs);

        if (ReadStrings(r) is { } accounts)
        {
            p.AccountIds = new HashSet<string>(accounts, StringComparer.Ordinal);
        }

        p.AbsorbedIds = ReadStrings(r);

        var merges = r.ReadInt32();
        for (var i = 0; i < merges; i++)
        {
            (p.MergeList ??= []).Add(new MergeRecord(r.ReadInt64(), r.ReadString(), r.ReadInt64(), r.ReadInt32(), r.ReadString(), r.ReadString(),
                ReadIdentifier(r), r.ReadString(), ReadIdentifiers(r), ReadIdentifiers(r)));
        }

        var declined = r.ReadInt32();
        for (var i = 0; i < declined; i++)
        {
            (p.DeclinedList ??= []).Add(new DeclinedLink(r.ReadInt64(), r.ReadString(), ReadIdentifier(r), r.ReadString() is { Length: > 0 } other ? other : null, r.ReadString()));
        }

        var computed = r.ReadInt32();
        if (computed > 0)
        {
            p.Computed = new ComputedState?[computed];
            for (var i = 0; i < computed; i++)
            {
                p.Computed[i] = r.ReadBoolean() ? ReadState(r) : null;
            }
        }

        p.Consent = ReadConsent(r);
        return p;
    }

    private static void WriteTraits(BinaryWriter w, TraitBag bag)
    {
        w.Write(bag.Count);
        foreach (var (key, value) in bag.Entries())
        {
            w.Write(key);
            w.Write(value.TimestampMs);
            w.Write(value.Tie);
            w.Write(value.Json.Length);
            w.Write(value.Json);
        }
    }

    private static void WriteTraitsSorted(BinaryWriter w, TraitBag bag)
    {
        w.Write(bag.Count);
        foreach (var (key, value) in bag.Entries().OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            w.Write(key);
            w.Write(value.TimestampMs);
            w.Write(value.Tie);
            w.Write(value.Json.Length);
            w.Write(value.Json);
        }
    }

    private void ReadTraits(BinaryReader r, TraitBag bag)
    {
        var count = r.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var key = TraitKeys.Of(r.ReadString());
            var ts = r.ReadInt64();
            var tie = r.ReadUInt32();
            bag.Offer(key, new TraitValue(ts, tie, _values.Get(r.ReadBytes(r.ReadInt32()))));
        }
    }

    private static void WriteIdentifier(BinaryWriter w, Identifier id)
    {
        w.Write(id.Type);
        w.Write(id.Value);
    }

    private Identifier ReadIdentifier(BinaryReader r) => new(Intern(r.ReadString()), r.ReadString());

    private static void WriteIdentifiers(BinaryWriter w, IReadOnlyList<Identifier> ids)
    {
        w.Write(ids.Count);
        foreach (var id in ids)
        {
            WriteIdentifier(w, id);
        }
    }

    private Identifier[] ReadIdentifiers(BinaryReader r)
    {
        var ids = new Identifier[r.ReadInt32()];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = ReadIdentifier(r);
        }

        return ids;
    }

    private static void WriteStrings(BinaryWriter w, List<string>? strings)
    {
        w.Write(strings?.Count ?? -1);
        foreach (var s in strings ?? [])
        {
            w.Write(s);
        }
    }

    private static List<string>? ReadStrings(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count < 0)
        {
            return null;
        }

        var list = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(r.ReadString());
        }

        return list;
    }

    private static void WriteDefinition(BinaryWriter w, ComputedTraitDefinition d)
    {
        w.Write(d.Name);
        w.Write((int)d.Aggregation);
        w.Write((int)d.Type);
        w.Write(d.Event ?? "");
        w.Write(d.Property ?? "");
        w.Write(d.Window?.Ticks ?? -1);
        w.Write(d.Where?.Count ?? 0);
        foreach (var c in d.Where ?? [])
        {
            w.Write(c.Property);
            w.Write((int)c.Operator);
            w.Write(c.Value ?? "");
        }
    }

    private static ComputedTraitDefinition ReadDefinition(BinaryReader r)
    {
        var name = r.ReadString();
        var aggregation = (Aggregation)r.ReadInt32();
        var type = (MessageType)r.ReadInt32();
        var eventName = r.ReadString();
        var property = r.ReadString();
        var window = r.ReadInt64();
        var where = new PropertyCondition[r.ReadInt32()];
        for (var i = 0; i < where.Length; i++)
        {
            var prop = r.ReadString();
            var op = (ConditionOperator)r.ReadInt32();
            var value = r.ReadString();
            where[i] = new PropertyCondition(prop, op, value.Length == 0 ? null : value);
        }

        return new ComputedTraitDefinition(name, aggregation, type, eventName.Length == 0 ? null : eventName,
            property.Length == 0 ? null : property, where, window < 0 ? null : TimeSpan.FromTicks(window));
    }

    /// <summary>Writes a state; window entries older than <paramref name="staleBeforeMs"/> are left out (no read can count them).</summary>
    private static void WriteState(BinaryWriter w, ComputedState s, long staleBeforeMs)
    {
        w.Write(s.Count);
        w.Write(s.NumericCount);
        WriteNumber(w, s.Sum);
        WriteNullable(w, s.Min);
        WriteNullable(w, s.Max);
        WriteObservation(w, s.First);
        WriteObservation(w, s.Last);
        w.Write(s.Frequencies?.Count ?? -1);
        foreach (var (json, count) in s.Frequencies?.OrderBy(kv => kv.Key, StringComparer.Ordinal) ?? Enumerable.Empty<KeyValuePair<string, long>>())
        {
            w.Write(json);
            w.Write(count);
        }

        var window = s.Window?.Where(o => o.TimestampMs >= staleBeforeMs).ToList();
        w.Write(window?.Count ?? -1);
        foreach (var o in window ?? [])
        {
            WriteObservation(w, o);
        }
    }

    private static ComputedState ReadState(BinaryReader r)
    {
        var s = new ComputedState
        {
            Count = r.ReadInt64(),
            NumericCount = r.ReadInt64(),
            Sum = ReadNumber(r),
            Min = ReadNullable(r),
            Max = ReadNullable(r),
            First = ReadObservation(r),
            Last = ReadObservation(r),
        };
        var frequencies = r.ReadInt32();
        if (frequencies >= 0)
        {
            s.Frequencies = new(frequencies, StringComparer.Ordinal);
            for (var i = 0; i < frequencies; i++)
            {
                s.Frequencies[r.ReadString()] = r.ReadInt64();
            }
        }

        var window = r.ReadInt32();
        if (window >= 0)
        {
            s.Window = new(window);
            for (var i = 0; i < window; i++)
            {
                s.Window.Add(ReadObservation(r)!.Value);
            }
        }

        return s;
    }

    private static void WriteNullable(BinaryWriter w, ExactNumber? d)
    {
        w.Write(d.HasValue);
        if (d is { } value)
        {
            WriteNumber(w, value);
        }
    }

    private static ExactNumber? ReadNullable(BinaryReader r) => r.ReadBoolean() ? ReadNumber(r) : null;

    private static void WriteNumber(BinaryWriter w, ExactNumber n)
    {
        var bytes = n.Unscaled.ToByteArray();
        w.Write(n.Scale);
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static ExactNumber ReadNumber(BinaryReader r)
    {
        var scale = r.ReadInt32();
        return new ExactNumber(new System.Numerics.BigInteger(r.ReadBytes(r.ReadInt32())), scale);
    }

    private static void WriteObservation(BinaryWriter w, ComputedState.Observation? o)
    {
        w.Write(o.HasValue);
        if (o is { } v)
        {
            w.Write(v.TimestampMs);
            w.Write(v.Tie);
            w.Write(v.Json is not null);
            if (v.Json is not null)
            {
                w.Write(v.Json);
            }

            WriteNullable(w, v.Number);
        }
    }

    private static ComputedState.Observation? ReadObservation(BinaryReader r)
    {
        if (!r.ReadBoolean())
        {
            return null;
        }

        var ts = r.ReadInt64();
        var tie = r.ReadUInt64();
        var json = r.ReadBoolean() ? r.ReadString() : null;
        return new ComputedState.Observation(ts, tie, json, ReadNullable(r));
    }
}
