using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Receiving;
using ActorSync.Sending;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorSync;

/// <summary>
/// The engine's public face: send a tree, or receive into one, each transfer a tree of actors in
/// <paramref name="system"/> (the application's own with <c>WithActorSync</c>, or the CLI's). Without one, the
/// engine uses a process-wide system of its own, made from config/akka.hocon on first use.
/// </summary>
public sealed class ActorSyncEngine(TransferOptions options, ILoggerFactory? loggerFactory = null, ActorSystem? system = null)
{
    private readonly ILoggerFactory _loggers = loggerFactory ?? NullLoggerFactory.Instance;

    private static readonly Lazy<ActorSystem> SharedSystem = new(() => ActorSystem.Create("actorsync", ActorSyncConfig.Default));

    /// <summary>The actor system transfers run in.</summary>
    public ActorSystem System => system ?? SharedSystem.Value;

    /// <summary>The options from configuration; each call may pass its own (e.g. with CLI overrides).</summary>
    public TransferOptions Options { get; } = options;

    /// <summary>Copies the contents of <paramref name="source"/> to the receiver at host:port.</summary>
    public async Task<TransferSummary> SendAsync(string source, string host, int port, SharedSecret secret,
        TransferOptions? overrides = null, TransferStats? stats = null, CancellationToken cancellationToken = default)
    {
        var o = overrides ?? Options;
        stats ??= new TransferStats();
        try { o.Validate(); }
        catch (FormatException e) { return Failed("send", ExitCodes.Usage, $"configuration: {e.Message}", o.Streams); }
        if (!Directory.Exists(source))
            return Failed("send", ExitCodes.Usage, $"source {source} is not a directory", o.Streams);
        if (CheckKernelTls(o) is { } why) return Failed("send", ExitCodes.Usage, why, o.Streams);
        IPEndPoint endpoint;
        try { endpoint = await SecureConnection.ResolveAsync(host, port, cancellationToken).ConfigureAwait(false); }
        catch (SocketException e) { return Failed("send", ExitCodes.TransferFailed, $"cannot resolve {host}: {e.Message}", o.Streams); }
        return await new SendJob(System, Path.GetFullPath(source), endpoint, secret, o, _loggers, stats).RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies the contents of <paramref name="source"/> to a receiver that connects to <paramref name="listener"/>
    /// (which it takes over): a pull, where only this end can open a port both reach. The streams are the same.
    /// </summary>
    public async Task<TransferSummary> SendAsync(string source, Socket listener, SharedSecret secret,
        TransferOptions? overrides = null, TransferStats? stats = null, CancellationToken cancellationToken = default)
    {
        using (listener)
        {
            var o = overrides ?? Options;
            stats ??= new TransferStats();
            try { o.Validate(); }
            catch (FormatException e) { return Failed("send", ExitCodes.Usage, $"configuration: {e.Message}", o.Streams); }
            if (!Directory.Exists(source))
                return Failed("send", ExitCodes.Usage, $"source {source} is not a directory", o.Streams);
            if (CheckKernelTls(o) is { } why) return Failed("send", ExitCodes.Usage, why, o.Streams);
            return await new SendJob(System, Path.GetFullPath(source), new ListenerEndPoint(listener), secret, o, _loggers, stats).RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private const int SolSocket = 1, SoReuseAddr = 2;

    /// <summary>Binds a listening socket (port 0 picks a free one; see <see cref="Socket.LocalEndPoint"/>).</summary>
    public static Socket Listen(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone, so a restarted receiver can bind over connections in TIME_WAIT. .NET's ReuseAddress
            // also sets SO_REUSEPORT on Linux, which let a second receiver bind the same port and take half the
            // connections of a transfer meant for the first.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
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
        try { (overrides ?? Options).Validate(); }
        catch (FormatException e)
        {
            listener.Dispose();
            return Task.FromResult<TransferSummary?>(Failed("recv", ExitCodes.Usage, $"configuration: {e.Message}", 0));
        }
        if (CheckKernelTls(overrides ?? Options) is { } why)
        {
            listener.Dispose();
            return Task.FromResult<TransferSummary?>(Failed("recv", ExitCodes.Usage, why, 0));
        }
        var server = new ReceiveServer(System, Path.GetFullPath(destination), secret, overrides ?? Options, _loggers, newStats ?? (() => new TransferStats()), onTransfer);
        return server.RunAsync(listener, serve, cancellationToken);
    }

    /// <summary>
    /// Receives one transfer into <paramref name="destination"/> from a sender that waits for connections at
    /// <paramref name="sender"/> (see <see cref="SendAsync(string, Socket, SharedSecret, TransferOptions?, TransferStats?, CancellationToken)"/>):
    /// dials its <paramref name="streams"/> connections.
    /// </summary>
    public async Task<TransferSummary> ReceiveFromAsync(string destination, IPEndPoint sender, int streams, SharedSecret secret,
        TransferOptions? overrides = null, Func<TransferStats>? newStats = null, CancellationToken cancellationToken = default)
    {
        var o = overrides ?? Options;
        try { o.Validate(); }
        catch (FormatException e) { return Failed("recv", ExitCodes.Usage, $"configuration: {e.Message}", 0); }
        if (CheckKernelTls(o) is { } why) return Failed("recv", ExitCodes.Usage, why, 0);
        // The sender is the other machine's: it gets what this side asked for, no more.
        o = o with { Pull = new PullIntent(o.Delete, o.DryRun, o.MaxDelete) };
        var server = new ReceiveServer(System, Path.GetFullPath(destination), secret, o, _loggers, newStats ?? (() => new TransferStats()), null);
        var dialer = new SenderDialer(sender, streams, o.ConnectTimeout, o.SocketBuffer);
        try
        {
            return (await server.RunAsync(dialer.NextAsync, dialer, serve: false, cancellationToken).ConfigureAwait(false))!;
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            return Failed("recv", ExitCodes.TransferFailed, $"{CannotConnectToSender} {sender}: {e.Message}", 0);
        }
    }

    /// <summary>How <see cref="ReceiveFromAsync"/>'s error begins when no connection to the sender could be made.</summary>
    public const string CannotConnectToSender = "cannot connect to the sender at";

    /// <summary>--tls kernel where the kernel cannot: the reason (a usage error, before any connection).</summary>
    public static string? CheckKernelTls(TransferOptions options)
    {
        if (options.Tls != TlsMode.Kernel) return null;
        return SecureConnection.KernelTlsUnavailability(options.Cipher) is { } why ? $"kernel TLS unavailable: {why}" : null;
    }

    /// <summary>The record-crypto choice, logged once per transfer: which side of the kernel seals the records, and why.</summary>
    internal static void LogCryptoChoice(ILogger log, TransferOptions options)
    {
        string? why = options.Tls == TlsMode.User ? null : SecureConnection.KernelTlsUnavailability(options.Cipher);
        if (options.Tls == TlsMode.User) log.LogInformation("record crypto: userspace AES-GCM (--tls user)");
        else if (why is null) log.LogInformation("record crypto: kernel TLS (kTLS){Sendfile}", options.Sendfile ? ", large files by sendfile" : "");
        else log.LogInformation("record crypto: userspace AES-GCM; kernel TLS unavailable: {Reason}", why);
    }

    private static TransferSummary Failed(string role, int exit, string message, int streams) =>
        new() { Role = role, ExitCode = exit, Error = message, Streams = streams };
}
