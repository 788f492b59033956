using CsCheck;
using static Tandem.Tests.Collect.Fuzz.HostileJson;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>
/// Generators of collector requests: every call type on its long and short route, batches, hostile
/// strings in every field the Spec names, wrong types for each of them, odd timestamps, the three
/// places of the write key, gzip (whole and cut), BOM, content types, and bodies that are not JSON.
/// </summary>
public static class CollectCases
{
    private static readonly string[] CallTypes = ["identify", "track", "page", "screen", "group", "alias"];

    private static Gen<Field[]> Optional(string name, Gen<byte[]> value, int presentWeight = 3, int absentWeight = 1) =>
        Gen.Frequency(
            (presentWeight, (IGen<Field[]>)value.Select(v => new[] { new Field(Quoted(Utf8(name)), v) })),
            (absentWeight, Gen.Const(System.Array.Empty<Field>())));

    /// <summary>Mostly the right shape; now and then any value at all, to try the wrong type of every known field.</summary>
    private static Gen<byte[]> Mostly(Gen<byte[]> right, int rightWeight = 8) =>
        Gen.Frequency((rightWeight, right), (1, Value));

    private static Gen<byte[]> Identifier(string prefix) => Gen.Frequency(
        (8, (IGen<byte[]>)Gen.OneOf($"\"{prefix}-<ID>-<I>\"", $"\"{prefix}-<ID>\"").Select(Utf8)),
        (3, TaggedString(prefix)),
        (1, Gen.Const(Utf8("<N>"))),
        (1, Gen.OneOf("\"\"", "\"   \"", "\"\\t\"", "null", "0", "-0", "1e400", "true", "{}", "[]").Select(Utf8)),
        (1, Value));

    private static readonly Gen<byte[]> Email = Gen.Frequency(
        (4, (IGen<byte[]>)Gen.Const(Utf8("\"<ID>-<I>@example.com\""))),
        (3, Gen.Select(TextPiece, TextPiece, (a, b) => Quoted(Concat([Utf8("<ID>-"), a, b, Utf8("@example.com")])))),
        (1, Value));

    private static readonly Gen<byte[]> Traits = Gen.Select(
        Optional("email", Email),
        Optional("name", StringValue, 1),
        Optional("plan", Mostly(StringValue), 1),
        Gen.Select(Key, Value).Array[0, 3],
        (email, name, plan, extra) => ObjectOf([.. email.Concat(name).Concat(plan).Select(f => (f.Key, f.Value)), .. extra]));

    private static readonly Gen<byte[]> Properties = Gen.Select(
        Optional("revenue", Mostly(Number), 1),
        Optional("currency", Mostly(StringValue), 1),
        Gen.Select(Key, Value).Array[0, 3],
        (revenue, currency, extra) => ObjectOf([.. revenue.Concat(currency).Select(f => (f.Key, f.Value)), .. extra]));

    private static readonly Gen<byte[]> Context = Gen.Select(
        Optional("traits", Mostly(Traits), 1),
        Optional("ip", Mostly(Gen.OneOf("\"203.0.113.9\"", "\"::1\"", "\"not an ip\"").Select(Utf8)), 1),
        Optional("library", Mostly(Gen.Const(Utf8("{\"name\":\"analytics-node\",\"version\":\"3.1.0\"}"))), 1),
        Gen.Select(Key, Value).Array[0, 2],
        (traits, ip, library, extra) => ObjectOf([.. traits.Concat(ip).Concat(library).Select(f => (f.Key, f.Value)), .. extra]));

    /// <summary>The fields every call shares: ids, timestamps, context.</summary>
    private static readonly Gen<Field[]> Common = Gen.Select(
        Optional("messageId", Gen.Frequency((10, (IGen<byte[]>)Gen.Const(Utf8("\"m-<ID>-<I>\""))), (2, TaggedString("m")), (1, Gen.OneOf("<N>", "\"\"", "null").Select(Utf8)), (1, Value)), 8, 1),
        Optional("anonymousId", Identifier("a"), 1, 2),
        Optional("timestamp", Timestamp, 2, 1),
        Optional("sentAt", Timestamp, 1, 2),
        Optional("originalTimestamp", Timestamp, 1, 4),
        Optional("context", Mostly(Context, 4), 1, 1),
        Optional("integrations", Mostly(Gen.Const(Utf8("{\"All\":true}")), 2), 1, 6),
        (id, anon, ts, sent, orig, context, integrations) => id.Concat(anon).Concat(ts).Concat(sent).Concat(orig).Concat(context).Concat(integrations).ToArray());

