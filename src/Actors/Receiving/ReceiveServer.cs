using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Handshake;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// Accepts connections, authenticates them, and joins each to its transfer by the id in its first frame.
/// One-shot mode ends after the first transfer (or when the first peer fails to authenticate before any
/// transfer started); serve mode keeps going and reports each transfer. A cluster node's server has no DEST of its
/// own: <paramref name="route"/> says where each transfer goes (the job its id names), or why it is refused.
/// </summary>
internal sealed class ReceiveServer(Akka.Actor.ActorSystem system, string destination, SharedSecret secret, TransferOptions options, ILoggerFactory loggers,
    Func<TransferStats> newStats, Action<TransferSummary>? onTransfer, Func<Guid, (ReceiveTarget? Target, string Refusal)>? route = null,
    Action<Guid>? streamLost = null)
{
    private readonly ILogger _log = loggers.CreateLogger("actorsync.recv");
    /// <summary>Running transfers by id, and those still opening DEST (which may wait for its lock).</summary>
    private readonly Dictionary<Guid, Task<IncomingTransfer>> _transfers = [];
    private readonly TaskCompletionSource<TransferSummary> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<Task> _handlers = [];
    /// <summary>Refused transfers and why, so their other streams get the same answer at once. A handful in
    /// practice; cleared past <see cref="MaxRefusedRemembered"/> so a long-running server does not grow it.</summary>
    private readonly Dictionary<Guid, IOException> _refused = [];
    private const int MaxRefusedRemembered = 1024;
    /// <summary>How long a stopping server waits for connections still being handled.</summary>
    private static readonly TimeSpan HandlerDrain = TimeSpan.FromSeconds(15);
    private int _started, _connections;
    private Guid _oneShot;
    private bool _serve;

    public Task<TransferSummary?> RunAsync(Socket listener, bool serve, CancellationToken ct) =>
        RunAsync(listener.AcceptAsync, listener, serve, ct);

    /// <summary>Takes connections from <paramref name="next"/> (accepts, or a dialer's: a pull), disposing
    /// <paramref name="source"/> when done.</summary>
    public async Task<TransferSummary?> RunAsync(Func<CancellationToken, ValueTask<Socket>> next, IDisposable source, bool serve, CancellationToken ct)
    {
        _serve = serve;
        ActorSyncEngine.LogCryptoChoice(_log, options);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var accepting = AcceptLoopAsync(next, stop.Token);
        try
        {
            if (serve)
            {
                await accepting.ConfigureAwait(false);
                return null;
            }
            var first = await Task.WhenAny(_first.Task, accepting).ConfigureAwait(false);
            if (first == accepting) await accepting.ConfigureAwait(false);
            return await _first.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            source.Dispose();
            try { await accepting.ConfigureAwait(false); } catch (OperationCanceledException) { } catch (SocketException) { } catch (ObjectDisposedException) { }
            // No connection or transfer is left running behind the caller's back (it may delete DEST next).
            Task[] handlers;
            lock (_gate) handlers = [.. _handlers];
            await Task.WhenAll(handlers).WaitAsync(HandlerDrain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task AcceptLoopAsync(Func<CancellationToken, ValueTask<Socket>> next, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await next(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            // A flood of connections (or slow handshakes) must not grow without bound: past the cap, close at once.
            if (Interlocked.Increment(ref _connections) > options.MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                _log.LogWarning("refused a connection from {Peer}: {Max} connections already", socket.RemoteEndPoint, options.MaxConnections);
                socket.Dispose();
                continue;
            }
            var handler = Task.Run(() => HandleConnectionAsync(socket, ct), CancellationToken.None);
            lock (_gate)
            {
                _handlers.RemoveAll(static t => t.IsCompleted);
                _handlers.Add(handler);
            }
        }
    }

    private async Task HandleConnectionAsync(Socket socket, CancellationToken ct)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "?";
        ISecureChannel? channel = null;
        Guid transferId = default;
        bool joined = false;
        try
        {
            channel = await SecureConnection.AcceptAsync(socket, secret, options.HandshakeTimeout, ct, options.Tls, AcceptCipher, options.SocketBuffer).ConfigureAwait(false);
            var reader = new FrameReader(channel);
            var (header, deletion) = await ReadPreambleAsync(reader, ct).ConfigureAwait(false);
            if (options.Pull is { } intent) deletion = Admit(header, deletion, intent);
            transferId = header.TransferId;
            Task<IncomingTransfer>? starting;
            lock (_gate)
            {
                if (!_transfers.TryGetValue(header.TransferId, out starting))
                {
                    ct.ThrowIfCancellationRequested();
                    // The rest of a transfer already refused (DEST busy) is refused at once, not after its own wait.
                    if (_refused.TryGetValue(header.TransferId, out var refusal)) throw refusal;
                    // A one-shot receiver refuses further transfers as busy (the sender stops, told why); only the refusal
                    // of its own transfer (DEST locked by another process) ends it.
                    if (!_serve && _started > 0) throw new DestinationBusyException("busy: this receiver takes one transfer and is running one (recv --serve takes several)");
                    if (_transfers.Count >= options.MaxTransfers)
                        throw new DestinationBusyException($"busy: {options.MaxTransfers} transfers are running (receive.max-transfers); try again later");
                    if ((header.Flags & FrameLimits.RejoinFlag) != 0) throw new ProtocolException($"stream {header.StreamIndex} rejoins transfer {header.TransferId}, which is not running here");
                    if (Interlocked.Increment(ref _started) == 1) _oneShot = header.TransferId;
                    // Opening DEST may wait for another transfer's lock: that happens outside the gate, so accepts,
                    // handshakes and rejoins of other transfers go on meanwhile. Every stream of this transfer awaits
                    // the same start, and shares its outcome (a refusal too).
                    starting = Task.Run(() => StartTransferAsync(header, deletion, ct), CancellationToken.None);
                    _transfers[header.TransferId] = starting;
                }
            }
            var transfer = await starting.ConfigureAwait(false);
            await transfer.AddStreamAsync(header, channel, reader).ConfigureAwait(false);
            channel = null; // owned by the transfer now
            joined = true;
            transfer.CountConnection();
        }
        catch (IOException e) when (e is DestinationBusyException or DestinationUnavailableException)
        {
            // The sender is told why, so it stops instead of retrying; its other streams are refused at once.
            lock (_gate)
            {
                if (_refused.Count >= MaxRefusedRemembered) _refused.Clear();
                _refused[transferId] = e;
            }
            _log.LogWarning("refused a transfer from {Peer}: {Reason}", peer, e.Message);
            var code = e is DestinationBusyException ? ErrorCode.Busy : ErrorCode.Failed;
            if (channel is not null) await PeerNotice.SendErrorAsync([channel], code, e.Message, close: true).ConfigureAwait(false);
            if (!_serve && transferId == _oneShot) _first.TrySetResult(new TransferSummary { Role = "recv", ExitCode = ExitCodes.TransferFailed, Error = e.Message, Streams = 0 });
        }
        catch (Exception e) when (e is AuthenticationException or ProtocolException or IncompatiblePeerException or KernelTlsUnavailableException)
        {
            _log.LogWarning("refused connection from {Peer}: {Reason}", peer, TransferFailure.Describe(e));
            // One-shot: a peer that spoke our protocol and then failed (the wrong key, an incompatible setup, a
            // malformed first frame) before any transfer began is the outcome: the user ran something wrong.
            if (!_serve && Volatile.Read(ref _started) == 0)
                _first.TrySetResult(new TransferSummary { Role = "recv", ExitCode = TransferFailure.ExitCodeOf(e), Error = TransferFailure.Describe(e), Streams = 0 });
        }
        catch (Exception e) when (e is TimeoutException or SocketException or IOException)
        {
            // Not an actorsync client (a port scan, a health check, a stray HTTP request), or one that went away:
            // logged, and the receiver goes on waiting for its transfer.
            _log.LogWarning("dropped a connection from {Peer}: {Reason}", peer, TransferFailure.Describe(e));
        }
        catch (OperationCanceledException) { }
        finally
        {
            if (channel is not null) await channel.DisposeAsync().ConfigureAwait(false);
            // A connection handed to a transfer counts until its transfer ends (see FinishAsync).
            if (!joined) Interlocked.Decrement(ref _connections);
        }
    }

    /// <summary>A connection's preamble: its transfer header, and with --delete the deletion policy right after it.</summary>
    private async Task<(TransferHeaderFrame, DeletePolicyFrame?)> ReadPreambleAsync(FrameReader reader, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.HandshakeTimeout);
        try
        {
            if (!await reader.ReadNextAsync(timeout.Token).ConfigureAwait(false) || reader.Type != FrameType.TransferHeader)
                ThrowHelper.ThrowProtocol("the first frame of a connection must be its transfer header");
            var body = await reader.ReadBodyAsync(timeout.Token).ConfigureAwait(false);
            var header = FrameParser.TransferHeader(body.Span);
            if ((header.Flags & FrameLimits.DeleteFlag) == 0) return (header, null);
            if (!await reader.ReadNextAsync(timeout.Token).ConfigureAwait(false) || reader.Type != FrameType.DeletePolicy)
                ThrowHelper.ThrowProtocol("a transfer header flagged --delete must be followed by the deletion policy");
            body = await reader.ReadBodyAsync(timeout.Token).ConfigureAwait(false);
            return (header, FrameParser.DeletePolicy(body.Span));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException("no transfer header after the handshake");
        }
    }

    /// <summary>A pull's sender is held to what this side asked for: no deleting without --delete, no writing in a dry
    /// run, no more deletions than --max-delete.</summary>
    private static DeletePolicyFrame? Admit(TransferHeaderFrame header, DeletePolicyFrame? deletion, PullIntent intent)
    {
        if (deletion is not null && !intent.Delete) ThrowHelper.ThrowProtocol("the sender asked to delete entries of DEST, and this pull was not given --delete");
        if (intent.DryRun && (header.Flags & FrameLimits.DryRunFlag) == 0) ThrowHelper.ThrowProtocol("the sender did not keep to --dry-run");
        if (deletion is not null && intent.MaxDelete >= 0 && (deletion.MaxDelete < 0 || deletion.MaxDelete > intent.MaxDelete))
            return deletion with { MaxDelete = intent.MaxDelete };
        return deletion;
    }

    private bool AcceptCipher(Transport.Records.CipherSuite suite) => options.AcceptCipher is not { } only || suite == only;

    private async Task<IncomingTransfer> StartTransferAsync(TransferHeaderFrame header, DeletePolicyFrame? deletion, CancellationToken ct)
    {
        IncomingTransfer transfer;
        try
        {
            var target = Route(header.TransferId);
            // A job unit sent again (its sender was lost, or gave up on this receiver and came back) supersedes the
            // attempt still running here, which would hold the unit's work area until rejoin-grace ran out.
            if (target.Scope is not null)
            {
                List<Task<IncomingTransfer>> older;
                lock (_gate) older = [.. _transfers.Where(t => t.Key != header.TransferId && t.Value.IsCompletedSuccessfully && t.Value.Result.Target == target).Select(t => t.Value)];
                foreach (var t in older) t.Result.Abort("a newer attempt at this unit took over");
            }
            if (deletion is not null && target.Scope is not null) ThrowHelper.ThrowProtocol("--delete does not apply to a cluster job's units");
            transfer = await IncomingTransfer.StartAsync(system, header, target, options, loggers, newStats(), ct, streamLost, deletion).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _transfers.Remove(header.TransferId);
                if (e is IOException io)
                {
                    if (_refused.Count >= MaxRefusedRemembered) _refused.Clear();
                    _refused[header.TransferId] = io;
                }
            }
            throw;
        }
        _log.LogInformation("transfer {Id}: {Streams} streams into {Dest}", header.TransferId, header.StreamCount, transfer.Target.Destination);
        lock (_gate) _handlers.Add(FinishAsync(transfer));   // a stopping server waits for its transfers' cleanup too
        return transfer;
    }

    private ReceiveTarget Route(Guid transferId)
    {
        if (route is null) return new ReceiveTarget(destination);
        var (target, refusal) = route(transferId);
        return target ?? throw new DestinationUnavailableException(refusal);
    }

    private async Task FinishAsync(IncomingTransfer transfer)
    {
        TransferSummary summary;
        await using (transfer.ConfigureAwait(false))
        {
            summary = await transfer.CompleteAsync().ConfigureAwait(false);
        }
        lock (_gate) _transfers.Remove(transfer.Header.TransferId);
        Interlocked.Add(ref _connections, -transfer.ConnectionCount);
        onTransfer?.Invoke(summary);
        _first.TrySetResult(summary);
    }
}
