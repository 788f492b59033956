using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tandem.Hosting;

/// <summary>
/// The addresses of <c>--urls</c>, read and tried before the data folder is touched: a typo or a busy
/// port is one line at start, not two stack traces after the workspace was opened.
/// </summary>
internal static class ListenAddresses
{
    /// <summary>Checks that every URL parses and that its port is free now.</summary>
    /// <exception cref="StartRefusedException">A URL is not an address, or something already listens there.</exception>
    public static void Check(string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = Parse(url);
            if (address.IsUnixPipe || address.IsNamedPipe || address.Port == 0)
            {
                continue; // pipes have no port; port 0 takes any free one
            }

            foreach (var endpoint in Endpoints(address))
            {
                TryBind(endpoint, string.Create(CultureInfo.InvariantCulture, $"{address.Host}:{address.Port}"));
            }
        }
    }

    private static BindingAddress Parse(string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            throw NotAnAddress(url);
        }

        if (address.Scheme is not ("http" or "https") || address.Host.Length == 0 || address.Port is < 0 or > IPEndPoint.MaxPort)
        {
            throw NotAnAddress(url);
        }

        return address;
    }

    private static StartRefusedException NotAnAddress(string url) =>
        new($"--urls '{url}' is not an address to listen on: write http://HOST:PORT, such as http://127.0.0.1:5080 (several separated by ';')");

    /// <summary>Where Kestrel would bind: loopback for localhost, an IP as written, every interface for any other host.</summary>
    private static IEnumerable<IPEndPoint> Endpoints(BindingAddress address)
    {
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            yield return new IPEndPoint(IPAddress.Loopback, address.Port);
            if (Socket.OSSupportsIPv6)
            {
                yield return new IPEndPoint(IPAddress.IPv6Loopback, address.Port);
            }
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            yield return new IPEndPoint(ip, address.Port);
        }
        else
        {
            yield return new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, address.Port);
        }
    }

    private static void TryBind(IPEndPoint endpoint, string name)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            probe.DualMode = true; // as Kestrel binds a wildcard host: IPv4 and IPv6 at once
        }

        try
        {
            probe.Bind(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new StartRefusedException($"address {name} is in use (another program listens there: stop it, or choose another address with --urls)");
        }
        catch (SocketException e)
        {
            throw new StartRefusedException($"address {name} cannot be used: {e.Message} (choose another address with --urls)");
        }
    }
}

/// <summary>Why <c>serve</c> cannot start, said in one line before anything in the data folder is touched.</summary>
public sealed class StartRefusedException(string message) : Exception(message);
