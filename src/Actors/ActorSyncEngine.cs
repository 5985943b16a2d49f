using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Receiving;
using ActorSync.Sending;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorSync;

/// <summary>
/// The engine's public face: send a tree, or receive into one. Hosted by the .NET Generic Host
/// (<c>services.AddActorSync(configuration)</c>); the CLI is a thin shell over these two calls.
/// </summary>
public sealed class ActorSyncEngine(TransferOptions options, ILoggerFactory? loggerFactory = null)
{
    private readonly ILoggerFactory _loggers = loggerFactory ?? NullLoggerFactory.Instance;

    /// <summary>The options from configuration; each call may pass its own (e.g. with CLI overrides).</summary>
    public TransferOptions Options { get; } = options;

    /// <summary>Copies the contents of <paramref name="source"/> to the receiver at host:port.</summary>
    public async Task<TransferSummary> SendAsync(string source, string host, int port, SharedSecret secret,
        TransferOptions? overrides = null, TransferStats? stats = null, CancellationToken cancellationToken = default)
    {
        var o = overrides ?? Options;
        stats ??= new TransferStats();
        if (!Directory.Exists(source))
            return Failed("send", ExitCodes.Usage, $"source {source} is not a directory", o.Streams);
        IPEndPoint endpoint;
        try { endpoint = await SecureConnection.ResolveAsync(host, port, cancellationToken).ConfigureAwait(false); }
        catch (SocketException e) { return Failed("send", ExitCodes.TransferFailed, $"cannot resolve {host}: {e.Message}", o.Streams); }
        return await new SendJob(Path.GetFullPath(source), endpoint, secret, o, _loggers, stats).RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Binds a listening socket (port 0 picks a free one; see <see cref="Socket.LocalEndPoint"/>).</summary>
    public static Socket Listen(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(128);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Receives into <paramref name="destination"/> on <paramref name="listener"/> (which it takes over).
    /// One transfer, or with <paramref name="serve"/> every transfer until cancelled (each reported to
    /// <paramref name="onTransfer"/>; the result is then null).
    /// </summary>
    public Task<TransferSummary?> ReceiveAsync(string destination, Socket listener, SharedSecret secret, bool serve = false,
        TransferOptions? overrides = null, Func<TransferStats>? newStats = null, Action<TransferSummary>? onTransfer = null,
        CancellationToken cancellationToken = default)
    {
        var server = new ReceiveServer(Path.GetFullPath(destination), secret, overrides ?? Options, _loggers, newStats ?? (() => new TransferStats()), onTransfer);
        return server.RunAsync(listener, serve, cancellationToken);
    }

    private static TransferSummary Failed(string role, int exit, string message, int streams) =>
        new() { Role = role, ExitCode = exit, Error = message, Streams = streams };
}
