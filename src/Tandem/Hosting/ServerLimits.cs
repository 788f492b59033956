using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Tandem.Hosting;

/// <summary>
/// What one connection may cost the server, set in one place. The collector answers anyone who can reach it
/// (a write key is not a secret in a browser), so a client that opens many connections and trickles bytes
/// must be cut off by the server, not left to pin memory and sockets.
/// </summary>
public static class ServerLimits
{
    /// <summary>Open connections at once unless <c>serve --max-connections</c> says otherwise.</summary>
    public const int DefaultMaxConnections = 10_000;

    /// <summary>
    /// The largest body on the wire, compressed or not. The collector's own limit is 500 KB after
    /// decompression and every management call takes at most 64 KB, so no honest request comes near it;
    /// it only stops a stream that claims to be endless before the collector's count does.
    /// </summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Below this a body is being trickled: 1 KB/s after a 10 s grace, as slow as a poor mobile link sends a 500 KB batch.</summary>
    public static MinDataRate MinRequestBodyDataRate { get; } = new(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(10));

    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>An idle keep-alive connection is closed after this; SDKs reconnect in one round trip.</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(30);

    public static void Apply(KestrelServerLimits limits, int maxConnections)
    {
        limits.MaxConcurrentConnections = maxConnections;
        limits.MaxConcurrentUpgradedConnections = 0; // no route speaks WebSocket
        limits.MaxRequestBodySize = MaxRequestBodyBytes;
        limits.MinRequestBodyDataRate = MinRequestBodyDataRate;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.KeepAliveTimeout = KeepAliveTimeout;
    }
}
