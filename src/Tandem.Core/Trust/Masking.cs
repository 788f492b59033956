using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Tandem.Trust;

/// <summary>
/// Masks one value so a reader can recognise it without learning it: <c>j***@example.com</c>,
/// <c>+* *** *** **42</c>, <c>203.0.113.0</c>, <c>**** **** **** 4242</c>, <c>J***</c>. Deterministic, so
/// the same value always masks the same way, and a masked generic string never tells its length.
/// </summary>
public static class Masking
{
    /// <summary>What a value that cannot be partly shown becomes.</summary>
    public const string Stars = "***";

    // Longer strings are not phone numbers or addresses; they fall back to the generic form, which
    // keeps masking linear and never echoes a long value's shape.
    private const int MaxShapedLength = 64;

    /// <summary>
    /// The masked form of a JSON value: strings by <see cref="Mask(string, string)"/>, any other value
    /// (number, boolean, object, array) <c>"***"</c>. A JSON null stays null: it says there is no value.
    /// </summary>
    /// <param name="field">The field name or dotted path the value came from; it tells what kind of value this is.</param>
    public static JsonNode? Mask(string field, JsonNode? value) => value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var text) => JsonValue.Create(Mask(field, text)),
        _ => JsonValue.Create(Stars),
    };

    /// <summary>The masked form of a string, by its kind: from the field name first, then from the value's shape.</summary>
    /// <param name="field">The field name or dotted path the value came from (<c>traits.email</c>, <c>phone</c>); may be empty.</param>
    public static string Mask(string field, string value)
    {
        var name = FieldNames.LastSegment(field);
        if (FieldNames.Secret.Contains(name))
        {
            return Stars;
        }

        var byName = FieldNames.Email.Contains(name) ? MaskEmail(value)
            : FieldNames.Phone.Contains(name) ? MaskPhone(value)
            : FieldNames.Ip.Contains(name) ? MaskIp(value)
            : FieldNames.Card.Contains(name) ? MaskCard(value, requireLuhn: false)
            : null;

        return byName
            ?? MaskEmail(value)
            ?? MaskIp(value)
            ?? MaskCard(value, requireLuhn: true)
            ?? (value.StartsWith('+') ? MaskPhone(value) : null)
            ?? MaskText(value);
    }

    /// <summary>First character and <c>***</c>; <c>***</c> alone for two characters or fewer, which the first would all but give away.</summary>
    private static string MaskText(string value)
    {
        // Text elements, not chars, so an accented letter or an emoji is never cut in half.
        var first = StringInfo.GetNextTextElementLength(value);
        var second = first < value.Length ? StringInfo.GetNextTextElementLength(value, first) : 0;
        var hasThird = first + second < value.Length;
        return hasThird ? value[..first] + Stars : Stars;
    }

    private static string? MaskEmail(string value)
    {
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1 || value.AsSpan().ContainsAny(" \t\r\n"))
        {
            return null;
        }

        // The domain stays: it tells a work address from a personal one, which is often all a reader needs.
        var local = value[..at];
        var shown = MaskText(local);
        return shown + value[at..];
    }

    /// <summary>Every digit but the last two becomes <c>*</c>; separators stay, so the number still reads as a phone number.</summary>
    private static string? MaskPhone(string value)
    {
        if (value.Length > MaxShapedLength)
        {
            return null;
        }

        var digits = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (!(c is ' ' or '-' or '(' or ')' or '.' or '/' || (c == '+' && i == 0)))
            {
                return null;
            }
        }

        if (digits is < 7 or > 15)
        {
            return null;
        }

        var builder = new StringBuilder(value.Length);
        var seen = 0;
        foreach (var c in value)
        {
            builder.Append(char.IsAsciiDigit(c) && ++seen <= digits - 2 ? '*' : c);
        }

        return builder.ToString();
    }

    /// <summary>IPv4 keeps its first three octets (the network), IPv6 its first three groups (the routing prefix).</summary>
    private static string? MaskIp(string value)
    {
        if (value.Length > MaxShapedLength)
        {
            return null;
        }

        var parts = value.Split('.');
        if (parts.Length == 4)
        {
            var octets = new byte[4];
            for (var i = 0; i < 4; i++)
            {
                // Digits only, decimal only: "010" is 10 here, never octal, and "+1" or " 1" is not an address.
                if (parts[i].Length is 0 or > 3 || !parts[i].All(char.IsAsciiDigit) || !byte.TryParse(parts[i], CultureInfo.InvariantCulture, out octets[i]))
                {
                    return null;
                }
            }

            return string.Create(CultureInfo.InvariantCulture, $"{octets[0]}.{octets[1]}.{octets[2]}.0");
        }

        if (value.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 6, bytes.Length - 6);
            return new IPAddress(bytes).ToString();
        }

        return null;
    }

    /// <summary>
    /// The last four digits behind a fixed <c>**** **** **** </c>, whatever the card's length, as on a
    /// receipt. Recognised by value only when the digits pass the Luhn check, so that long order
    /// numbers are not taken for cards.
    /// </summary>
    private static string? MaskCard(string value, bool requireLuhn)
    {
        if (value.Length > MaxShapedLength)
        {
            return null;
        }

        Span<char> digits = stackalloc char[MaxShapedLength];
        var count = 0;
        foreach (var c in value)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else if (c is not (' ' or '-'))
            {
                return null;
            }
        }

        if (count is < 12 or > 19 || (requireLuhn && (count < 13 || !Luhn(digits[..count]))))
        {
            return null;
        }

        return "**** **** **** " + new string(digits[(count - 4)..count]);
    }

    private static bool Luhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[^(i + 1)] - '0';
            if (i % 2 == 1)
            {
                d = d * 2 > 9 ? (d * 2) - 9 : d * 2;
            }

            sum += d;
        }

        return sum % 10 == 0;
    }
}
