using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>One event as the collector stores it: the source it came through and its Segment Spec JSON.</summary>
internal sealed record StoredEvent(int Source, string MessageId, byte[] Payload)
{
    public override string ToString() => MessageId;
}

/// <summary>
/// Writes a list of stored events the way a test reads them. Each event gets messageId m1, m2, … in
/// the order written unless one is given, so a permutation of the list keeps every event's messageId
/// (and with it the tie-break of equal timestamps).
/// </summary>
internal sealed class SpecEvents
{
    // Stored payloads keep characters such as '+' as sent, not escaped.
    private static readonly JsonSerializerOptions AsStored = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly List<StoredEvent> _events = [];

    public IReadOnlyList<StoredEvent> List => _events;

    public StoredEvent this[int index] => _events[index];

    public int Count => _events.Count;

    /// <summary>"10:00" or "10:00:30" is that time on 2026-11-01 UTC; anything with a 'T' is taken as written.</summary>
    public static string At(string time) =>
        time.Contains('T', StringComparison.Ordinal) ? time
        : "2026-11-01T" + (time.Length == 5 ? time + ":00" : time) + ".000Z";

    public static DateTimeOffset Time(string time) =>
        DateTimeOffset.Parse(At(time), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static long Ms(string time) => Time(time).ToUnixTimeMilliseconds();

    /// <summary>A <c>context</c> object with traits and/or externalIds given as (id, type).</summary>
    public static JsonObject Context(JsonObject? traits = null, params (string Id, string Type)[] externalIds)
    {
        var context = new JsonObject();
        if (traits is not null)
        {
            context["traits"] = traits.DeepClone();
        }

        if (externalIds.Length > 0)
        {
            var array = new JsonArray();
            foreach (var (id, type) in externalIds)
            {
                array.Add(new JsonObject { ["id"] = id, ["type"] = type, ["collection"] = "users" });
            }

            context["externalIds"] = array;
        }

        return context;
    }

    public SpecEvents Identify(string at, string? userId = null, string? anonymousId = null, JsonObject? traits = null,
        JsonObject? context = null, int source = 1, string? messageId = null) =>
        Add("identify", at, Fields(userId, anonymousId, context, ("traits", traits)), source, messageId);

    public SpecEvents Track(string at, string name, string? userId = null, string? anonymousId = null, JsonObject? properties = null,
        JsonObject? context = null, int source = 1, string? messageId = null)
    {
        var fields = Fields(userId, anonymousId, context, ("properties", properties));
        fields["event"] = name;
        return Add("track", at, fields, source, messageId);
    }

    public SpecEvents Page(string at, string? userId = null, string? anonymousId = null, JsonObject? context = null,
        int source = 1, string? messageId = null)
    {
        var fields = Fields(userId, anonymousId, context);
        fields["name"] = "Home";
        return Add("page", at, fields, source, messageId);
    }

    public SpecEvents Group(string at, string groupId, string? userId = null, string? anonymousId = null, JsonObject? traits = null,
        JsonObject? context = null, int source = 1, string? messageId = null)
    {
        var fields = Fields(userId, anonymousId, context, ("traits", traits));
        fields["groupId"] = groupId;
        return Add("group", at, fields, source, messageId);
    }

    public SpecEvents Alias(string at, string userId, string previousId, string? anonymousId = null, int source = 1, string? messageId = null)
    {
        var fields = Fields(userId, anonymousId, null);
        fields["previousId"] = previousId;
        return Add("alias", at, fields, source, messageId);
    }

    /// <summary>Any event: <paramref name="fields"/> are copied as they are (a numeric userId, say).</summary>
    public SpecEvents Add(string type, string at, JsonObject fields, int source = 1, string? messageId = null)
    {
        messageId ??= "m" + (_events.Count + 1).ToString(CultureInfo.InvariantCulture);
        var payload = new JsonObject { ["type"] = type, ["messageId"] = messageId, ["timestamp"] = At(at) };
        foreach (var (key, value) in fields)
        {
            payload[key] = value?.DeepClone();
        }

        _events.Add(new StoredEvent(source, messageId, Encoding.UTF8.GetBytes(payload.ToJsonString(AsStored))));
        return this;
    }

    private static JsonObject Fields(string? userId, string? anonymousId, JsonObject? context, params (string Name, JsonObject? Value)[] objects)
    {
        var fields = new JsonObject();
        if (userId is not null)
        {
            fields["userId"] = userId;
        }

        if (anonymousId is not null)
        {
            fields["anonymousId"] = anonymousId;
        }

        foreach (var (name, value) in objects)
        {
            if (value is not null)
            {
                fields[name] = value.DeepClone();
            }
        }

        if (context is not null)
        {
            fields["context"] = context.DeepClone();
        }

        return fields;
    }
}

/// <summary>An engine fed stored events in log order (seq 1, 2, 3 …), keeping the log for backfills.</summary>
internal sealed class Replay(IdentityRules? rules = null)
{
    private readonly List<(long Seq, byte[] Payload)> _log = [];

    public ProfileEngine Engine { get; } = new(rules);

    public IReadOnlyList<(long Seq, byte[] Payload)> Log => _log;

    public ApplyResult Apply(StoredEvent stored)
    {
        var seq = _log.Count + 1L;
        _log.Add((seq, stored.Payload));
        return Engine.Apply(seq, stored.Source, stored.Payload);
    }

    public ApplyResult[] ApplyAll(IEnumerable<StoredEvent> events) => [.. events.Select(Apply)];

    public void Define(ComputedTraitDefinition definition) => Engine.DefineComputedTrait(definition, _log);

    /// <summary>The live profile that holds the identifier (written "type:value").</summary>
    public Profile Holder(string identifier)
    {
        var colon = identifier.IndexOf(':', StringComparison.Ordinal);
        var profile = Engine.Find(new Identifier(identifier[..colon], identifier[(colon + 1)..]));
        Assert.NotNull(profile);
        return profile;
    }

    /// <summary>The profile's computed trait, as raw JSON, at <paramref name="now"/>.</summary>
    public string Computed(Profile profile, string name, DateTimeOffset now) =>
        Engine.ComputedValues(profile, now).Single(v => v.Name == name).Json;
}
