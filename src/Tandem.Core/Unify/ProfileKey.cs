namespace Tandem.Unify;

/// <summary>What the identity rules say of a key: usable, a type the workspace does not have, or a value no identifier may take.</summary>
public enum KeyCheck
{
    Ok,
    UnknownType,
    Blocked,
}

/// <summary>
/// How a caller names a customer: <c>type:value</c>, such as <c>user_id:42</c>, <c>email:ada@example.com</c>
/// or <c>profile_id:prf_00000001</c>. The Profile API, privacy requests and consent all read it this way.
/// </summary>
public readonly record struct ProfileKey(string Type, string Value)
{
    /// <summary>Not an identifier type: a profile's own id, which survives merges (the absorbed profile's id finds the survivor).</summary>
    public const string ProfileIdType = "profile_id";

    public bool IsProfileId => Type == ProfileIdType;

    /// <summary>Splits <c>type:value</c> at the first colon; false unless both parts are there (then both are empty).</summary>
    public static bool TryParse(string text, out ProfileKey key)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var ok = colon > 0 && colon < text.Length - 1;
        key = ok ? new ProfileKey(text[..colon], text[(colon + 1)..]) : new ProfileKey("", "");
        return ok;
    }

    /// <summary>
    /// <see cref="TryParse"/> for a key from a URL path segment: routing decodes everything in a segment
    /// but <c>%2F</c>, and a value may hold a slash.
    /// </summary>
    public static bool TryParsePathSegment(string segment, out ProfileKey key)
    {
        var ok = TryParse(segment, out key);
        key = key with { Value = key.Value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) };
        return ok;
    }

    public static ProfileKey ForProfileId(string profileId) => new(ProfileIdType, profileId);

    /// <summary>
    /// Checks the key against the identity rules; when <see cref="KeyCheck.Ok"/>, <paramref name="identifier"/>
    /// is the identifier in the form profiles keep it. A profile id passes as it is.
    /// </summary>
    public KeyCheck Check(IdentityRules rules, out Identifier identifier)
    {
        identifier = default;
        if (IsProfileId)
        {
            identifier = new Identifier(Type, Value);
            return KeyCheck.Ok;
        }

        if (rules.Find(Type) is null)
        {
            return KeyCheck.UnknownType;
        }

        if (rules.Normalize(Type, Value) is not { } normal)
        {
            return KeyCheck.Blocked;
        }

        identifier = normal;
        return KeyCheck.Ok;
    }

    /// <summary><c>email:a***@example.com</c>: recognisable to whoever knows the person, useless to anyone else. A profile id is shown as it is.</summary>
    public string Masked() => IsProfileId ? ToString() : Type + ":" + Trust.Masking.Mask(Type, Value);

    public override string ToString() => Type + ":" + Value;
}
