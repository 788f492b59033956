namespace Tandem.Sources;

/// <summary>A place events come from (website, CMS, CRM...), identified on the wire by its write key.</summary>
/// <param name="Key">Compact storage key used in the ingest log.</param>
/// <param name="WriteKeyDigest">The write key's digest (<c>WriteKeyDigest.Of</c>): the key itself is shown once and never stored.</param>
/// <param name="WriteKeyEnd">The key's last four characters, to tell keys apart.</param>
public sealed record Source(string Id, int Key, string Name, string WriteKeyDigest, string WriteKeyEnd, bool Enabled, DateTimeOffset CreatedAt);
