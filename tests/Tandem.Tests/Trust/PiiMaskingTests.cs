using System.Text.Json.Nodes;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Masking of one value, by the kind its field name or its shape says it is.</summary>
public sealed class PiiMaskingTests
{
    [Theory]
    [InlineData("email", "jane.doe@example.com", "j***@example.com")]
    [InlineData("email", "Ada@Example.com", "A***@Example.com")]
    [InlineData("email", "jo@example.com", "***@example.com")]
    [InlineData("email", "j@example.com", "***@example.com")]
    [InlineData("email", "\"a@b\"@example.com", "\"***@example.com")]
    [InlineData("notes", "jane.doe@example.com", "j***@example.com")]
    [InlineData("email", "élodie@exemple.fr", "é***@exemple.fr")]
    public void Mask_Email_KeepsFirstCharacterAndDomain(string field, string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask(field, value));
    }

    [Theory]
    [InlineData("not-an-email", "n***")]
    [InlineData("@example.com", "@***")]
    [InlineData("jane@", "j***")]
    [InlineData("jane doe@example.com", "j***")]
    [InlineData("", "***")]
    public void Mask_MalformedEmail_FallsBackToTheGenericForm(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("email", value));
    }

    [Theory]
    [InlineData("phone", "+1 415 555 0142", "+* *** *** **42")]
    [InlineData("phone", "(415) 555-0142", "(***) ***-**42")]
    [InlineData("mobileNumber", "0612345678", "********78")]
    [InlineData("properties.contact", "+44 20 7946 0958", "+** ** **** **58")]
    [InlineData("traits.phone", "+33.1.23.45.67.89", "+**.*.**.**.**.89")]
    public void Mask_Phone_HidesAllButTheLastTwoDigits(string field, string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask(field, value));
    }

    [Theory]
    [InlineData("12345", "1***")]
    [InlineData("call me", "c***")]
    [InlineData("+1 415 555 0142 ext. 9", "+***")]
    public void Mask_PhoneFieldWithoutAPhoneNumber_FallsBackToTheGenericForm(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("phone", value));
    }

    [Theory]
    [InlineData("context.ip", "203.0.113.195", "203.0.113.0")]
    [InlineData("ip", "10.0.0.1", "10.0.0.0")]
    [InlineData("ip", "010.001.002.003", "10.1.2.0")]
    [InlineData("properties.server", "192.168.1.77", "192.168.1.0")]
    [InlineData("context.ip", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::")]
    [InlineData("context.ip", "2001:db8:85a3:1:2:3:4:5", "2001:db8:85a3::")]
    [InlineData("context.ip", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::")]
    [InlineData("context.ip", "::1", "::")]
    public void Mask_IpAddress_KeepsTheNetworkOnly(string field, string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask(field, value));
    }

    [Theory]
    [InlineData("256.1.1.1", "2***")]
    [InlineData("1.2.3", "1***")]
    [InlineData("localhost", "l***")]
    public void Mask_IpFieldWithoutAnAddress_FallsBackToTheGenericForm(string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask("ip", value));
    }

    [Theory]
    [InlineData("card_number", "4242424242424242", "**** **** **** 4242")]
    [InlineData("cardNumber", "4242 4242 4242 4242", "**** **** **** 4242")]
    [InlineData("pan", "3782-822463-10005", "**** **** **** 0005")]
    [InlineData("properties.payment", "5555555555554444", "**** **** **** 4444")]
    [InlineData("card_number", "1234567890123", "**** **** **** 0123")]
    public void Mask_CardNumber_ShowsTheLastFourBehindAFixedPrefix(string field, string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask(field, value));
    }

    [Fact]
    public void Mask_LongNumberThatFailsLuhn_IsNotTakenForACard()
    {
        Assert.Equal("4***", Masking.Mask("order_id", "4242424242424241"));
    }

    [Theory]
    [InlineData("password", "hunter2")]
    [InlineData("cvv", "123")]
    [InlineData("properties.card_cvc", "9876")]
    [InlineData("password", "jane.doe@example.com")]
    public void Mask_Secret_IsStarsOnly(string field, string value)
    {
        Assert.Equal("***", Masking.Mask(field, value));
    }

    [Theory]
    [InlineData("last_name", "Lovelace", "L***")]
    [InlineData("city", "London", "L***")]
    [InlineData("name", "Zoë", "Z***")]
    [InlineData("name", "日本語", "日***")]
    [InlineData("name", "😀😀😀", "😀***")]
    [InlineData("name", "Ab", "***")]
    [InlineData("name", "A", "***")]
    [InlineData("name", "😀😀", "***")]
    [InlineData("name", "e\u0301e", "***")]
    [InlineData("name", "e\u0301ab", "e\u0301***")]
    [InlineData("name", "", "***")]
    [InlineData("", "Lovelace", "L***")]
    public void Mask_OtherString_IsFirstCharacterAndStars(string field, string value, string expected)
    {
        Assert.Equal(expected, Masking.Mask(field, value));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("abcdefgh")]
    [InlineData("a bit longer, with spaces")]
    public void Mask_OtherString_NeverRevealsItsLength(string value)
    {
        // docs/pii.md: "A masked generic string never tells how long the value was."
        Assert.Equal("a***", Masking.Mask("note", value));
        Assert.Equal("a***", Masking.Mask("note", value + new string('x', 100_000)));
    }

    [Fact]
    public void Mask_VeryLongValues_FallBackToTheGenericForm()
    {
        Assert.Equal("1***", Masking.Mask("phone", new string('1', 100_000)));
        Assert.Equal("4***", Masking.Mask("card_number", new string('4', 100_000)));
        Assert.Equal("1***", Masking.Mask("ip", string.Concat(Enumerable.Repeat("1.", 50_000))));
        Assert.Equal("x***@example.com", Masking.Mask("email", new string('x', 100_000) + "@example.com"));
    }

    /// <summary>Every row of docs/pii.md's table "What masked values look like", as the table writes it.</summary>
    [Theory]
    [InlineData("email", "jane.doe@example.com", "j***@example.com")]
    [InlineData("properties.contact", "jane.doe@example.com", "j***@example.com")] // any local@domain value
    [InlineData("phone", "+1 415 555 0142", "+* *** *** **42")]
    [InlineData("properties.contact", "+1 415 555 0142", "+* *** *** **42")] // a value starting with +
    [InlineData("ip", "203.0.113.195", "203.0.113.0")]
    [InlineData("properties.server", "203.0.113.195", "203.0.113.0")] // a dotted address
    [InlineData("ip", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::")]
    [InlineData("card_number", "4242 4242 4242 4242", "**** **** **** 4242")]
    [InlineData("pan", "4242 4242 4242 4242", "**** **** **** 4242")]
    [InlineData("properties.payment", "4242 4242 4242 4242", "**** **** **** 4242")] // 13 to 19 digits passing Luhn
    [InlineData("password", "hunter2", "***")]
    [InlineData("cvv", "hunter2", "***")]
    [InlineData("cvc", "hunter2", "***")]
    [InlineData("pin", "hunter2", "***")]
    [InlineData("secret", "hunter2", "***")]
    [InlineData("last_name", "Lovelace", "L***")]
    [InlineData("last_name", "Al", "***")]
    [InlineData("last_name", "", "***")]
    [InlineData("email", "jo@example.com", "***@example.com")] // the local part follows the text rule
    [InlineData("phone", "call me", "c***")] // a value that does not fit its field's kind
    [InlineData("email", "jane.doe", "j***")]
    [InlineData("first_name", "Zoë", "Z***")]
    [InlineData("first_name", "日本語", "日***")]
    public void Mask_TheDocumentedExamples_MaskAsDocumented_TheSameWayEveryTime(string field, string value, string expected)
    {
        // "Masking is deterministic: the same value always masks the same way."
        Assert.Equal(expected, Masking.Mask(field, value));
        Assert.Equal(expected, Masking.Mask(field, value));
        Assert.Equal(expected, Masking.Mask(field, JsonValue.Create(value))!.GetValue<string>());
    }

    [Fact]
    public void Mask_TheDocumentedNonText_IsStars()
    {
        Assert.Equal("\"***\"", Masking.Mask("age", JsonValue.Create(36))!.ToJsonString());
        Assert.Equal("\"***\"", Masking.Mask("verified", JsonValue.Create(true))!.ToJsonString());
    }

    [Fact]
    public void Mask_JsonValues_NonStringsBecomeStars_NullStaysNull()
    {
        Assert.Equal("\"***\"", Masking.Mask("age", JsonValue.Create(42))!.ToJsonString());
        Assert.Equal("\"***\"", Masking.Mask("card_number", JsonValue.Create(4242424242424242))!.ToJsonString());
        Assert.Equal("\"***\"", Masking.Mask("verified", JsonValue.Create(true))!.ToJsonString());
        Assert.Equal("\"***\"", Masking.Mask("address", JsonNode.Parse("""{"city":"London"}"""))!.ToJsonString());
        Assert.Equal("\"***\"", Masking.Mask("emails", JsonNode.Parse("""["a@example.com"]"""))!.ToJsonString());
        Assert.Null(Masking.Mask("email", (JsonNode?)null));
        Assert.Equal("j***@example.com", Masking.Mask("email", JsonNode.Parse("\"jane@example.com\""))!.GetValue<string>());
    }
}
