using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Sources;
using Tandem.Storage.Sqlite;

namespace Tandem.Tests.Support;

/// <summary>
/// Writes events and refusals straight into the ingest log, bypassing the collector: what a log
/// written by an older version may hold, whatever the collector now lets through.
/// </summary>
public static class StoredBytes
{
    /// <summary>Text that is not valid Unicode as older logs hold it, and what a reader is shown instead.</summary>
    public static TheoryData<string, byte[], string> BrokenText => new()
    {
        { "Latin-1 é", [(byte)'c', (byte)'a', (byte)'f', 0xE9], "caf\uFFFD" },
        { "overlong /", [(byte)'x', 0xC0, 0xAF], "x\uFFFD\uFFFD" },
        { "lone high surrogate", Encoding.ASCII.GetBytes(@"\ud83d"), "\uFFFD" },
        { "lone low surrogate", Encoding.ASCII.GetBytes(@"\udc00"), "\uFFFD" },
    };

    public const string Placeholder = "@@broken@@";

    /// <summary>
    /// Stamps <paramref name="json"/> as the collector would, puts <paramref name="broken"/> where it
    /// says <see cref="Placeholder"/>, and appends it to the log; answers the sequence number.
    /// </summary>
    public static async Task<long> AppendEventAsync(TandemServer server, string json, byte[] broken, MessageType type, string? sourceId = null)
    {
        var stamped = Assert.Single(new SpecParser(CollectLimits.Default)
            .Parse(Encoding.UTF8.GetBytes(json), type, server.Clock.GetUtcNow(), clientIp: null).Accepted);
        var message = stamped with { Json = Replace(stamped.Json, broken) };
        var result = await Log(server).TryAppend(SourceKey(server, sourceId), [message], [], server.Clock.GetUtcNow())!;
        Assert.Equal(1, result.Stored);
        return result.LastSeq;
    }

    /// <summary>Appends a refusal whose kept payload is <paramref name="payload"/>, byte for byte.</summary>
    public static Task AppendRejectionAsync(TandemServer server, byte[] payload, string? sourceId = null) =>
        Log(server).TryAppend(SourceKey(server, sourceId), [], [new Rejection(0, "missing_event", "event", "A track call needs an event name.", payload)],
            server.Clock.GetUtcNow())!;

    public static byte[] Replace(byte[] json, byte[] broken)
    {
        var placeholder = Encoding.ASCII.GetBytes(Placeholder);
        var result = new List<byte>(json.Length + broken.Length);
        var rest = json.AsSpan();
        int at;
        while ((at = rest.IndexOf(placeholder)) >= 0)
        {
            result.AddRange(rest[..at]);
            result.AddRange(broken);
            rest = rest[(at + placeholder.Length)..];
        }

        result.AddRange(rest);
        return [.. result];
    }

    private static IngestLog Log(TandemServer server) => server.Services.GetRequiredService<IngestLog>();

    private static int SourceKey(TandemServer server, string? sourceId) =>
        server.Services.GetRequiredService<SourceRegistry>().FindById(sourceId ?? server.DefaultSourceId)!.Key;
}
