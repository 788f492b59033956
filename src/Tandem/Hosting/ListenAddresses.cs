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

            Probe(address, string.Create(CultureInfo.InvariantCulture, $"{address.Host}:{address.Port}"));
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

    /// <summary>
    /// Binds where Kestrel will, with its fallbacks: loopback for localhost (IPv6 only where the machine
    /// has it), the address as written for an IP, every interface for any other host name.
    /// </summary>
    private static void Probe(BindingAddress address, string name)
    {
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            Refuse(TryBind(new IPEndPoint(IPAddress.Loopback, address.Port)), name);
            if (Socket.OSSupportsIPv6 && TryBind(new IPEndPoint(IPAddress.IPv6Loopback, address.Port)) is { SocketErrorCode: SocketError.AddressAlreadyInUse } inUse)
            {
                Refuse(inUse, name);
            }
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            Refuse(TryBind(new IPEndPoint(ip, address.Port)), name);
        }
        else
        {
            var any = Socket.OSSupportsIPv6 ? TryBind(new IPEndPoint(IPAddress.IPv6Any, address.Port)) : null;
            Refuse(any is null || any.SocketErrorCode == SocketError.AddressAlreadyInUse ? any : TryBind(new IPEndPoint(IPAddress.Any, address.Port)), name);
        }
    }

    /// <summary>Binds a socket there and lets go at once; the error, or null when the address is free.</summary>
    private static SocketException? TryBind(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            probe.DualMode = true; // as Kestrel binds a wildcard host: IPv4 and IPv6 at once
        }

        try
        {
            probe.Bind(endpoint);
            return null;
        }
        catch (SocketException e)
        {
            return e;
        }
    }

    private static void Refuse(SocketException? error, string name)
    {
        if (error is null)
        {
            return;
        }

        throw new StartRefusedException(error.SocketErrorCode == SocketError.AddressAlreadyInUse
            ? $"address {name} is in use (another program listens there: stop it, or choose another address with --urls)"
            : $"address {name} cannot be used: {error.Message} (choose another address with --urls)");
    }
}

/// <summary>Why <c>serve</c> cannot start, said in one line before anything in the data folder is touched.</summary>
public sealed class StartRefusedException(string message) : Exception(message);
