using CsCheck;

namespace Tandem.Tests.Support;

/// <summary>
/// Samples from a CsCheck generator that are the same on every run: a property test in CI must fail
/// the same way twice, so the failing input can be read off the message and replayed.
/// </summary>
public static class Seeded
{
    public static IEnumerable<T> Samples<T>(Gen<T> gen, int count, ulong seed)
    {
        var pcg = new PCG(1, seed);
        for (var i = 0; i < count; i++)
        {
            yield return gen.Generate(pcg, null, out _);
        }
    }
}
