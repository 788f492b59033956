using System.Security.Cryptography;
using System.Text;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>
/// The secret that signs the audit chain. Hashes alone can be recomputed by whoever can write the
/// data folder; a MAC cannot without this key, so it must live elsewhere: in the environment
/// (<c>TANDEM_AUDIT_KEY</c>) or in a file outside the data folder (<c>--audit-key-file</c>).
/// </summary>
internal sealed class AuditKey
{
    public const string EnvironmentVariable = "TANDEM_AUDIT_KEY";
    public const string FileOption = "--audit-key-file";
    public const int MinLength = 32;

    private readonly byte[] _key;

    private AuditKey(byte[] key) => _key = key;

    /// <summary>The key the options name: the key file when given, else the key text; null when neither.</summary>
    /// <exception cref="StartRefusedException">The key is too short, the file cannot be read, or it lies inside the data folder.</exception>
    public static AuditKey? From(TandemOptions options) => Load(options.AuditKeyFile, options.AuditKey, options.DataDirectory);

    /// <inheritdoc cref="From(TandemOptions)"/>
    public static AuditKey? Load(string? keyFile, string? keyText, string dataDirectory)
    {
        if (!string.IsNullOrEmpty(keyFile))
        {
            var file = Path.GetFullPath(keyFile);
            var data = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory)) + Path.DirectorySeparatorChar;
            if (file.StartsWith(data, StringComparison.Ordinal))
            {
                throw new StartRefusedException(
                    $"{FileOption} {keyFile} lies inside the data folder {data}: whoever can change the log could read the key and re-sign it. Keep the key file elsewhere.");
            }

            try
            {
                return Parse(File.ReadAllText(file), $"{FileOption} {keyFile}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StartRefusedException($"{FileOption} {keyFile} cannot be read: {ex.Message}");
            }
        }

        return string.IsNullOrEmpty(keyText) ? null : Parse(keyText, "$" + EnvironmentVariable);
    }

    private static AuditKey Parse(string text, string where)
    {
        var key = text.Trim();
        if (key.Length < MinLength)
        {
            throw new StartRefusedException(
                $"{where} holds {key.Length} characters; an audit key needs at least {MinLength}. Make one with: openssl rand -hex 32");
        }

        return new AuditKey(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Signs one record's chain hash: the hash covers the record and everything before it.</summary>
    public string RecordMac(string hash) => Mac("record", hash);

    /// <summary>Signs the anchor, so a rewritten <c>audit.head</c> (after cutting the tail) shows.</summary>
    public string AnchorMac(long seq, string hash) => Mac("anchor", $"{seq}:{hash}");

    public string CheckpointMac(long records, long seq, string hash, DateTimeOffset at) => Mac("checkpoint", $"{records}:{seq}:{hash}:{at.ToUnixTimeMilliseconds()}");

    /// <summary>A short keyed hash of a typed email, so repeated failed sign-ins correlate without the log keeping the address.</summary>
    public string Pseudonym(string text) => Mac("pseudonym", text)[..16];

    public static bool Matches(string expected, string? actual) =>
        actual is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(actual));

    /// <summary>A key that lives only as long as this process: for pseudonyms when no audit key is set.</summary>
    public static AuditKey Ephemeral() => new(RandomNumberGenerator.GetBytes(32));

    private string Mac(string purpose, string text) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(purpose + "\n" + text)));
}
