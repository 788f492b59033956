using System.Text;

namespace Tandem.Unify;

/// <summary>How the search index orders and matches text: each character upper-cased (invariant), one code point at a time.</summary>
internal sealed partial class SearchIndex
{
    private static readonly Comparison<Entry> Order = (x, y) => x.Prefix != y.Prefix ? x.Prefix.CompareTo(y.Prefix) : Compare(x.Key, y.Key);

    /// <summary>
    /// The first eight bytes of the key's upper-cased characters in UTF-8, zero-padded. UTF-8 keeps the
    /// order of code points, so keys whose prefixes differ compare as their prefixes do; equal prefixes
    /// are settled by the whole key.
    /// </summary>
    private static ulong PrefixOf(object key)
    {
        Span<byte> bytes = stackalloc byte[12];
        bytes.Clear();
        int at = Start(key), filled = 0;
        while (filled < 8)
        {
            var c = Next(key, ref at);
            if (c < 0)
            {
                break;
            }

            filled += new Rune(c).EncodeToUtf8(bytes[filled..]);
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private static bool IsString(byte[] json) => json.Length >= 2 && json[0] == (byte)'"';

    /// <summary>
    /// The part of a term the index can look up: all of it, unless it holds half of a surrogate pair,
    /// which the comparison reads as U+FFFD while a value may hold the whole pair there; then the text
    /// before it (the caller's own check settles the rest).
    /// </summary>
    private static Entry Probe(string term) => new(SearchableTerm(term), null!);

    private static string SearchableTerm(string term)
    {
        for (var i = 0; i < term.Length; i++)
        {
            if (char.IsHighSurrogate(term[i]) && i + 1 < term.Length && char.IsLowSurrogate(term[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(term[i]))
            {
                return term[..i];
            }
        }

        return term;
    }

    /// <summary>The entries of a run that start with <paramref name="key"/>: they sit together, from its lower bound on.</summary>
    private static (int From, int To) Range(Entry[] run, Entry probe)
    {
        var key = (string)probe.Key;
        var from = LowerBound(run, probe);
        int lo = from, hi = run.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (StartsWith(run[mid].Key, key))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return (from, lo);
    }

    private static int LowerBound(Entry[] run, Entry probe)
    {
        int lo = 0, hi = run.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (Order(run[mid], probe) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int Compare(object a, object b)
    {
        int i = Start(a), j = Start(b);

        // Most text is ASCII: compare it without decoding, and decode only from the first other character on.
        if (a is string sa && b is string sb)
        {
            var n = Math.Min(sa.Length, sb.Length);
            for (; i < n; i++)
            {
                int x = sa[i], y = sb[i];
                if ((x | y) >= 0x80)
                {
                    break;
                }

                if (x != y && (x = Fold(x)) != (y = Fold(y)))
                {
                    return x - y;
                }
            }

            j = i;
        }
        else if (a is byte[] ba && b is byte[] bb)
        {
            var n = Math.Min(ba.Length, bb.Length) - 1;
            for (; i < n; i++)
            {
                int x = ba[i], y = bb[i];
                if ((x | y) >= 0x80)
                {
                    break;
                }

                if (x != y && (x = Fold(x)) != (y = Fold(y)))
                {
                    return x - y;
                }
            }

            j = i;
        }

        while (true)
        {
            var x = Next(a, ref i);
            var y = Next(b, ref j);
            if (x != y || x < 0)
            {
                return x.CompareTo(y);
            }
        }
    }

    private static bool StartsWith(object key, string term)
    {
        int i = Start(key), j = 0;
        while (true)
        {
            var t = Next(term, ref j);
            if (t < 0)
            {
                return true;
            }

            if (Next(key, ref i) != t)
            {
                return false;
            }
        }
    }

    private static int Start(object key) => key is byte[]? 1 : 0;

    private static int Fold(int ascii) => ascii is >= 'a' and <= 'z' ? ascii - 32 : ascii;

    /// <summary>The next character upper-cased (invariant, per code point), or -1 at the end. Text that is not valid Unicode reads as U+FFFD.</summary>
    private static int Next(object key, ref int at)
    {
        Rune rune;
        if (key is string s)
        {
            if (at >= s.Length)
            {
                return -1;
            }

            var c = s[at];
            if (c < 0x80)
            {
                at++;
                return c is >= 'a' and <= 'z' ? c - 32 : c;
            }

            Rune.DecodeFromUtf16(s.AsSpan(at), out rune, out var used);
            at += used;
        }
        else
        {
            var json = (byte[])key;
            if (at >= json.Length - 1)
            {
                return -1;
            }

            var b = json[at];
            if (b < 0x80)
            {
                at++;
                return b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b;
            }

            Rune.DecodeFromUtf8(json.AsSpan(at, json.Length - 1 - at), out rune, out var used);
            at += used;
        }

        return Rune.ToUpperInvariant(rune).Value;
    }
}
