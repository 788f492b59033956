using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Sources;

using Tandem.Storage;
using Tandem.Trust;

namespace Tandem.Unify;

/// <summary>
/// The Profile API: a customer's traits, events, identifiers, audiences and metadata by any of their
/// identifiers (<c>user_id:42</c>, <c>email:a@b.c</c>, <c>profile_id:prf_…</c>). Answers from memory;
/// needs a token with the <c>profiles:read</c> scope.
/// </summary>
internal static class ProfileApi
{
    private const int DefaultEvents = 20;
    private const int MaxEvents = 200;

    /// <summary>An events page also ends once this much event JSON is written (always one event at least), as the debugger feed's does.</summary>
    private const int MaxPageBytes = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapProfileApi(this IEndpointRouteBuilder app)
    {
        var profiles = app.MapGroup("/v1/profiles/{identifier}").RequireScope(Scopes.ProfilesRead).WithTags("Profile API");
        profiles.MapGet("/traits", Traits).WithSummary("The customer's traits, computed traits included; ?include=a,b keeps only those");
        profiles.MapGet("/events", Events).WithSummary("The customer's events as stored, newest first; ?limit=N (≤ 200) and ?cursor= from the previous page");
        profiles.MapGet("/identifiers", Identifiers).WithSummary("Every identifier linked to the customer, with when and where it was first seen");
        profiles.MapGet("/audiences", Audiences).WithSummary("The audiences the customer is in");
        profiles.MapGet("/metadata", Metadata).WithSummary("Profile id, first and last seen, event counts by type and source, accounts, merged profiles");
        return app;
    }

    private static IResult Traits(HttpContext context, string identifier, string? include, ProfileProcessor processor, PiiGuard pii, TimeProvider time)
    {
        var keep = include?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var lens = pii.For(context);
        var answer = Answer(identifier, processor, lens, (engine, profile, w) =>
        {
            lens.About("profile:" + profile.Id);
            var computed = engine.ComputedValues(profile, time.GetUtcNow()).ToList();
            var traits = new List<(string Key, byte[] Json)>();
            foreach (var (key, value) in profile.Traits.Entries())
            {
                // A computed trait of the same name wins: it is what the admin defined that name to mean.
                if ((keep is null || keep.Contains(key)) && !computed.Exists(c => c.Name == key))
                {
                    traits.Add((key, value.Json));
                }
            }

            traits.AddRange(computed.Where(c => keep is null || keep.Contains(c.Name)).Select(c => (c.Name, System.Text.Encoding.UTF8.GetBytes(c.Json))));
            // Always through the lens, even for a caller who sees every class in full: red values
            // read in full are audited, and only the lens knows which values are red.
            w.WritePropertyName("traits"u8);
            lens.WriteTraits(w, traits, "traits");
        });
        lens.AuditRead();
        return answer;
    }

