using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>
/// The edges of each kind in docs/pii.md ("What masked values look like"): exactly at each documented
/// bound, one inside and one outside, with the expected masks written out as the docs show them. Found
/// by mutation testing (docs/testing.md), where a moved bound or a loosened shape passed every
/// example-based test.
/// </summary>
public sealed class MaskingShapeTests
{
    // "phone | name phone… or a value starting with +; 7 to 15 digits"
    [Theory]
    [InlineData("555 0142", "*** **42")]
    [InlineData("555 014", "5***")]
    [InlineData("+123 456 789 012 345", "+*** *** *** *** *45")]
    [InlineData("+123 456 789 012 3456", "+***")]
    public void Phone_IsSevenToFifteenDigits(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("phone", value));
    }

    [Fact]
    public void Phone_ByValue_NeedsTheLeadingPlus()
    {
        Assert.Equal("4***", Masking.Mask("note", "415 555 0142"));
        Assert.Equal("+* *** *** **42", Masking.Mask("note", "+1 415 555 0142"));
    }

    [Theory]
    [InlineData("x4155550142", "x***")]
    [InlineData("415+555 0142", "4***")]
    [InlineData("415 555 0142+", "4***")]
    public void Phone_TakesAPlusOnlyAsItsFirstCharacter(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("phone", value));
    }

    // "Values over 64 characters are never read as phones, IPs or cards."
    [Fact]
    public void Phone_OfExactly64Characters_IsStillAPhone_And65IsText()
    {
        var at64 = "+1 415 555 0142".PadRight(64);
        var at65 = "+1 415 555 0142".PadRight(65);

        Assert.Equal("+* *** *** **42".PadRight(64), Masking.Mask("phone", at64));
        Assert.Equal("+***", Masking.Mask("phone", at65));
    }

    [Fact]
    public void Card_OfExactly64Characters_IsStillACard_And65IsText()
    {
        var at64 = "4242 4242 4242 4242".PadRight(64);
        var at65 = "4242 4242 4242 4242".PadRight(65);

        Assert.Equal("**** **** **** 4242", Masking.Mask("card_number", at64));
        Assert.Equal("4***", Masking.Mask("card_number", at65));
    }

    // "card number | name card_number, pan… (12 to 19 digits), or any 13 to 19 digits passing the Luhn check"
    [Theory]
    [InlineData("12345678901", "1***")]
    [InlineData("123456789012", "**** **** **** 9012")]
    [InlineData("1234567890123456789", "**** **** **** 6789")]
    [InlineData("12345678901234567890", "1***")]
    public void Card_ByName_IsTwelveToNineteenDigits(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("card_number", value));
    }

    [Theory]
    [InlineData("4242-4242-4242-4242", "**** **** **** 4242")]
    [InlineData("4242.4242.4242.4242", "4***")]
    [InlineData("4242/4242/4242/4242", "4***")]
    public void Card_SeparatesItsDigitsWithSpacesOrDashesOnly(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("card_number", value));
    }

    // 13 and 19 digits passing the Luhn check, and one that fails it (its last digit moved by one).
    [Theory]
    [InlineData("4222222222222", "**** **** **** 2222")]
    [InlineData("4111 1111 1111 1111", "**** **** **** 1111")]
    [InlineData("4111 1111 1111 1112", "4***")]
    [InlineData("6011000990139424", "**** **** **** 9424")]
    [InlineData("6011000990139425", "6***")]
    [InlineData("4000000000000000006", "**** **** **** 0006")]
    [InlineData("4000000000000000007", "4***")]
    [InlineData("424242424242", "4***")]
    public void Card_ByValue_IsThirteenToNineteenDigitsPassingLuhn(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("order_ref", value));
    }

    // "IPv4 | a dotted address": four decimal octets, digits only.
    [Theory]
    [InlineData("203.0.113.195", "203.0.113.0")]
    [InlineData("+1.2.3.4", "+***")]
    [InlineData(" 1.2.3.4", " ***")]
    [InlineData("0001.2.3.4", "0***")]
    [InlineData("1.2.3.256", "1***")]
    [InlineData("1..3.4", "1***")]
    public void Ipv4_IsFourDecimalOctets(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("ip", value));
    }

    [Fact]
    public void Ipv6_OfExactly64Characters_IsStillAnAddress_And65IsText()
    {
        // A zone index may carry leading zeros, which is how an address reaches the bound.
        var at64 = "fe80::1%" + "1".PadLeft(64 - 8, '0');
        var at65 = "fe80::1%" + "1".PadLeft(65 - 8, '0');

        Assert.Equal("fe80::", Masking.Mask("ip", at64));
        Assert.Equal("f***", Masking.Mask("ip", at65));
    }
}
