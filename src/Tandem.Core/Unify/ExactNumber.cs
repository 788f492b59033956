using System.Globalization;
using System.Numerics;
using System.Text;

namespace Tandem.Unify;

/// <summary>
/// A JSON number kept exactly: an arbitrary integer and a power-of-ten scale. Sums of these are the
/// same in any order, whatever the magnitudes (a <see cref="decimal"/> rounds past 28 digits, so
/// 1e12 + 0.30000000000000004 − 1e12 depended on the order of the additions).
/// </summary>
public readonly record struct ExactNumber(BigInteger Unscaled, int Scale) : IComparable<ExactNumber>
{
    private const int MaxScale = 400;

    public static ExactNumber Zero => new(BigInteger.Zero, 0);

    /// <summary>Reads JSON number text (<c>-12.5</c>, <c>1e12</c>, <c>2.5E-3</c>); false for anything else or absurd exponents.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out ExactNumber value)
    {
        value = Zero;
        var text = Encoding.ASCII.GetString(json);
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            if (!int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent) || exponent is < -MaxScale or > MaxScale)
            {
                return false;
            }

            text = text[..e];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var scale = dot >= 0 ? text.Length - dot - 1 : 0;
        var digits = dot >= 0 ? string.Concat(text.AsSpan(0, dot), text.AsSpan(dot + 1)) : text;
        if (!BigInteger.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var unscaled))
        {
            return false;
        }

        scale -= exponent;
        if (scale < 0)
        {
            unscaled *= BigInteger.Pow(10, -scale);
            scale = 0;
        }

        if (scale > MaxScale)
        {
            return false;
        }

        value = new ExactNumber(unscaled, scale).Normalized();
        return true;
    }

    public static ExactNumber operator +(ExactNumber a, ExactNumber b)
    {
        var scale = Math.Max(a.Scale, b.Scale);
        return new ExactNumber(a.Rescale(scale) + b.Rescale(scale), scale).Normalized();
    }

    public int CompareTo(ExactNumber other)
    {
        var scale = Math.Max(Scale, other.Scale);
        return Rescale(scale).CompareTo(other.Rescale(scale));
    }

    public static bool operator <(ExactNumber a, ExactNumber b) => a.CompareTo(b) < 0;

    public static bool operator >(ExactNumber a, ExactNumber b) => a.CompareTo(b) > 0;

    public static bool operator <=(ExactNumber a, ExactNumber b) => a.CompareTo(b) <= 0;

    public static bool operator >=(ExactNumber a, ExactNumber b) => a.CompareTo(b) >= 0;

    /// <summary>This number divided by a count, to 28 decimal places rounded half away from zero, as JSON text.</summary>
    public string DividedBy(long count)
    {
        const int places = 28;
        var numerator = Unscaled * BigInteger.Pow(10, places + 1);
        var quotient = BigInteger.Divide(numerator, new BigInteger(count) * BigInteger.Pow(10, Scale));
        quotient = (quotient + (quotient.Sign >= 0 ? 5 : -5)) / 10;
        return new ExactNumber(quotient, places).Normalized().ToString();
    }

    /// <summary>Plain JSON number text, without exponent or trailing zeros.</summary>
    public override string ToString()
    {
        var digits = BigInteger.Abs(Unscaled).ToString(CultureInfo.InvariantCulture);
        if (Scale > 0)
        {
            digits = digits.PadLeft(Scale + 1, '0');
            digits = digits[..^Scale] + "." + digits[^Scale..];
        }

        return Unscaled.Sign < 0 ? "-" + digits : digits;
    }

    private BigInteger Rescale(int scale) => scale == Scale ? Unscaled : Unscaled * BigInteger.Pow(10, scale - Scale);

    private ExactNumber Normalized()
    {
        var unscaled = Unscaled;
        var scale = Scale;
        while (scale > 0 && !unscaled.IsZero && (unscaled % 10).IsZero)
        {
            unscaled /= 10;
            scale--;
        }

        return unscaled.IsZero ? Zero : new ExactNumber(unscaled, scale);
    }
}
