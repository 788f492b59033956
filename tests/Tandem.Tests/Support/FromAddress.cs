using System.Net;
using System.Net.Sockets;

namespace Tandem.Tests.Support;

/// <summary>
/// HTTP clients whose connections come from another loopback address (Linux routes all of 127.0.0.0/8
/// to lo): how tests play callers at different addresses against a server on 127.0.0.1.
/// </summary>
public static class FromAddress
{
    public static HttpClient Client(Uri baseAddress, string address, bool cookies = true) =>
        new(new SocketsHttpHandler
        {
            CookieContainer = new CookieContainer(),
            UseCookies = cookies,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { BaseAddress = baseAddress };
}
