using System.Text.Json.Serialization;

namespace Tandem.Trust;

/// <summary>
/// How personal a field is. Green is not personal data; yellow identifies a person (email, phone,
/// IP address, name, postal address); red can do harm if it leaks (payment data, government ids,
/// passwords). Ordered by sensitivity, so a larger value is more sensitive.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<PiiClass>))]
public enum PiiClass
{
    [JsonStringEnumMemberName("green")]
    Green,

    [JsonStringEnumMemberName("yellow")]
    Yellow,

    [JsonStringEnumMemberName("red")]
    Red,
}

/// <summary>
/// What a reader gets of a field: nothing, a masked value or the value itself. Ordered so a larger
/// value is more permissive, which lets several roles combine by taking the largest.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Exposure>))]
public enum Exposure
{
    [JsonStringEnumMemberName("hidden")]
    Hidden,

    [JsonStringEnumMemberName("masked")]
    Masked,

    [JsonStringEnumMemberName("full")]
    Full,
}

/// <summary>The lowercase names the policy document and error messages use (the same as the JSON names).</summary>
internal static class TrustNames
{
    public static readonly IReadOnlyList<PiiClass> Classes = [PiiClass.Green, PiiClass.Yellow, PiiClass.Red];

    public static string Name(this PiiClass pii) => pii switch
    {
        PiiClass.Green => "green",
        PiiClass.Yellow => "yellow",
        PiiClass.Red => "red",
        _ => ((int)pii).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static string Name(this Exposure exposure) => exposure switch
    {
        Exposure.Hidden => "hidden",
        Exposure.Masked => "masked",
        Exposure.Full => "full",
        _ => ((int)exposure).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static PiiClass? ParseClass(string name) => name switch
    {
        "green" => PiiClass.Green,
        "yellow" => PiiClass.Yellow,
        "red" => PiiClass.Red,
        _ => null,
    };

    public static Exposure? ParseExposure(string name) => name switch
    {
        "hidden" => Exposure.Hidden,
        "masked" => Exposure.Masked,
        "full" => Exposure.Full,
        _ => null,
    };
}
