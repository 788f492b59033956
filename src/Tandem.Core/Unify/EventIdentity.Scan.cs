using System.Text;
using System.Text.Json;

namespace Tandem.Unify;

public static partial class EventIdentity
{
    /// <summary>Values longer than this (in bytes) take the string path: the stack buffer stays small.</summary>
    private const int MaxStackValue = 512;

    /// <summary>
    /// Every identifier the bytes name where the table says "match", in document order, each in normal
    /// form; stops when the visitor says so. One forward pass of a JSON reader: a value is trimmed and
    /// lower-cased (emails) on the stack, so a scan whose visitor keeps nothing allocates nothing for
    /// ASCII values. Escaped or non-ASCII text, the rare case, takes the string path. Every row of the
    /// table matches on any call, so the scan need not know the call type, which may come last.
    /// </summary>
    /// <exception cref="JsonException">The bytes are not JSON (as far as the scan read them).</exception>
    public static void Scan<TVisitor>(ReadOnlySpan<byte> json, TraitKeyedTypes custom, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool more;
            if (reader.ValueTextEquals("userId"u8))
            {
                reader.Read();
                more = VisitScalar(IdentifierType.UserId, ref reader, ref visitor);
            }
            else if (reader.ValueTextEquals("anonymousId"u8))
            {
                reader.Read();
                more = VisitScalar(IdentifierType.AnonymousId, ref reader, ref visitor);
            }
            else if (reader.ValueTextEquals("previousId"u8))
            {
                // Either type: which one the engine took it as depends on what was known then.
                reader.Read();
                more = VisitScalar(IdentifierType.UserId, ref reader, ref visitor) && VisitScalar(IdentifierType.AnonymousId, ref reader, ref visitor);
            }
            else if (reader.ValueTextEquals("traits"u8))
            {
                reader.Read();
                more = ScanTraits(custom, ref reader, ref visitor);
            }
            else if (reader.ValueTextEquals("context"u8))
            {
                reader.Read();
                more = ScanContext(custom, ref reader, ref visitor);
            }
            else
            {
                reader.Read();
                reader.Skip();
                more = true;
            }

            if (!more)
            {
                return;
            }
        }
    }

    /// <summary><c>email</c>, <c>phone</c> and trait-keyed types of a traits object; leaves the reader on its end.</summary>
    private static bool ScanTraits<TVisitor>(TraitKeyedTypes custom, ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return true;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var type = reader.ValueTextEquals("email"u8) ? IdentifierType.Email
                : reader.ValueTextEquals("phone"u8) ? IdentifierType.Phone
                : custom.Count == 0 ? null : custom.Find(ref reader);
            reader.Read();
            if (type is null)
            {
                reader.Skip();
            }
            else if (!VisitScalar(type, ref reader, ref visitor))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>context.traits</c> and <c>context.externalIds</c>; leaves the reader on the context's end.</summary>
    private static bool ScanContext<TVisitor>(TraitKeyedTypes custom, ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return true;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("traits"u8))
            {
                reader.Read();
                if (!ScanTraits(custom, ref reader, ref visitor))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("externalIds"u8))
            {
                reader.Read();
                if (!ScanExternalIds(custom, ref reader, ref visitor))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return true;
    }

    /// <summary>Each <c>{type, id}</c> entry, the type as given (known or not), the id a string or a number.</summary>
    private static bool ScanExternalIds<TVisitor>(TraitKeyedTypes custom, ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return true;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? type = null, idText = null;
            scoped ReadOnlySpan<byte> idRaw = default;
            var hasId = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    type = TypeName(custom, ref reader);
                }
                else if (isId && reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    // The raw bytes are a slice of the input, valid after the reader moves on.
                    hasId = true;
                    idText = reader.ValueIsEscaped ? reader.GetString() : null;
                    idRaw = reader.ValueIsEscaped ? default : reader.ValueSpan;
                }
                else
                {
                    reader.Skip();
                }
            }

            if (type is not null && hasId && !(idText is null ? VisitRaw(type, idRaw, ref visitor) : VisitText(type, idText, ref visitor)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An external id's type: a built-in or trait-keyed type's own string when it is one, else read from the bytes.</summary>
    private static string TypeName(TraitKeyedTypes custom, ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            foreach (var (utf8, name) in BuiltInTypes)
            {
                if (reader.ValueTextEquals(utf8))
                {
                    return name;
                }
            }

            if (custom.FindType(ref reader) is { } known)
            {
                return known;
            }
        }

        return reader.GetString()!;
    }

    private static readonly (byte[] Utf8, string Name)[] BuiltInTypes =
        [.. new[] { IdentifierType.UserId, IdentifierType.AnonymousId, IdentifierType.Email, IdentifierType.Phone }.Select(t => (Encoding.UTF8.GetBytes(t), t))];

    /// <summary>A string or number value as an identifier of the type; anything else names none (and is skipped).</summary>
    private static bool VisitScalar<TVisitor>(string type, ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number))
        {
            reader.Skip();
            return true;
        }

        return reader.ValueIsEscaped ? VisitText(type, reader.GetString()!, ref visitor) : VisitRaw(type, reader.ValueSpan, ref visitor);
    }

    private static bool VisitRaw<TVisitor>(string type, ReadOnlySpan<byte> raw, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor
    {
        if (raw.Length > MaxStackValue)
        {
            return VisitText(type, Encoding.UTF8.GetString(raw), ref visitor);
        }

        Span<byte> scratch = stackalloc byte[raw.Length];
        return TryNormal(type, raw, scratch, out var normal)
            ? visitor.Visit(type, normal)
            : VisitText(type, Encoding.UTF8.GetString(raw), ref visitor); // not ASCII: .NET's Unicode trimming and casing
    }

    private static bool VisitText<TVisitor>(string type, string text, ref TVisitor visitor)
        where TVisitor : struct, IIdentifierVisitor =>
        visitor.Visit(type, Encoding.UTF8.GetBytes(Normal(type, text)));
}