    private static Gen<Field[]> Specific(string type) => type switch
    {
        "identify" => Gen.Select(Optional("userId", Identifier("u"), 4, 1), Optional("traits", Mostly(Traits), 3, 1), (a, b) => a.Concat(b).ToArray()),
        "track" => Gen.Select(
            Optional("userId", Identifier("u"), 4, 1),
            Optional("event", Gen.Frequency((6, (IGen<byte[]>)Gen.Const(Utf8("\"Order Completed\""))), (3, StringValue), (1, Value)), 8, 1),
            Optional("properties", Mostly(Properties), 2, 1),
            (a, b, c) => a.Concat(b).Concat(c).ToArray()),
        "page" or "screen" => Gen.Select(
            Optional("userId", Identifier("u"), 4, 1),
            Optional("name", Mostly(StringValue), 1, 1),
            Optional("category", Mostly(StringValue), 1, 3),
            Optional("properties", Mostly(Properties), 1, 1),
            (a, b, c, d) => a.Concat(b).Concat(c).Concat(d).ToArray()),
        "group" => Gen.Select(
            Optional("userId", Identifier("u"), 4, 1),
            Optional("groupId", Identifier("g"), 8, 1),
            Optional("traits", Mostly(Traits), 1, 1),
            (a, b, c) => a.Concat(b).Concat(c).ToArray()),
        _ => Gen.Select(Optional("previousId", Identifier("p"), 8, 1), Optional("userId", Identifier("u"), 8, 1), (a, b) => a.Concat(b).ToArray()),
    };

    /// <summary>One event of the given call type; the fields in a random order, now and then one twice.</summary>
    public static Gen<FuzzEvent> Event(string type, bool inBatch) => Gen.Select(
        Common,
        Specific(type),
        Optional("type", Gen.Frequency((12, (IGen<byte[]>)Gen.Const(Quoted(Utf8(type)))), (1, Gen.OneOf("\"purchase\"", "\"Track\"", "\"\"").Select(Utf8)), (1, Value)),
            inBatch ? 12 : 1, inBatch ? 1 : 6),
        Gen.Int[0, 1000],
        Gen.Frequency((12, (IGen<Field[]>)Gen.Const(System.Array.Empty<Field>())), (1, Gen.Select(Key, Value, (k, v) => new[] { new Field(k, v) }))),
        (common, specific, typeField, order, extra) =>
        {
            var fields = typeField.Concat(specific).Concat(common).Concat(extra).ToList();
            if (order % 7 == 0 && fields.Count > 1)
            {
                // A duplicate key: the same field again with another value, last in the object.
                fields.Add(fields[order % fields.Count] with { Value = Utf8("\"dup-<ID>\"") });
            }

            if (order % 3 == 0)
            {
                fields.Reverse();
            }

            return new FuzzEvent(type, fields);
        });

    private static readonly Gen<FuzzEvent> NotAnObject =
        Gen.OneOf("5", "null", "\"track\"", "[]", "[{\"type\":\"track\"}]").Select(v => new FuzzEvent("not an object", [], Utf8(v)));

    private static readonly Gen<FuzzEvent> AnyBatchEvent = Gen.Frequency(
        (30, (IGen<FuzzEvent>)Gen.OneOf(CallTypes).SelectMany(t => Event(t, inBatch: true))),
        (1, NotAnObject),
        (1, Gen.Select(Deep, d => new FuzzEvent("deep", [new Field(Utf8("\"type\""), Utf8("\"track\"")), new Field(Utf8("\"userId\""), Utf8("\"u-<ID>-<I>\"")),
            new Field(Utf8("\"event\""), Utf8("\"Deep\"")), new Field(Utf8("\"properties\""), d)]))));

