using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// The receiving pipeline of one transfer: its ReceiveCoordinator (the parent of a ConnectionReceiver per stream
/// and of the FileWriters) and the Task face the server awaits. Created when the first authenticated stream of a
/// transfer id arrives.
/// </summary>
internal sealed class IncomingTransfer : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    /// <summary>How long the server waits for the coordinator to take a connection in.</summary>
    private static readonly TimeSpan JoinWait = TimeSpan.FromSeconds(10);

    private readonly IActorRef _coordinator;
    private readonly ReceiveSession _session;
    private readonly List<ISecureChannel> _channels = [];
    private readonly StreamProgress[] _progress;
    private readonly CancellationTokenSource _abort;
    private readonly TaskCompletionSource<ReceiveOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TransferOptions _options;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly CancellationTokenRegistration _interrupted;

    /// <summary>Opens (and locks) DEST, waiting for another transfer to let go of it, then sets up the pipeline.</summary>
    public static async Task<IncomingTransfer> StartAsync(ActorSystem system, TransferHeaderFrame header, ReceiveTarget target, TransferOptions options, ILoggerFactory loggers, TransferStats stats,
        CancellationToken cancellationToken, Action<Guid>? streamLost = null, DeletePolicyFrame? deletion = null)
    {
        var protect = DeletionPass.Protection(deletion);
        bool dryRun = (header.Flags & FrameLimits.DryRunFlag) != 0;
        if (dryRun && target.Scope is not null) ThrowHelper.ThrowProtocol("--dry-run does not apply to a cluster job's units");
        var tree = dryRun ? DestinationTree.OpenForDryRun(target.Destination)
            : await DestinationTree.OpenAsync(target.Destination, options.LockWait, cancellationToken, target.Scope).ConfigureAwait(false);
        try
        {
            return new IncomingTransfer(system, header, tree, options, loggers, stats, cancellationToken, streamLost, target.Range,
                deletion is null ? null : new DeletionPolicy(deletion.MaxDelete, protect!)) { Target = target };
        }
        catch
        {
            tree.Dispose();
            throw;
        }
    }

    private IncomingTransfer(ActorSystem system, TransferHeaderFrame header, DestinationTree tree, TransferOptions options, ILoggerFactory loggers, TransferStats stats,
        CancellationToken cancellationToken, Action<Guid>? streamLost, FileRangeUnit? range, DeletionPolicy? deletion)
    {
        Header = header;
        _options = options;
        _progress = Enumerable.Range(0, header.StreamCount).Select(_ => new StreamProgress()).ToArray();
        _log = loggers.CreateLogger("actorsync.recv");
        _abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pool = new BufferPool(options.ChunkSize, options.ReceiverBufferCount(header.StreamCount));
        var owners = new OwnershipPolicy(options.PreserveOwner, options.PreserveGroup, tree.CreatedGid);
        bool fsync = options.Fsync || (header.Flags & FrameLimits.FsyncFlag) != 0;
        _session = new ReceiveSession(header.TransferId, tree, pool, stats, options, owners, _abort.Token, streamLost, range, deletion);
        var session = _session;
        var progress = _progress;
        var outcome = _outcome;
        var log = _log;
        _coordinator = system.ActorOf(ActorProps.Of(() => new ReceiveCoordinator(header.StreamCount, session, options, outcome, progress, owners, fsync, log))
            .WithDispatcher(ActorSyncDispatchers.BlockingSocket), $"recv-{header.TransferId:N}-{Guid.NewGuid():N}");
        Stats = stats;
        // Stopped from outside (a signal, the host): the outcome is a failure the sender is told about at once, so it
        // stops too instead of reconnecting to a receiver that is going away.
        _interrupted = cancellationToken.Register(static o => ((TaskCompletionSource<ReceiveOutcome>)o!).TrySetException(
            new Sending.TransferFailedException(TransferFailure.Interrupted)), _outcome);
    }

    private int _connectionCount;

    public TransferHeaderFrame Header { get; }

    /// <summary>Connections this transfer took over (including rejoins), for the server's connection cap.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    public void CountConnection() => Interlocked.Increment(ref _connectionCount);

    /// <summary>Where this transfer writes.</summary>
    public ReceiveTarget Target { get; init; }

    /// <summary>Ends the transfer as failed (its sender is told <paramref name="reason"/>): a newer attempt at the same
    /// job unit has come, whose sender is the one that counts now.</summary>
    public void Abort(string reason) => _outcome.TrySetException(new Sending.TransferFailedException(reason));
    public TransferStats Stats { get; }
    public Task<ReceiveOutcome> Outcome => _outcome.Task;

    /// <summary>
    /// Adds an authenticated connection whose TransferHeader named this transfer. A rejoin replaces a stream's
    /// lost connection: the old one is dropped (if the receiver had not noticed yet), the sender is told where
    /// to resume (the end of the last frame taken in), and a new connection actor carries on.
    /// </summary>
    public async ValueTask AddStreamAsync(TransferHeaderFrame header, ISecureChannel channel, FrameReader reader)
    {
        if (header.StreamCount != Header.StreamCount || header.Cipher != Header.Cipher)
            ThrowHelper.ThrowProtocol($"stream {header.StreamIndex} disagrees with the transfer's stream count or cipher");
        var progress = _progress[header.StreamIndex];
        bool rejoin = (header.Flags & FrameLimits.RejoinFlag) != 0;
        if (rejoin)
        {
            if (progress.Connection is not null)
            {
                try { await _coordinator.Ask<ReceiveCoordinator.ConnectionStopped>(new ReceiveCoordinator.StopConnection(header.StreamIndex), ShutdownGrace).ConfigureAwait(false); }
                catch (AskTimeoutException) { throw new TimeoutException($"stream {header.StreamIndex}: the old connection did not stop"); }
            }
            progress.RetransmitBelow = progress.HandedOut;
            byte[] resume = new byte[FrameLimits.HeaderLength + 8];
            int n = FrameWriter.StreamOffset(resume, FrameType.Resume, progress.Consumed);
            await channel.SendAsync(resume.AsMemory(0, n), _abort.Token).ConfigureAwait(false);
            _log.LogInformation("stream {Stream} rejoined; resuming at offset {Offset}", header.StreamIndex, progress.Consumed);
        }
        else if (progress.Connection is not null) ThrowHelper.ThrowProtocol($"stream {header.StreamIndex} joined twice");
        lock (_gate) _channels.Add(channel);
        progress.Channel = channel;
        progress.Epoch++;
        try { await _coordinator.Ask<IActorRef>(new ReceiveCoordinator.AddConnection(header.StreamIndex, channel, reader, rejoin), JoinWait).ConfigureAwait(false); }
        catch (AskTimeoutException) { throw new TimeoutException($"stream {header.StreamIndex}: the transfer did not take the connection in"); }
    }

    /// <summary>Waits for the outcome, then shuts the pipeline down (cleanly or, on failure, at once).</summary>
    public async Task<TransferSummary> CompleteAsync()
    {
        ReceiveOutcome? result = null;
        Exception? error = null;
        try { result = await _outcome.Task.ConfigureAwait(false); }
        catch (Exception e) { error = e; }
        _log.LogDebug("chunk buffers: {Created} of {Capacity} were needed", _session.Pool.Created, _session.Pool.Capacity);

        if (error is not null)
        {
            _log.LogDebug(error, "transfer {Id} failed", Header.TransferId);
            await PeerNotice.SendErrorAsync(Snapshot(), error is ProtocolException ? ErrorCode.Protocol : ErrorCode.Failed, TransferFailure.Describe(error)).ConfigureAwait(false);
            await _abort.CancelAsync().ConfigureAwait(false);
            foreach (var c in Snapshot()) c.Abort();
            await Sending.SendJob.StopAsync(_coordinator, ShutdownGrace).ConfigureAwait(false);
            _session.Tree.RemoveTemporaries(Header.TransferId);
        }
        else
        {
            // The sender closes after its DoneAcks; wait until each connection has read that close_notify,
            // so no socket is closed with unread data (a reset the sender would see as a failure).
            foreach (var c in Snapshot()) await c.CloseAsync().ConfigureAwait(false);
            try { await _coordinator.Ask<ReceiveCoordinator.ConnectionStopped>(ReceiveCoordinator.WhenConnectionsStopped.Instance, ShutdownGrace).ConfigureAwait(false); }
            catch (AskTimeoutException) { _log.LogDebug("transfer {Id}: connections still open after {Grace}", Header.TransferId, ShutdownGrace); }
            await Sending.SendJob.StopAsync(_coordinator, ShutdownGrace).ConfigureAwait(false);
        }
        return Summarise(result, error);
    }

    private ISecureChannel[] Snapshot()
    {
        lock (_gate) return [.. _channels];
    }

    private TransferSummary Summarise(ReceiveOutcome? r, Exception? error)
    {
        int exit = error is not null ? TransferFailure.ExitCodeOf(error) : r!.Failures > 0 || r.SenderFailures > 0 ? ExitCodes.TransferFailed
            : r.DeletionsSkipped > 0 ? ExitCodes.MaxDeleteReached : ExitCodes.Success;
        return new TransferSummary
        {
            Role = "recv",
            DryRun = _session.Tree.DryRun,
            ExitCode = exit,
            RanToEnd = error is null,
            Files = r?.Files ?? Stats.FilesDone,
            Dirs = r?.Directories ?? 0,
            Symlinks = r?.Symlinks ?? 0,
            HardLinks = r?.HardLinks ?? 0,
            Specials = r?.Specials ?? 0,
            Bytes = r?.Bytes ?? Stats.BytesDone,
            PayloadBytesSent = 0,
            FilesSkipped = r?.UpToDate ?? 0,
            FilesFailed = r?.Failures ?? 0,
            BytesResumed = Stats.BytesResumed,
            ElapsedSeconds = Math.Round(Stats.Elapsed.TotalSeconds, 3),
            Streams = Header.StreamCount,
            Crypto = TransferSummary.CryptoOf(Snapshot().Select(c => c.CryptoMode)),
            Cipher = ((Transport.Records.CipherSuite)Header.Cipher).DisplayName(),
            Error = error is not null ? TransferFailure.Describe(error)
                : r!.Failures > 0 ? $"{Entries(r.Failures)} could not be written"
                : r.SenderFailures > 0 ? $"the sender could not read {Entries(r.SenderFailures)} (see its output); they were not copied"
                : null,
            Problems = r?.Problems ?? [],
            Deleted = r?.Deleted ?? 0,
            DeletionsSkipped = r?.DeletionsSkipped ?? 0,
        };
    }

    private static string Entries(long n) => n == 1 ? "1 entry" : $"{n} entries";

    public async ValueTask DisposeAsync()
    {
        await _interrupted.DisposeAsync().ConfigureAwait(false);
        await Sending.SendJob.StopAsync(_coordinator, ShutdownGrace).ConfigureAwait(false);
        foreach (var c in Snapshot()) await c.DisposeAsync().ConfigureAwait(false);
        _session.Tree.Dispose();
        _session.Pool.Dispose();
        _abort.Dispose();
    }
}
