using System.Globalization;
using System.Text.RegularExpressions;

namespace Tandem.Unify;

/// <summary>
/// What an identifier type's blocked values and patterns may be. Every identifier of the type is run
/// against every pattern on the processor's single loop, so a costly pattern delays every customer.
/// .NET's non-backtracking engine is linear in the identifier's length, but its constant is not bounded:
/// <c>(a|b|c|ab|bc|ca){1,10}z</c> takes about 100 ms on its first 1 KB identifier and
/// <c>{1,50}</c> 2 s. So the shapes that build large automata are refused when saved, and a match
/// timeout stays as the last guard.
/// </summary>
public static class BlockedPatterns
{
    public const int MaxPatterns = 20;

    public const int MaxPatternLength = 200;

    /// <summary>All the patterns of one type together, in characters.</summary>
    public const int MaxTotalPatternLength = 2_000;

    /// <summary>The largest count a repetition such as <c>\d{3,8}</c> may name.</summary>
    public const int MaxRepetition = 100;

    public const int MaxBlockedValues = 10_000;

    /// <summary>
    /// A match that has not finished in this time counts as a match: the value is not linked. Patterns
    /// accepted by <see cref="Check"/> finish in microseconds on the longest identifier (1,024 bytes),
    /// so only a pattern saved before these checks existed can reach it.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>Why blocked values or patterns cannot be saved: a problem's reason, the field and what to do.</summary>
    public sealed record Refusal(string Reason, string Field, string Detail);

    /// <summary>Null when the values and patterns can be saved for one identifier type.</summary>
    public static Refusal? Check(IReadOnlyList<string>? values, IReadOnlyList<string>? patterns)
    {
        if (values is { Count: > MaxBlockedValues })
        {
            return new("too_many_blocked_values", "blockedValues",
                $"An identifier type takes at most {MaxBlockedValues:N0} blocked values; {values.Count:N0} were sent. Block a family of values with a pattern instead.");
        }

        if (patterns is null)
        {
            return null;
        }

        if (patterns.Count > MaxPatterns)
        {
            return new("too_many_patterns", "blockedPatterns",
                $"An identifier type takes at most {MaxPatterns} blocked patterns; {patterns.Count} were sent. Join related ones with | (@mailinator\\.com$|@guerrillamail\\.com$).");
        }

        var total = 0;
        for (var i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            var field = $"blockedPatterns[{i}]";
            if (pattern.Length > MaxPatternLength)
            {
                return new("pattern_too_long", field, $"A blocked pattern is at most {MaxPatternLength} characters; this one has {pattern.Length:N0}.");
            }

            total += pattern.Length;
            if (Shape(pattern) is { } shape)
            {
                return new("pattern_too_costly", field, shape);
            }

            try
            {
                _ = Compile(pattern);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                return new("invalid_field", field, $"This is not a pattern Tandem can run in linear time: {e.Message}");
            }
        }

        return total > MaxTotalPatternLength
            ? new("patterns_too_large", "blockedPatterns",
                $"The blocked patterns of one identifier type are at most {MaxTotalPatternLength:N0} characters together; these have {total:N0}.")
            : null;
    }

    internal static Regex Compile(string pattern) => new(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout);

