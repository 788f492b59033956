using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;

namespace Tandem.Unify;

/// <summary>
/// Shares the bytes of small trait values that many profiles hold ("pro", "PT", true, 42): a million
/// profiles with a <c>plan</c> trait then hold four arrays between them instead of a million.
/// </summary>
internal sealed class ValuePool
{
    private const int MaxValueBytes = 32;
    private const int MaxEntries = 200_000;
    private readonly Dictionary<byte[], byte[]> _pool;
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> _bySpan;

    public ValuePool()
    {
        _pool = new Dictionary<byte[], byte[]>(BytesComparer.Instance);
        _bySpan = _pool.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The pooled array with these bytes, or a new array when the value is large or the pool is full.</summary>
    public byte[] Get(ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxValueBytes)
        {
            return value.ToArray();
        }

        if (_bySpan.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        var copy = value.ToArray();
        if (_pool.Count < MaxEntries)
        {
            _pool[copy] = copy;
        }

        return copy;
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly BytesComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode([DisallowNull] byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)XxHash3.HashToUInt64(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
