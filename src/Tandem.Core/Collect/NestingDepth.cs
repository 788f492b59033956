namespace Tandem.Collect;

/// <summary>
/// Tells a body that nests too deeply from one that is malformed: System.Text.Json reports both as a
/// <see cref="System.Text.Json.JsonException"/>, and the sender needs to know which to fix.
/// </summary>
internal static class NestingDepth
{
    /// <summary>True when objects and arrays outside strings nest deeper than <paramref name="max"/> somewhere in <paramref name="json"/>.</summary>
    public static bool Exceeds(ReadOnlySpan<byte> json, int max)
    {
        var depth = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                if (b == '\\')
                {
                    i++; // the escaped byte cannot end the string
                }
                else if (b == '"')
                {
                    inString = false;
                }
            }
            else if (b == '"')
            {
                inString = true;
            }
            else if (b is (byte)'{' or (byte)'[')
            {
                if (++depth > max)
                {
                    return true;
                }
            }
            else if (b is (byte)'}' or (byte)']')
            {
                depth--;
            }
        }

        return false;
    }
}
