using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Tandem.Tests.Collect.Fuzz;

/// <summary>Where the write key travels, or how it fails to.</summary>
public enum KeyPlace
{
    Basic,
    Bearer,
    Body,
    Missing,
    Unknown,
}

public enum BodyEncoding
{
    Plain,
    Gzip,
    TruncatedGzip,
}

/// <summary>One member of an object (an event's field, a batch's field) as raw bytes: the key already quoted.</summary>
public sealed record Field(byte[] Key, byte[] Value)
{
    public string Name => HostileJson.Printable(Key);
}

/// <summary>One event of a case: its fields in order (duplicates allowed), or a value that is not an object at all.</summary>
public sealed record FuzzEvent(string Kind, IReadOnlyList<Field> Fields, byte[]? NotAnObject = null)
{
    public byte[] Render() => NotAnObject ?? HostileJson.ObjectOf(Fields.Select(f => (f.Key, f.Value)));

    /// <summary>A field's value as it will be sent when it is a plain string (letters, digits, - _ @ .), so the stored one must equal it; else null.</summary>
    public string? PlainText(string name, string tag, int index, long number)
    {
        var field = Fields.LastOrDefault(f => f.Name == "\"" + name + "\"");
        if (field is null || NotAnObject is not null)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(CollectCase.Substitute(field.Value, tag, index, number));
        return text.Length > 2 && text[0] == '"' && text[^1] == '"' && text[1..^1].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '@' or '.')
            ? text[1..^1]
            : null;
    }
}

/// <summary>
/// One request to the collector: a route, where the key goes, the body's encoding and content type,
/// and either events (one for a single-event route, any number for a batch) or a whole-body oddity.
/// </summary>
public sealed record CollectCase(
    string Route,
    bool IsBatch,
    IReadOnlyList<FuzzEvent> Events,
    IReadOnlyList<Field> BatchFields,
    KeyPlace Key,
    BodyEncoding Encoding,
    string? ContentType,
    bool Bom,
    double? KeepFraction = null,
    byte[]? RawBody = null,
    int? Depth = null)
{
    /// <summary>How many events the collector must account for (stored, refused or deduplicated); null when the body is not a list of events.</summary>
    public int? EventCount => RawBody is not null || KeepFraction is not null ? null : IsBatch ? Events.Count : 1;

    /// <summary>The body exactly as sent, for the given tag, number and write key (before compression).</summary>
    public byte[] Body(string tag, long number, string writeKey)
    {
        byte[] json;
        var keyField = new Field(HostileJson.Utf8("\"writeKey\""), HostileJson.Quoted(HostileJson.Utf8(writeKey)));
        if (RawBody is not null)
        {
            json = RawBody;
        }
        else if (IsBatch)
        {
            var batch = HostileJson.Array(Events.Select((e, i) => Substitute(e.Render(), tag, i, number * 10_000 + i)));
            var fields = new List<Field> { new(HostileJson.Utf8("\"batch\""), batch) };
            fields.AddRange(BatchFields);
            if (Key == KeyPlace.Body)
            {
                fields.Add(keyField);
            }

            json = HostileJson.ObjectOf(fields.Select(f => (f.Key, f.Value)));
        }
        else
        {
            var fields = Events[0].Fields.ToList();
            if (Key == KeyPlace.Body)
            {
                fields.Add(keyField);
            }

            json = Events[0].NotAnObject ?? HostileJson.ObjectOf(fields.Select(f => (f.Key, f.Value)));
        }

        json = Substitute(json, tag, 0, number * 10_000);
        if (KeepFraction is { } keep)
        {
            json = json[..(int)(json.Length * keep)];
        }

        return Bom ? [0xEF, 0xBB, 0xBF, .. json] : json;
    }

    /// <summary>The bytes on the wire: compressed (or cut short) as the case says.</summary>
    public byte[] Wire(byte[] body)
    {
        if (Encoding == BodyEncoding.Plain)
        {
            return body;
        }

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(body);
        }

        var bytes = compressed.ToArray();
        return Encoding == BodyEncoding.TruncatedGzip ? bytes[..(bytes.Length / 2)] : bytes;
    }

    public static byte[] Substitute(byte[] template, string tag, int index, long number)
    {
        var text = System.Text.Encoding.Latin1.GetString(template);
        if (!text.Contains('<', StringComparison.Ordinal))
        {
            return template;
        }

        // Latin-1 maps bytes to chars one to one, so invalid UTF-8 survives the round trip untouched.
        text = text.Replace("<ID>", tag, StringComparison.Ordinal)
            .Replace("<I>", index.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("<N>", number.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return System.Text.Encoding.Latin1.GetBytes(text);
    }

    /// <summary>What a person needs to replay the case by hand.</summary>
    public string Describe(string tag = "ID")
    {
        var body = Body(tag, 0, "WRITE_KEY");
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"POST {Route}  key: {Key}  encoding: {Encoding}  content-type: {ContentType ?? "(none)"}");
        text.Append(CultureInfo.InvariantCulture, $"{(Bom ? "  BOM" : "")}{(KeepFraction is { } k ? $"  cut to {k:P0}" : "")}  {body.Length} bytes");
        text.AppendLine();
        var printable = HostileJson.Printable(body);
        text.Append(printable.Length > 4000 ? printable[..4000] + "…" : printable);
        return text.ToString();
    }

    /// <summary>Smaller cases that may fail the same way: the shrinker tries them in this order.</summary>
    public IEnumerable<CollectCase> Simpler()
    {
        if (RawBody is not null)
        {
            yield break;
        }

        if (KeepFraction is not null)
        {
            yield return this with { KeepFraction = null };
        }

        if (IsBatch && Events.Count > 1)
        {
            for (var i = 0; i < Events.Count; i++)
            {
                yield return this with { Events = [.. Events.Where((_, j) => j != i)] };
            }
        }

        for (var i = 0; i < BatchFields.Count; i++)
        {
            yield return this with { BatchFields = [.. BatchFields.Where((_, j) => j != i)] };
        }

        if (Encoding != BodyEncoding.Plain)
        {
            yield return this with { Encoding = BodyEncoding.Plain };
        }

        if (Bom)
        {
            yield return this with { Bom = false };
        }

        if (Key is not KeyPlace.Basic)
        {
            yield return this with { Key = KeyPlace.Basic };
        }

        if (ContentType != "application/json")
        {
            yield return this with { ContentType = "application/json" };
        }

        for (var e = 0; e < Events.Count; e++)
        {
            for (var f = 0; f < Events[e].Fields.Count; f++)
            {
                var index = e;
                var without = Events[e] with { Fields = [.. Events[e].Fields.Where((_, j) => j != f)] };
                yield return this with { Events = [.. Events.Select((x, j) => j == index ? without : x)] };
            }
        }
    }
}
