using System.Net;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Runs the sending pipeline of one transfer as a <see cref="TransferCoordinator"/> (the transfer's parent actor:
/// walker, readers, manifest, a StreamSender per connection) in <paramref name="system"/>, and turns its outcome
/// into the summary.
/// </summary>
/// <remarks>A cluster job's unit names what it walks (<paramref name="unit"/>), its transfer id (which tells the
/// receiving node the job) and the node's bandwidth cap, shared by all its units.</remarks>
internal sealed class SendJob(ActorSystem system, string source, EndPoint endpoint, SharedSecret secret, TransferOptions options, ILoggerFactory loggers, TransferStats stats,
    WalkUnit? unit = null, Guid? transferId = null, BandwidthLimit? sharedLimit = null)
{
    /// <summary>A unit's walk: the subdirectories it found and left to units of their own (after <see cref="RunAsync"/>).</summary>
    public IReadOnlyList<string> Subdirectories => _walk.Subdirectories ?? [];

    /// <summary>How many entries each of <see cref="Subdirectories"/> holds.</summary>
    public IReadOnlyList<int> SubdirectoryEntries => _walk.SubdirectoryEntries ?? [];

    /// <summary>A unit's walk: the large files it left to be sent in ranges (after <see cref="RunAsync"/>).</summary>
    public IReadOnlyList<(string Path, long Size)> LargeFiles => _walk.LargeFiles ?? [];

    /// <summary>A unit's walk: the directories of its batch it left to other units (after <see cref="RunAsync"/>).</summary>
    public string[] Deferred => _walk.Deferred ?? [];

    private readonly WalkResult _walk = new();

    /// <summary>Why the transfer stopped, when it did not run to its end.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Time to let actors drain and close connections politely once the outcome is known.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    /// <summary>How long the streams have to tell the receiver why the transfer stops: a send under way finishes
    /// first, each notice has half a second to go out and two for the receiver to read up to it.</summary>
    private static readonly TimeSpan NoticeGrace = TimeSpan.FromSeconds(3);

    /// <summary>After a failure: long enough for the actors to stop, not for polite closes.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(2);

    public async Task<TransferSummary> RunAsync(CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("actorsync.send");
        ActorSyncEngine.LogCryptoChoice(log, options);
        // Not linked to the caller's token: a cancelled transfer first tells the receiver why (InterruptAsync), then aborts.
        using var abort = new CancellationTokenSource();
        var outcome = new TaskCompletionSource<SendOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var pool = new BufferPool(options.ChunkSize, options.SenderBufferCount);
        var cryptoModes = new string[options.Streams];
        var walk = _walk;
        var id = transferId ?? Guid.NewGuid();
        var streamStates = Enumerable.Range(0, options.Streams).Select(_ => new StreamState()).ToArray();
        stats.UseStreams(options.Streams);
        var setup = new SenderSetup(endpoint, secret, options, id, pool, stats, streamStates, cryptoModes, log, abort.Token, sharedLimit);
        // sendfile only pays off where the kernel seals the records; on userspace streams ranges are read as before.
        bool fileRanges = options.FileRangesForTests || options.Sendfile && options.Tls != TlsMode.User && SecureConnection.KernelTlsUnavailability(options.Cipher) is null;
        var coordinator = system.ActorOf(ActorProps.Of(() => new TransferCoordinator(setup, source, walk, fileRanges, outcome, unit)), $"send-{id:N}");
        // The pipeline's parent stopped with no outcome (it could not create its actors: a host whose configuration
        // lacks ActorSync's dispatchers): the transfer fails, where it would otherwise wait for ever.
        _ = coordinator.WatchAsync().ContinueWith(_ => outcome.TrySetException(new PipelineStoppedException(
            "the transfer's actors stopped before it ended (see the log for why: an actor that could not be created?)")), TaskScheduler.Default);
        try
        {
            var result = await outcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            log.LogDebug("chunk buffers: {Created} of {Capacity} were needed", pool.Created, pool.Capacity);
            await StopAsync(coordinator, ShutdownGrace).ConfigureAwait(false);
            await ReleaseKeptAsync(streamStates, pool).ConfigureAwait(false);
            return Summarise(result, walk, cryptoModes, null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            log.LogDebug(e, "transfer failed");
            Failure = e;
            await InterruptAsync(coordinator, TransferFailure.Describe(e), abort).ConfigureAwait(false);
            await ReleaseKeptAsync(streamStates, pool).ConfigureAwait(false);
            return Summarise(null, walk, cryptoModes, e);
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested)
            {
                await InterruptAsync(coordinator, TransferFailure.Interrupted, abort).ConfigureAwait(false);
                await ReleaseKeptAsync(streamStates, pool).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Stops the transfer, telling the receiver why on the streams that can still say it (bounded by
    /// <see cref="NoticeGrace"/>), then aborts whatever is left and waits, bounded, for the actors to stop.
    /// </summary>
    private static async Task InterruptAsync(IActorRef transfer, string reason, CancellationTokenSource abort)
    {
        var stopped = transfer.WatchAsync();
        transfer.Tell(new TransferCoordinator.Interrupt(reason));
        await ((Task)stopped).WaitAsync(NoticeGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await abort.CancelAsync().ConfigureAwait(false);
        await StopAsync(transfer, AbortGrace).ConfigureAwait(false);
    }

    /// <summary>Stops the transfer's actors (children first) and waits, bounded, until they have.</summary>
    internal static async Task StopAsync(IActorRef transfer, TimeSpan grace)
    {
        try { await transfer.GracefulStop(grace).ConfigureAwait(false); }
        catch (TaskCanceledException) { }
        catch (AskTimeoutException) { }
    }

    /// <summary>Once the actors are stopped: their connections' closes are waited for (bounded), and chunks still
    /// kept for a possible re-send, which hold open source files, are let go.</summary>
    private static async Task ReleaseKeptAsync(StreamState[] streams, BufferPool pool)
    {
        var closing = streams.Select(s => s.Closing).OfType<Task>().ToArray();
        await Task.WhenAll(closing).WaitAsync(ShutdownGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var s in streams) s.ReleaseAll(pool);
    }

    private static string ReceiverFailures(DoneAckFrame ack) => ack.Problems.Count == 0
        ? $"the receiver could not write {ack.Failures} entr{(ack.Failures == 1 ? "y" : "ies")}; see its log"
        : $"the receiver could not write {ack.Failures} entr{(ack.Failures == 1 ? "y" : "ies")}, first {ack.Problems[0]}";

    private TransferSummary Summarise(SendOutcome? result, WalkResult walk, string[] cryptoModes, Exception? error)
    {
        // The receiver's own problems (a full disk, a path in the way) are listed too: the user runs the sender.
        var problems = result is null ? [] : result.Problems.Concat(result.Receiver.Problems.Select(p => $"receiver: {p}")).ToList();
        long failed = stats.FailedEntries;
        int exit = error is not null ? TransferFailure.ExitCodeOf(error)
            : failed > 0 || result!.Receiver.Failures > 0 ? ExitCodes.TransferFailed
            : result.Receiver.DeletionsSkipped > 0 ? ExitCodes.MaxDeleteReached
            : ExitCodes.Success;
        string? message = error is not null ? TransferFailure.Describe(error)
            : result!.Receiver.Failures > 0 ? ReceiverFailures(result.Receiver)
            : failed > 0 ? $"{failed} entr{(failed == 1 ? "y" : "ies")} could not be sent (unreadable, vanished or changed while read)"
            : result.Receiver.DeletionsSkipped > 0 ? $"--max-delete {options.MaxDelete} reached: {result.Receiver.DeletionsSkipped} more entr{(result.Receiver.DeletionsSkipped == 1 ? "y" : "ies")} not deleted"
            : null;
        return new TransferSummary
        {
            Role = "send",
            ExitCode = exit,
            RanToEnd = error is null,
            // What went whole: announced (header written), and not dropped again because the source changed.
            Files = options.DryRun ? stats.WouldSendFiles : stats.AnnouncedFiles - stats.AbortedFiles,
            Dirs = stats.AnnouncedDirectories,
            Symlinks = stats.AnnouncedSymlinks,
            HardLinks = stats.AnnouncedHardLinks,
            Specials = stats.AnnouncedSpecials,
            Bytes = options.DryRun ? stats.WouldSendBytes : walk.Bytes,
            DryRun = options.DryRun,
            PayloadBytesSent = stats.PayloadBytesSent,
            WireBytes = stats.WireBytes,
            FilesSkipped = stats.UpToDateFiles,
            FilesFailed = failed,
            BytesResumed = stats.BytesResumed,
            ElapsedSeconds = Math.Round(stats.Elapsed.TotalSeconds, 3),
            FirstDataSeconds = stats.FirstPayloadAfter is { } first ? Math.Round(first.TotalSeconds, 3) : null,
            StartedSeconds = stats.StartedAfterProcessStart is { } started ? Math.Round(started.TotalSeconds, 3) : null,
            Streams = options.Streams,
            Crypto = TransferSummary.CryptoOf(cryptoModes.Where(m => m is not null)),
            SendfileBytes = stats.SendfileBytes,
            SendfileRanges = stats.SendfileRanges,
            Cipher = options.Cipher.DisplayName(),
            Deleted = result?.Receiver.Deleted ?? 0,
            DeletionsSkipped = result?.Receiver.DeletionsSkipped ?? 0,
            Error = message,
            Problems = problems,
        };
    }
}