    private static readonly Gen<(KeyPlace, BodyEncoding, string?, bool)> Transport = Gen.Select(
        Gen.Frequency((8, Gen.Const(KeyPlace.Basic)), (3, Gen.Const(KeyPlace.Bearer)), (3, Gen.Const(KeyPlace.Body)), (1, Gen.OneOf(KeyPlace.Missing, KeyPlace.Unknown))),
        Gen.Frequency((8, Gen.Const(BodyEncoding.Plain)), (3, Gen.Const(BodyEncoding.Gzip)), (1, Gen.Const(BodyEncoding.TruncatedGzip))),
        Gen.Frequency((6, Gen.Const<string?>("application/json")), (3, Gen.Const<string?>("text/plain")), (1, Gen.Const<string?>("application/x-www-form-urlencoded")), (1, Gen.Const((string?)null))),
        Gen.Frequency((8, Gen.Const(false)), (1, Gen.Const(true))));

    private static readonly Gen<CollectCase> Single = Gen.Select(
        Gen.OneOf(CallTypes).SelectMany(t => Gen.Select(Gen.Bool, Event(t, inBatch: false), (shortForm, e) => (Route: "/v1/" + (shortForm ? t[..1] : t), Event: e))),
        Transport,
        (e, transport) => new CollectCase(e.Route, false, [e.Event], [], transport.Item1, transport.Item2, transport.Item3, transport.Item4));

    private static readonly Gen<Field[]> BatchFields = Gen.Select(
        Optional("sentAt", Timestamp, 1, 2),
        Optional("context", Mostly(Context, 4), 1, 2),
        Optional("integrations", Mostly(Gen.Const(Utf8("{\"All\":true}")), 2), 1, 6),
        (a, b, c) => a.Concat(b).Concat(c).ToArray());

    private static readonly Gen<CollectCase> Batch = Gen.Select(
        Gen.OneOf("/v1/batch", "/v1/b", "/v1/import"),
        Gen.Frequency((20, AnyBatchEvent.Array[1, 6]), (2, AnyBatchEvent.Array[7, 24]), (1, Gen.Const<FuzzEvent[]>([]))),
        BatchFields,
        Transport,
        (route, events, fields, transport) => new CollectCase(route, true, events, fields, transport.Item1, transport.Item2, transport.Item3, transport.Item4));

    /// <summary>Bodies that are not a list of events: cut short, not JSON, the wrong JSON, too many events, too deep.</summary>
    private static readonly Gen<CollectCase> Odd = Gen.Frequency(
        (3, (IGen<CollectCase>)Gen.Select(Batch, Gen.Double[0.05, 0.95], (c, keep) => c with { KeepFraction = keep })),
        (2, Gen.Select(Gen.OneOf("", "[]", "null", "\"track\"", "{}", "{\"batch\":{}}", "{\"batch\":null}", "{\"batch\":[]}", "{\"batch\":\"x\"}"), Transport,
            (body, t) => new CollectCase("/v1/batch", true, [], [], t.Item1, t.Item2, t.Item3, t.Item4, RawBody: Utf8(body)))),
        (1, Gen.Select(Gen.Byte.Array[1, 64], Transport, (bytes, t) => new CollectCase("/v1/track", false, [], [], t.Item1, t.Item2, t.Item3, t.Item4, RawBody: bytes))),
        (1, Gen.Select(Gen.OneOf(60, 61, 62, 63, 64, 65, 66, 100, 500), Gen.Bool, Transport, (depth, asObject, t) => new CollectCase("/v1/batch", true, [], [], KeyPlace.Basic, t.Item2, t.Item3, t.Item4,
            RawBody: Concat([Utf8("{\"batch\":[{\"type\":\"track\",\"userId\":\"u-<ID>\",\"event\":\"E\",\"properties\":"), Nested(depth, asObject), Utf8("}]}")]),
            Depth: depth + 3))),
        (1, Gen.Int[2_499, 2_501].Select(n => new CollectCase("/v1/batch", true, [], [], KeyPlace.Basic, BodyEncoding.Gzip, "application/json", false,
            RawBody: Concat([Utf8("{\"batch\":["), Join(Enumerable.Range(0, n).Select(i => Utf8($"{{\"type\":\"track\",\"userId\":\"u-<ID>\",\"event\":\"E\",\"messageId\":\"m-<ID>-{i}\"}}"))), Utf8("]}")])))));

    /// <summary>Any request a client, a buggy client or an attacker could send to the collector.</summary>
    public static readonly Gen<CollectCase> Any = Gen.Frequency(
        (8, Single),
        (10, Batch),
        (2, Odd));
}
