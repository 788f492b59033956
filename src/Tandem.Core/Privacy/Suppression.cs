namespace Tandem.Privacy;

/// <summary>One suppression: the request that made it, the types of the identifiers it covers, and the events it dropped.</summary>
public sealed record Suppression(string RequestId, DateTimeOffset CreatedAt, IReadOnlyList<string> IdentifierTypes, long Dropped);

/// <summary>
/// One suppressed identifier as kept: never the value, only the SHA-256 digest of its type and normal
/// form, and a 32-bit prefilter of the same (the collector's cheap first look).
/// </summary>
public sealed record SuppressedIdentifier(ReadOnlyMemory<byte> Digest, string Type, uint Prefilter);

/// <summary>A suppressed identifier and the request that suppressed it: what the collector's in-memory map is built from.</summary>
public sealed record SuppressedEntry(ReadOnlyMemory<byte> Digest, string RequestId, uint Prefilter);
