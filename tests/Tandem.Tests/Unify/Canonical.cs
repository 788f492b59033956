using System.Globalization;
using System.Text;
using Tandem.Collect;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>
/// The engine's state written so that two engines that hold the same customers compare equal
/// whatever order they saw the events in: profiles keyed by their sorted identifier sets (never by
/// Id or Number, which follow arrival order), then traits, counters, accounts and computed values.
/// </summary>
internal static class Canonical
{
    /// <summary>A profile's identifiers, sorted ordinally, as "type:value" joined by spaces.</summary>
    public static string IdentitiesOf(Profile profile) =>
        string.Join(' ', profile.Identifiers.Select(l => l.Identifier.ToString()).Order(StringComparer.Ordinal));

    /// <summary>Every live profile's <see cref="IdentitiesOf"/>, sorted ordinally.</summary>
    public static string[] Identities(ProfileEngine engine) =>
        [.. engine.Profiles.Select(IdentitiesOf).Order(StringComparer.Ordinal)];

    /// <summary>A trait's raw JSON text, or null when the bag has no such key.</summary>
    public static string? Trait(TraitBag bag, string key) =>
        bag.TryGet(key, out var value) ? Encoding.UTF8.GetString(value.Json) : null;

    /// <summary>All traits as "key=json" sorted by key, joined by spaces.</summary>
    public static string Traits(TraitBag bag) =>
        string.Join(' ', bag.Entries().OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + "=" + Encoding.UTF8.GetString(e.Value.Json)));

    /// <summary>Event counts per message type that occurred, such as "identify=1 track=2".</summary>
    public static string Counts(Profile profile) =>
        string.Join(' ', Enum.GetValues<MessageType>().Where(t => profile.CountOf(t) > 0).Select(t => t.Name() + "=" + Num(profile.CountOf(t))));

    public static string Sources(Profile profile) =>
        string.Join(' ', profile.EventsBySource.OrderBy(kv => kv.Key).Select(kv => Num(kv.Key) + "=" + Num(kv.Value)));

    /// <summary>The whole state, one line per profile and per account, in a stable order.</summary>
    public static string State(ProfileEngine engine, DateTimeOffset now)
    {
        var lines = new List<string>();
        foreach (var profile in engine.Profiles)
        {
            var computed = string.Join(' ', engine.ComputedValues(profile, now).OrderBy(v => v.Name, StringComparer.Ordinal).Select(v => v.Name + "=" + v.Json));
            lines.Add($"profile [{IdentitiesOf(profile)}] traits{{{Traits(profile.Traits)}}} types{{{Counts(profile)}}} sources{{{Sources(profile)}}}"
                + $" events={Num(profile.EventCount)} seen={Time(profile.FirstSeenMs)}..{Time(profile.LastSeenMs)}"
                + $" accounts{{{string.Join(' ', profile.Accounts.Order(StringComparer.Ordinal))}}} computed{{{computed}}}");
        }

        foreach (var account in engine.Accounts)
        {
            var members = string.Join(" | ", account.Members.Select(IdentitiesOf).Order(StringComparer.Ordinal));
            lines.Add($"account {account.GroupId} members{{{members}}} count={Num(account.MemberCount)} traits{{{Traits(account.Traits)}}}"
                + $" seen={Time(account.FirstSeenMs)}..{Time(account.LastSeenMs)}");
        }

        lines.Sort(StringComparer.Ordinal);
        lines.Add($"profiles={Num(engine.ProfileCount)} identifiers={Num(engine.IdentifierCount)} accounts={Num(engine.AccountCount)}"
            + $" applied={Num(engine.EventsApplied)} unattributed={Num(engine.EventsUnattributed)}");
        return string.Join('\n', lines);
    }

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Time(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
