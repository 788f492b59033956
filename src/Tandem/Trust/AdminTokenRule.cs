namespace Tandem.Trust;

/// <summary>
/// What an operator-chosen admin token (<c>TANDEM_ADMIN_TOKEN</c>) must be: it holds every scope, and
/// the only thing between it and a guesser is its length and randomness. Generated tokens pass by far.
/// </summary>
internal static class AdminTokenRule
{
    public const int MinLength = 32;
    public const int MinDistinctCharacters = 10;
    public const int MaxRun = 3;
    public const string HowToMakeOne = "Make one with: openssl rand -base64 32 (or unset TANDEM_ADMIN_TOKEN to have one generated and printed once).";

    /// <summary>Why <paramref name="token"/> is too weak to be the admin token; null when it will do (or none was chosen).</summary>
    public static string? Weakness(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return null;
        }

        token = token.Trim();
        if (token.Length < MinLength)
        {
            return $"it has {token.Length} characters; an admin token needs at least {MinLength}.";
        }

        var distinct = token.Distinct().Count();
        if (distinct < MinDistinctCharacters)
        {
            return $"it uses only {distinct} different characters; an admin token needs at least {MinDistinctCharacters}.";
        }

        for (int i = 1, run = 1; i < token.Length; i++)
        {
            run = token[i] == token[i - 1] ? run + 1 : 1;
            if (run > MaxRun)
            {
                return $"it repeats '{token[i]}' more than {MaxRun} times in a row.";
            }
        }

        // A pattern repeated (0123456789 three times and a bit) is as weak as its one copy.
        for (var size = 1; size <= token.Length / 2; size++)
        {
            if (token.AsSpan(size).StartsWith(token.AsSpan(0, token.Length - size)))
            {
                return $"it repeats the same {size} characters over and over.";
            }
        }

        return null;
    }
}
