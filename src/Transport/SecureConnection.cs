using System.Net;
using System.Net.Sockets;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;

namespace ActorSync.Transport;

/// <summary>Opens authenticated channels: TCP connect/accept, handshake, then the record layer.</summary>
public static class SecureConnection
{
    /// <summary>
    /// Socket buffers (SO_SNDBUF/SO_RCVBUF; the kernel doubles them and caps them at net.core.[rw]mem_max) when the
    /// caller gives none: a bandwidth-delay product per stream for a LAN (1 MiB x 2 x 8 streams: 10 Gb/s at 13 ms).
    /// Bigger buys nothing here, and what sits in them is lost when a process dies: with 4 MiB a kill -9 cost
    /// 24-45 MB of re-sending in the kill tests, with 1 MiB about 8. High-latency paths raise transfer.socket-buffer.
    /// </summary>
    public const int DefaultSocketBuffer = 1 << 20;

    public static async Task<ISecureChannel> ConnectAsync(EndPoint endpoint, SharedSecret secret, CipherSuite suite, TimeSpan handshakeTimeout, CancellationToken ct,
        TimeSpan? connectTimeout = null, TlsMode tls = TlsMode.Auto, int socketBuffer = DefaultSocketBuffer)
    {
        try
        {
            return await ConnectOnceAsync(endpoint, secret, suite, handshakeTimeout, ct, connectTimeout, tls, socketBuffer).ConfigureAwait(false);
        }
        catch (KernelTlsFallbackException) when (tls == TlsMode.Auto)
        {
            // The kernel took the ULP but refused a key: that socket is gone; redo the connection in userspace.
            return await ConnectOnceAsync(endpoint, secret, suite, handshakeTimeout, ct, connectTimeout, TlsMode.User, socketBuffer).ConfigureAwait(false);
        }
    }

    private static async Task<ISecureChannel> ConnectOnceAsync(EndPoint endpoint, SharedSecret secret, CipherSuite suite, TimeSpan handshakeTimeout, CancellationToken ct,
        TimeSpan? connectTimeout, TlsMode tls, int socketBuffer)
    {
        Socket? socket = endpoint is ListenerEndPoint ? null : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Before connect(): the window scale is settled in the SYN. (An accepted socket is tuned as the receiver's are.)
            if (socket is not null) Tune(socket, socketBuffer);
            using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                if (connectTimeout is { } limit) connecting.CancelAfter(limit);
                try
                {
                    if (endpoint is ListenerEndPoint incoming) socket = await incoming.Listener.AcceptAsync(connecting.Token).ConfigureAwait(false);
                    else await socket!.ConnectAsync(endpoint, connecting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"connecting to {endpoint} timed out after {connectTimeout!.Value.TotalSeconds:0.#} s");
                }
            }
            if (endpoint is ListenerEndPoint) Tune(socket!, socketBuffer);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(handshakeTimeout);
            HandshakeResult keys;
            try
            {
                keys = await HandshakeProtocol.ClientAsync(socket, secret, suite, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"handshake with {endpoint} timed out after {handshakeTimeout.TotalSeconds:0.#} s");
            }
            return CreateChannel(socket, keys, suite, tls);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    /// <summary>Runs the server side of the handshake on an accepted socket; the socket is disposed on failure.</summary>
    /// <param name="accept">Which ciphers this receiver takes (recv --cipher); any when null.</param>
    public static async Task<ISecureChannel> AcceptAsync(Socket socket, SharedSecret secret, TimeSpan handshakeTimeout, CancellationToken ct, TlsMode tls = TlsMode.Auto,
        Func<CipherSuite, bool>? accept = null, int socketBuffer = DefaultSocketBuffer)
    {
        try
        {
            Tune(socket, socketBuffer);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(handshakeTimeout);
            try
            {
                var keys = await HandshakeProtocol.ServerAsync(socket, secret, accept ?? (_ => true), timeout.Token).ConfigureAwait(false);
                return CreateChannel(socket, keys, keys.Send.Suite, tls);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"handshake timed out after {handshakeTimeout.TotalSeconds:0.#} s");
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The record layer for an authenticated socket. Kernel where it can (per this process's probe), userspace
    /// otherwise (auto), or kernel-or-fail. A socket whose ULP was attached but not fully keyed is never used:
    /// it is closed, and kernel TLS is off for the rest of the process.
    /// </summary>
    private static ISecureChannel CreateChannel(Socket socket, HandshakeResult keys, CipherSuite suite, TlsMode tls)
    {
        if (tls == TlsMode.User) return new UserTlsChannel(socket, keys);
        if (Kernel.KernelTls.Unavailability(suite) is { } why)
        {
            if (tls == TlsMode.Kernel) throw new KernelTlsUnavailableException(why);
            return new UserTlsChannel(socket, keys);
        }
        var (channel, outcome, reason) = Kernel.KernelTlsChannel.TryCreate(socket, keys.Send, keys.Receive);
        if (channel is not null) return channel;
        Kernel.KernelTls.Disable(reason);
        if (outcome == Kernel.KernelTls.Outcome.Unavailable && tls == TlsMode.Auto) return new UserTlsChannel(socket, keys);
        socket.Dispose();
        if (tls == TlsMode.Kernel) throw new KernelTlsUnavailableException(reason);
        throw new KernelTlsFallbackException(reason);
    }

    /// <summary>Whether connections made with <paramref name="tls"/> would use the kernel (null) or why not.</summary>
    public static string? KernelTlsUnavailability(CipherSuite suite) => Kernel.KernelTls.Unavailability(suite);

    private static void Tune(Socket socket, int buffer)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = buffer;
        socket.ReceiveBufferSize = buffer;
    }

    /// <summary>Parses "HOST:PORT", "[v6]:PORT" or, when <paramref name="allowBarePort"/>, "PORT".</summary>
    public static bool TryParseEndpoint(string text, bool allowBarePort, out string host, out int port)
    {
        host = allowBarePort ? "0.0.0.0" : "";
        port = 0;
        string portText;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') return false;
            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                if (!allowBarePort) return false;
                portText = text;
            }
            else
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
                if (host.Length == 0) return false;
            }
        }
        return int.TryParse(portText, out port) && port is > 0 and < 65536;
    }

    public static async Task<IPEndPoint> ResolveAsync(string host, int port, CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        var addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        var pick = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        return new IPEndPoint(pick, port);
    }
}