    private static IResult Events(HttpContext context, string identifier, string? limit, string? cursor, ProfileProcessor processor, IEventLogReader log, PiiGuard pii)
    {
        var (size, badLimit) = Paging.Limit(limit, DefaultEvents, MaxEvents);
        var (olderThan, badCursor) = Paging.Sequence(cursor, "cursor", expected: "the cursor.next value of the previous page, unchanged");
        if ((badLimit ?? badCursor) is { } invalid)
        {
            return invalid;
        }

        var before = olderThan ?? long.MaxValue;
        var lens = pii.For(context);
        var (found, problem) = Resolve(identifier, processor, (_, profile) =>
        {
            var seqs = profile.EventSeqsSnapshot(before, size + 1);
            return (profile.Id, seqs);
        }, lens);
        if (problem is not null)
        {
            return problem;
        }

        var (profileId, page) = found;
        var more = page.Count > size;
        var seqs = more ? page.Take(size).ToList() : page;
        var entries = log.ReadSeqs(seqs);
        lens.About("profile:" + profileId);
        var answer = Json(w =>
        {
            w.WriteString("profileId"u8, profileId);
            w.WriteStartArray("data"u8);
            var start = w.BytesCommitted + w.BytesPending;
            long? last = null;
            var next = more ? seqs[^1] : (long?)null;
            foreach (var entry in entries)
            {
                if (last is { } sent && w.BytesCommitted + w.BytesPending - start >= MaxPageBytes)
                {
                    next = sent; // cut by size: the next page starts after the last event sent
                    break;
                }

                lens.Event(entry.Payload, $"events[{entry.Seq}]").WriteTo(w);
                last = entry.Seq;
            }

            w.WriteEndArray();
            w.WriteStartObject("cursor"u8);
            more = next is not null;
            if (next is { } cursor)
            {
                w.WriteString("next"u8, cursor.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                w.WriteNull("next"u8);
            }

            w.WriteBoolean("hasMore"u8, more);
            w.WriteEndObject();
        });
        lens.AuditRead();
        return answer;
    }

    private static IResult Identifiers(HttpContext context, string identifier, ProfileProcessor processor, SourceRegistry sources, PiiGuard pii)
    {
        var lens = pii.For(context);
        var answer = Answer(identifier, processor, lens, (_, profile, w) =>
        {
            lens.About("profile:" + profile.Id);
            w.WriteStartArray("data"u8);
            foreach (var linked in profile.Identifiers)
            {
                // A hidden identifier is left out of the list altogether.
                if (lens.Identifier(linked.Identifier.Type, linked.Identifier.Value, "identifiers") is not { } value)
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("type"u8, linked.Identifier.Type);
                w.WriteString("value"u8, value);
                w.WriteString("firstSeen"u8, DateTimeOffset.FromUnixTimeMilliseconds(linked.FirstSeenMs));
                WriteSource(w, sources, linked.SourceKey);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        lens.AuditRead();
        return answer;
    }

    private static IResult Audiences(HttpContext context, string identifier, ProfileProcessor processor, PiiGuard pii) =>
        Answer(identifier, processor, pii.For(context), (_, _, w) =>
        {
            // Audiences arrive with the Segment capability; until then no customer is in any.
            w.WriteStartArray("data"u8);
            w.WriteEndArray();
        });

    private static IResult Metadata(HttpContext context, string identifier, ProfileProcessor processor, SourceRegistry sources, PiiGuard pii) =>
        Answer(identifier, processor, pii.For(context), (_, profile, w) =>
        {
            w.WriteString("firstSeen"u8, DateTimeOffset.FromUnixTimeMilliseconds(profile.FirstSeenMs));
            w.WriteString("lastSeen"u8, DateTimeOffset.FromUnixTimeMilliseconds(profile.LastSeenMs));
            w.WriteNumber("eventCount"u8, profile.EventCount);
            w.WriteStartObject("eventsByType"u8);
            foreach (var type in Enum.GetValues<MessageType>())
            {
                if (profile.CountOf(type) > 0)
                {
                    w.WriteNumber(type.Name(), profile.CountOf(type));
                }
            }

            w.WriteEndObject();
            w.WriteStartArray("eventsBySource"u8);
            foreach (var (key, count) in profile.EventsBySource.OrderBy(kv => kv.Key))
            {
                w.WriteStartObject();
                WriteSource(w, sources, key);
                w.WriteNumber("events"u8, count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("accounts"u8);
            foreach (var account in profile.Accounts.Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(account);
            }

            w.WriteEndArray();
            w.WriteStartArray("mergedProfileIds"u8);
            foreach (var merged in profile.MergedIds)
            {
                w.WriteStringValue(merged);
            }

            w.WriteEndArray();
            w.WriteNumber("identifierCount"u8, profile.Identifiers.Count);
        });

    internal static void WriteSource(Utf8JsonWriter w, SourceRegistry sources, int key)
    {
        var (id, name) = SourceNames(sources, key);
        w.WriteString("sourceId"u8, id);
        w.WriteString("sourceName"u8, name);
    }

    /// <summary>Id and name of the source an event came through; key 0 is Tandem's own API (consent recorded by a member or a token).</summary>
    internal static (string? Id, string? Name) SourceNames(SourceRegistry sources, int key)
    {
        if (key == Privacy.ConsentService.ApiSourceKey)
        {
            return ("api", "Tandem API");
        }

        var source = sources.FindByKey(key);
        return (source?.Id, source?.Name);
    }

    /// <summary>Finds the profile and writes <c>{"profileId": …, …}</c> with the section, all under the reader lock.</summary>
    private static IResult Answer(string identifier, ProfileProcessor processor, PiiLens lens, Action<Unify.ProfileEngine, Profile, Utf8JsonWriter> write)
    {
        var (answer, problem) = Resolve(identifier, processor, (engine, profile) => Json(w =>
        {
            w.WriteString("profileId"u8, profile.Id);
            write(engine, profile, w);
        }), lens);
        return problem ?? answer;
    }

    private static IResult Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, TandemJson.Writer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return TypedResults.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    /// <summary>Until the snapshot is loaded the engine is an empty stand-in: the routes answer 503 rather than from it.</summary>
    internal static TBuilder WhenProfilesLoaded<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<ProfileProcessor>().Loaded ? await next(context) : Loading());

    internal static IResult Loading() => Problems.Answer(ProfilesLoading);

    private static readonly Refusal ProfilesLoading = new(RefusalKind.Unavailable, "profiles_loading", "Profiles are loading",
        "Tandem is loading profiles from its snapshot (or rebuilding them from the log); try again in a few seconds.", null,
        new Dictionary<string, object?> { [Problems.RetryAfterSeconds] = 5 });

    /// <summary>Parses <c>type:value</c>, finds the profile and runs <paramref name="read"/> on it under the reader lock.</summary>
    /// <param name="lens">
    /// The caller's view: a type whose values it may not see is answered as an unknown profile, word
    /// for word, so a lookup cannot confirm a guessed SSN or card number.
    /// </param>
    internal static (T Value, IResult? Problem) Resolve<T>(string identifier, ProfileProcessor processor, Func<Unify.ProfileEngine, Profile, T> read, PiiLens? lens = null)
    {
        var found = Find(identifier, processor, read, lens is null ? null : lens.Hides);
        return found.Refusal is { } refusal ? (default!, Problems.Answer(refusal)) : (found.Value!, null);
    }

    /// <summary>
    /// <see cref="Resolve"/> for services: the same lookup and the same refusals, as data.
    /// <paramref name="hidden"/> says which identifier types the caller may not see.
    /// </summary>
    internal static Outcome<T> Find<T>(string identifier, ProfileProcessor processor, Func<Unify.ProfileEngine, Profile, T> read, Func<string, bool>? hidden = null)
    {
        if (!processor.Loaded)
        {
            return ProfilesLoading;
        }

        if (!ProfileKey.TryParsePathSegment(identifier, out var key))
        {
            return new Refusal(RefusalKind.Invalid, "invalid_identifier", "The identifier is not type:value",
                $"Write the identifier as type:value, such as user_id:42, email:ada@example.com or profile_id:prf_00000001; got '{identifier}'.", "identifier");
        }

        var result = processor.Read<(bool Found, bool UnknownType, T? Value)>(engine =>
        {
            var check = key.Check(engine.Rules, out var id);
            Profile? profile;
            if (key.IsProfileId)
            {
                profile = engine.FindById(key.Value);
            }
            else if (check == KeyCheck.UnknownType)
            {
                return (false, true, default);
            }
            else if (hidden?.Invoke(key.Type) == true)
            {
                profile = null;
            }
            else
            {
                // A blocked value names no one: answered as an unknown profile.
                profile = check == KeyCheck.Ok ? engine.Find(id) : null;
            }

            return profile is null ? (false, false, default) : (true, false, read(engine, profile));
        });

        if (result.UnknownType)
        {
            var known = processor.Read(engine => string.Join(", ", engine.Rules.Types.Select(t => t.Name)));
            return new Refusal(RefusalKind.Invalid, "unknown_identifier_type", "Unknown identifier type",
                $"'{key.Type}' is not an identifier type of this workspace. Use {ProfileKey.ProfileIdType} or one of: {known}.", "identifier");
        }

        return result.Found
            ? result.Value!
            : new Refusal(RefusalKind.NotFound, "profile_not_found", "No profile has this identifier",
                $"No customer is known by {key}. Identifiers are linked once an event carrying them is processed; check the type and the exact value.", "identifier");
    }
}