    /// <summary>
    /// The first costly shape in the pattern, said in words, or null: a quantifier on a group that holds
    /// a quantifier (<c>(a+)+</c>), a count on a group with alternatives (<c>(a|ab){1,10}</c>), a count
    /// above <see cref="MaxRepetition"/>. Syntax errors are left to the regex parser.
    /// </summary>
    private static string? Shape(string pattern)
    {
        // One frame per open group: whether it holds a quantifier and whether it holds alternatives.
        var frames = new Stack<(bool Quantified, bool Alternatives)>();
        frames.Push((false, false));
        (bool Quantified, bool Alternatives)? lastGroup = null; // the group that just closed, when it is the last atom
        var canRepeat = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '\\':
                    i = EndOfEscape(pattern, i);
                    (lastGroup, canRepeat) = (null, true);
                    break;
                case '[':
                    i = EndOfClass(pattern, i);
                    (lastGroup, canRepeat) = (null, true);
                    break;
                case '(':
                    frames.Push((false, false));
                    (lastGroup, canRepeat) = (null, false);
                    break;
                case ')' when frames.Count > 1:
                    var closed = frames.Pop();
                    var parent = frames.Pop();
                    frames.Push((parent.Quantified || closed.Quantified, parent.Alternatives));
                    (lastGroup, canRepeat) = (closed, true);
                    break;
                case '|':
                    frames.Push(frames.Pop() with { Alternatives = true });
                    (lastGroup, canRepeat) = (null, false);
                    break;
                case '*' or '+' or '?' or '{' when canRepeat:
                    var (end, count) = c == '{' ? Count(pattern, i) : (i, 0);
                    if (end < 0)
                    {
                        (lastGroup, canRepeat) = (null, true); // a literal brace
                        break;
                    }

                    if (lastGroup is { Quantified: true })
                    {
                        return $"A quantifier on a group that already repeats (such as (a+)+) at character {i + 1} is refused: "
                            + "it makes the matcher's state grow with every character. Repeat the inside once, e.g. (a+)+ → a+.";
                    }

                    if (c == '{' && lastGroup is { Alternatives: true })
                    {
                        return $"A counted repetition of a group with alternatives (such as (a|ab){{1,10}}) at character {i + 1} is refused: "
                            + "it builds a very large matcher. Use *, + or ? on the group, or list the alternatives in a character class.";
                    }

                    if (count > MaxRepetition)
                    {
                        return $"A repetition count of {count:N0} at character {i + 1} is refused: at most {MaxRepetition} (identifiers are at most 1,024 bytes; use * or + beyond that).";
                    }

                    frames.Push(frames.Pop() with { Quantified = true });
                    i = end + 1 < pattern.Length && pattern[end + 1] == '?' ? end + 1 : end; // a lazy quantifier's ? is part of it
                    (lastGroup, canRepeat) = (null, false);
                    break;
                default:
                    (lastGroup, canRepeat) = (null, true);
                    break;
            }
        }

        return null;
    }

    private static int EndOfEscape(string pattern, int backslash)
    {
        var i = backslash + 1;
        if (i < pattern.Length && pattern[i] is 'p' or 'P' && i + 1 < pattern.Length && pattern[i + 1] == '{')
        {
            var close = pattern.IndexOf('}', i);
            return close < 0 ? pattern.Length - 1 : close;
        }

        return Math.Min(i, pattern.Length - 1);
    }

    private static int EndOfClass(string pattern, int open)
    {
        var i = open + 1;
        if (i < pattern.Length && pattern[i] == '^')
        {
            i++;
        }

        if (i < pattern.Length && pattern[i] == ']')
        {
            i++; // a ] first in a class is a literal
        }

        var depth = 1; // .NET's class subtraction nests classes: [a-z-[aeiou]]
        for (; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                i++;
            }
            else if (pattern[i] == '[')
            {
                depth++;
            }
            else if (pattern[i] == ']' && --depth == 0)
            {
                return i;
            }
        }

        return pattern.Length - 1;
    }

    /// <summary>Where <c>{n}</c>, <c>{n,}</c> or <c>{n,m}</c> ends and its largest number; (-1, 0) when the brace is a literal.</summary>
    private static (int End, long Count) Count(string pattern, int open)
    {
        var close = pattern.IndexOf('}', open);
        if (close < 0)
        {
            return (-1, 0);
        }

        var parts = pattern[(open + 1)..close].Split(',');
        if (parts.Length > 2 || parts[0].Length == 0)
        {
            return (-1, 0);
        }

        long largest = 0;
        foreach (var part in parts)
        {
            if (part.Length == 0)
            {
                continue; // {n,}
            }

            if (!part.All(char.IsAsciiDigit))
            {
                return (-1, 0);
            }

            largest = Math.Max(largest, part.Length > 9 ? long.MaxValue : long.Parse(part, CultureInfo.InvariantCulture));
        }

        return (close, largest);
    }
}
