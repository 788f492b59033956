using System.Collections.Frozen;
using System.Text;

namespace Tandem.Trust;

/// <summary>
/// What makes a password too weak to keep, beyond its length: a common password (or one dressed up
/// with digits, symbols and letter swaps), one chunk repeated, a long run of one character, or too few
/// different characters. Guessers try exactly these first, so length alone proves nothing.
/// </summary>
internal static class PasswordRules
{
    public const int MinLength = 12;
    public const int MaxLength = 200;
    public const int MinDistinctCharacters = 6;
    public const int MaxRun = 4;

    private static readonly Lazy<FrozenSet<string>> Common = new(LoadCommon);

    /// <summary>Keyboard rows and counting: any stretch of these is a pattern, not a secret.</summary>
    private static readonly string[] Sequences =
        ["abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba", "01234567890123456789", "98765432109876543210",
         "qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"];

    /// <summary>Why the password is too weak, in a sentence for the caller; null when it is fine.</summary>
    public static string? Weakness(string password)
    {
        if (password.Length is < MinLength or > MaxLength)
        {
            return $"A password needs {MinLength} to {MaxLength} characters; this one has {password.Length}.";
        }

        var distinct = password.Distinct().Count();
        if (distinct < MinDistinctCharacters)
        {
            return $"It uses only {distinct} different characters; use at least {MinDistinctCharacters}.";
        }

        if (LongestRun(password) > MaxRun)
        {
            return $"It repeats one character more than {MaxRun} times in a row.";
        }

        if (RepeatedChunk(password) is { } chunk)
        {
            return $"It is one short part ({chunk.Length} characters) repeated.";
        }

        var lower = password.ToLowerInvariant();
        var squeezed = lower.Replace(" ", "", StringComparison.Ordinal);
        if (Sequences.Any(s => s.Contains(squeezed, StringComparison.Ordinal)))
        {
            return "It is a run of keys or of the alphabet or digits.";
        }

        var core = squeezed.Trim("0123456789!@#$%^&*()_+-=[]{};:'\",.<>/?\\|`~".ToCharArray());
        if (Common.Value.Contains(squeezed) || Common.Value.Contains(core) || Common.Value.Contains(Unswap(core)))
        {
            return "It is a common password, or one with digits, symbols or look-alike characters added: these are tried first.";
        }

        return null;
    }

    private static int LongestRun(string text)
    {
        var longest = 1;
        for (int i = 1, run = 1; i < text.Length; i++)
        {
            run = text[i] == text[i - 1] ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }

        return longest;
    }

    /// <summary>The chunk the whole password repeats (two times or more), or null.</summary>
    private static string? RepeatedChunk(string text)
    {
        for (var size = 1; size <= text.Length / 2; size++)
        {
            if (text.Length % size != 0)
            {
                continue;
            }

            var repeats = true;
            for (var i = size; i < text.Length && repeats; i++)
            {
                repeats = text[i] == text[i - size];
            }

            if (repeats)
            {
                return text[..size];
            }
        }

        return null;
    }

    /// <summary>Undoes the usual digit-and-symbol swaps for letters (p@ssw0rd).</summary>
    private static string Unswap(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '0' => 'o',
                '1' or '!' => 'i',
                '3' => 'e',
                '4' or '@' => 'a',
                '5' or '$' => 's',
                '7' => 't',
                _ => c,
            });
        }

        return builder.ToString();
    }

    private static FrozenSet<string> LoadCommon()
    {
        using var stream = typeof(PasswordRules).Assembly.GetManifestResourceStream("Tandem.Trust.CommonPasswords.txt")
            ?? throw new InvalidOperationException("The list of common passwords is missing from the build.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var words = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#')
            {
                words.Add(line.Trim());
            }
        }

        return words.ToFrozenSet(StringComparer.Ordinal);
    }
}
