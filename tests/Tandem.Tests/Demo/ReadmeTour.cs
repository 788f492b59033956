using System.Text;
using System.Text.RegularExpressions;

namespace Tandem.Tests.Demo;

/// <summary>One command of the README's tour, split into words the way a POSIX shell would (variables left to expand).</summary>
/// <param name="Text">The command as written, continuation lines joined, for messages.</param>
/// <param name="Words">Its words, quotes removed, each with <c>$NAME</c> references still to substitute.</param>
public sealed record TourCommand(string Text, IReadOnlyList<TourWord> Words);

/// <summary>A shell word made of literal text and variable references.</summary>
public sealed record TourWord(IReadOnlyList<(bool IsVariable, string Text)> Parts)
{
    public string Expand(Func<string, string> variable) =>
        string.Concat(Parts.Select(p => p.IsVariable ? variable(p.Text) : p.Text));

    public string Literal => Expand(name => "$" + name);
}

/// <summary>
/// Reads the commands of README.md's "A short tour": every fenced <c>sh</c> block in that section,
/// comments dropped, backslash-continued lines joined. Knows the shell syntax the tour uses (single
/// and double quotes, <c>$VAR</c>, <c>${VAR}</c>, backslash escapes, trailing comments) and refuses the
/// rest, so that a README edit the test cannot run is a failure rather than a silent skip.
/// </summary>
public static partial class ReadmeTour
{
    public const string Section = "## A short tour";

    public static IReadOnlyList<TourCommand> Commands(string readme)
    {
        readme = readme.ReplaceLineEndings("\n");
        var start = readme.IndexOf(Section + "\n", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new FormatException($"README.md has no \"{Section}\" section.");
        }

        var end = readme.IndexOf("\n## ", start + Section.Length, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        var commands = new List<TourCommand>();
        foreach (Match block in ShellBlock().Matches(section))
        {
            var logical = new StringBuilder();
            foreach (var line in block.Groups["body"].Value.Split('\n'))
            {
                if (line.EndsWith('\\'))
                {
                    logical.Append(line.AsSpan(0, line.Length - 1)).Append(' ');
                    continue;
                }

                logical.Append(line);
                var text = logical.ToString().Trim();
                logical.Clear();
                var words = Split(text);
                if (words.Count > 0)
                {
                    commands.Add(new TourCommand(text, words));
                }
            }
        }

        return commands;
    }

    /// <summary>Splits one command line into words; a <c>#</c> at the start of a word begins a comment.</summary>
    public static List<TourWord> Split(string line)
    {
        var words = new List<TourWord>();
        List<(bool, string)>? parts = null;
        var literal = new StringBuilder();
        var i = 0;

        void Flush()
        {
            if (literal.Length > 0)
            {
                (parts ??= []).Add((false, literal.ToString()));
                literal.Clear();
            }
        }

        void EndWord()
        {
            Flush();
            if (parts is not null)
            {
                words.Add(new TourWord(parts));
                parts = null;
            }
        }

        void Variable()
        {
            // i is at '$'
            Flush();
            var braced = i + 1 < line.Length && line[i + 1] == '{';
            var from = i + (braced ? 2 : 1);
            var to = from;
            while (to < line.Length && (char.IsAsciiLetterOrDigit(line[to]) || line[to] == '_'))
            {
                to++;
            }

            if (to == from || (braced && (to >= line.Length || line[to] != '}')))
            {
                throw new FormatException($"The tour test cannot expand the '$' at column {i + 1} of: {line}");
            }

            (parts ??= []).Add((true, line[from..to]));
            i = braced ? to + 1 : to;
        }

        while (i < line.Length)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c))
            {
                EndWord();
                i++;
            }
            else if (c == '#' && parts is null && literal.Length == 0)
            {
                break;
            }
            else if (c == '\'')
            {
                var close = line.IndexOf('\'', i + 1);
                if (close < 0)
                {
                    throw new FormatException("Unclosed ' in: " + line);
                }

                literal.Append(line, i + 1, close - i - 1);
                parts ??= [];
                i = close + 1;
            }
            else if (c == '"')
            {
                parts ??= [];
                for (i++; ;)
                {
                    if (i >= line.Length)
                    {
                        throw new FormatException("Unclosed \" in: " + line);
                    }

                    if (line[i] == '"')
                    {
                        i++;
                        break;
                    }

                    if (line[i] == '$')
                    {
                        Variable();
                    }
                    else if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$')
                    {
                        literal.Append(line[i + 1]);
                        i += 2;
                    }
                    else
                    {
                        literal.Append(line[i++]);
                    }
                }
            }
            else if (c == '$')
            {
                Variable();
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                literal.Append(line[i + 1]);
                i += 2;
            }
            else if (c is '|' or ';' or '&' or '<' or '>' or '`' or '(' or ')')
            {
                throw new FormatException($"The tour test runs single commands; '{c}' in: {line}");
            }
            else
            {
                literal.Append(c);
                i++;
            }
        }

        EndWord();
        return words;
    }

    [GeneratedRegex(@"^```sh\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ShellBlock();
}
