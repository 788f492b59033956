using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>Classification of identifier types, traits and event paths: defaults by normalised name, then overrides.</summary>
public sealed class PiiClassifierTests
{
    private static readonly PiiClassifier Defaults = PiiClassifier.Default;

    [Theory]
    [InlineData("email")]
    [InlineData("phone")]
    [InlineData("mobile")]
    [InlineData("ip")]
    [InlineData("ip_address")]
    [InlineData("first_name")]
    [InlineData("last_name")]
    [InlineData("name")]
    [InlineData("full_name")]
    [InlineData("address")]
    [InlineData("street")]
    [InlineData("address_line")]
    [InlineData("postal_code")]
    [InlineData("zip")]
    [InlineData("birthday")]
    [InlineData("date_of_birth")]
    [InlineData("dob")]
    [InlineData("work_email")]
    [InlineData("home_phone")]
    [InlineData("billingAddress")]
    [InlineData("contact_email_address")]
    public void ClassifyTrait_PersonalName_IsYellow(string trait)
    {
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyTrait(trait));
    }

    [Theory]
    [InlineData("credit_card")]
    [InlineData("card_number")]
    [InlineData("pan")]
    [InlineData("cvv")]
    [InlineData("cvc")]
    [InlineData("iban")]
    [InlineData("bank_account")]
    [InlineData("account_number")]
    [InlineData("ssn")]
    [InlineData("social_security_number")]
    [InlineData("national_id")]
    [InlineData("passport")]
    [InlineData("passport_number")]
    [InlineData("tax_id")]
    [InlineData("driver_license")]
    [InlineData("password")]
    [InlineData("social_security")]
    [InlineData("user_ssn")]
    [InlineData("billing_iban")]
    [InlineData("customer_card_number")]
    [InlineData("passport_no")]
    [InlineData("new_password_hint")]
    public void ClassifyTrait_PaymentGovernmentOrSecret_IsRed(string trait)
    {
        Assert.Equal(PiiClass.Red, Defaults.ClassifyTrait(trait));
    }

    [Theory]
    [InlineData("plan")]
    [InlineData("user_id")]
    [InlineData("anonymous_id")]
    [InlineData("company")]
    [InlineData("username")]
    [InlineData("company_name")]
    [InlineData("emails_opened")]
    [InlineData("zipper_size")]
    [InlineData("email_subject")]
    [InlineData("email_campaign")]
    [InlineData("vip")]
    [InlineData("ship")]
    [InlineData("japan")]
    [InlineData("")]
    public void ClassifyTrait_AnythingElse_IsGreen(string trait)
    {
        Assert.Equal(PiiClass.Green, Defaults.ClassifyTrait(trait));
    }

    [Theory]
    [InlineData("firstName")]
    [InlineData("first_name")]
    [InlineData("First-Name")]
    [InlineData("FIRST_NAME")]
    [InlineData("FirstName")]
    [InlineData("first name")]
    public void ClassifyEventPath_NameWrittenAnyWay_MatchesTheSameDefault(string spelling)
    {
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyEventPath("properties." + spelling));
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyTrait(spelling));
    }

    [Theory]
    [InlineData("CardNumber")]
    [InlineData("card-number")]
    [InlineData("creditCardNumber")]
    [InlineData("IBAN")]
    [InlineData("socialSecurityNumber")]
    [InlineData("Drivers_License")]
    public void ClassifyEventPath_RedNameWrittenAnyWay_IsRed(string spelling)
    {
        Assert.Equal(PiiClass.Red, Defaults.ClassifyEventPath("properties." + spelling));
    }

    [Theory]
    [InlineData("email", PiiClass.Yellow)]
    [InlineData("phone", PiiClass.Yellow)]
    [InlineData("user_id", PiiClass.Green)]
    [InlineData("anonymous_id", PiiClass.Green)]
    [InlineData("salesforce_id", PiiClass.Green)]
    [InlineData("passport_number", PiiClass.Red)]
    public void ClassifyIdentifier_ByType_UsesTheNameDefaults(string type, PiiClass expected)
    {
        Assert.Equal(expected, Defaults.ClassifyIdentifier(type));
    }

    [Theory]
    [InlineData("context.ip", PiiClass.Yellow)]
    [InlineData("properties.card_number", PiiClass.Red)]
    [InlineData("properties.products.card_number", PiiClass.Red)]
    [InlineData("traits.email", PiiClass.Yellow)]
    [InlineData("context.traits.email", PiiClass.Yellow)]
    [InlineData("context.traits.name", PiiClass.Yellow)]
    [InlineData("traits.name", PiiClass.Yellow)]
    [InlineData("userId", PiiClass.Green)]
    [InlineData("anonymousId", PiiClass.Green)]
    [InlineData("context.userAgent", PiiClass.Green)]
    [InlineData("properties.revenue", PiiClass.Green)]
    [InlineData("traits.address.city", PiiClass.Yellow)]
    [InlineData("properties.shippingAddress.city", PiiClass.Yellow)]
    [InlineData("properties.store.city", PiiClass.Green)]
    [InlineData("properties.address.city", PiiClass.Yellow)]
    public void ClassifyEventPath_Defaults_ClassifyByEverySegment(string path, PiiClass expected)
    {
        Assert.Equal(expected, Defaults.ClassifyEventPath(path));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("properties.name")]
    [InlineData("properties.products.name")]
    [InlineData("context.app.name")]
    [InlineData("context.traits.company.name")]
    public void ClassifyEventPath_NameOfAThing_IsGreen(string path)
    {
        Assert.Equal(PiiClass.Green, Defaults.ClassifyEventPath(path));
    }

    [Fact]
    public void ClassifyTrait_NameInsideAnotherTrait_IsGreen_ButTheTraitNameIsYellow()
    {
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyTrait("name"));
        Assert.Equal(PiiClass.Green, Defaults.ClassifyTrait("company.name"));
    }

    [Fact]
    public void ClassifyTrait_InsideAPersonalTrait_InheritsItsClass()
    {
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyTrait("address.city"));
        Assert.Equal(PiiClass.Yellow, Defaults.ClassifyTrait("address.country"));
        Assert.Equal(PiiClass.Green, Defaults.ClassifyTrait("company.city"));
    }

    [Fact]
    public void ClassifyTrait_ExactOverride_BeatsTheDefault()
    {
        var classifier = new PiiClassifier(traits: new Dictionary<string, PiiClass> { ["email"] = PiiClass.Red, ["plan"] = PiiClass.Yellow, ["dob"] = PiiClass.Green });

        Assert.Equal(PiiClass.Red, classifier.ClassifyTrait("email"));
        Assert.Equal(PiiClass.Yellow, classifier.ClassifyTrait("plan"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("dob"));
        Assert.Equal(PiiClass.Yellow, classifier.ClassifyTrait("Email"));
    }

    [Fact]
    public void ClassifyTrait_OverrideOnAPrefix_CoversTheSubtree_MostSpecificWins()
    {
        var classifier = new PiiClassifier(traits: new Dictionary<string, PiiClass> { ["address"] = PiiClass.Red, ["address.country"] = PiiClass.Green });

        Assert.Equal(PiiClass.Red, classifier.ClassifyTrait("address"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyTrait("address.city"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyTrait("address.geo.lat"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("address.country"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("address.country.code"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("addressbook"));
    }

    [Fact]
    public void ClassifyTrait_OverrideOnAContainer_ReplacesTheDefaultsBeneathIt()
    {
        var classifier = new PiiClassifier(traits: new Dictionary<string, PiiClass> { ["billing"] = PiiClass.Green });

        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("billing.card_number"));
        Assert.Equal(PiiClass.Red, Defaults.ClassifyTrait("billing.card_number"));
    }

    [Fact]
    public void ClassifyEventPath_TraitOverride_AppliesUnderTraitsAndContextTraits()
    {
        var classifier = new PiiClassifier(traits: new Dictionary<string, PiiClass> { ["plan"] = PiiClass.Red });

        Assert.Equal(PiiClass.Red, classifier.ClassifyEventPath("traits.plan"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyEventPath("context.traits.plan"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyEventPath("properties.plan"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyEventPath("plan"));
    }

    [Fact]
    public void ClassifyEventPath_EventOverride_BeatsTheTraitOverride()
    {
        var classifier = new PiiClassifier(
            traits: new Dictionary<string, PiiClass> { ["plan"] = PiiClass.Red },
            eventPaths: new Dictionary<string, PiiClass> { ["context.traits"] = PiiClass.Yellow, ["properties.products"] = PiiClass.Red });

        Assert.Equal(PiiClass.Yellow, classifier.ClassifyEventPath("context.traits.plan"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyEventPath("traits.plan"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyEventPath("properties.products.sku"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyEventPath("properties.product"));
    }

    [Fact]
    public void Overrides_ByKind_DoNotLeakIntoOtherKinds()
    {
        var classifier = new PiiClassifier(
            identifiers: new Dictionary<string, PiiClass> { ["salesforce_id"] = PiiClass.Yellow },
            traits: new Dictionary<string, PiiClass> { ["context"] = PiiClass.Red });

        Assert.Equal(PiiClass.Yellow, classifier.ClassifyIdentifier("salesforce_id"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyTrait("salesforce_id"));
        Assert.Equal(PiiClass.Red, classifier.ClassifyTrait("context"));
        Assert.Equal(PiiClass.Green, classifier.ClassifyEventPath("context.page.url"));
    }
}
