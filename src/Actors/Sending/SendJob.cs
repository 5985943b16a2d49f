using System.Net;
using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Wires and runs the sending pipeline of one transfer:
/// DirectoryWalker -> ChunkReader pool -> (smallest-mailbox router) -> StreamSender per connection,
/// with a TransferCoordinator collecting acknowledgements and problems.
/// </summary>
internal sealed class SendJob(string source, EndPoint endpoint, SharedSecret secret, TransferOptions options, ILoggerFactory loggers, TransferStats stats)
{
    /// <summary>Time to let actors drain and close connections politely once the outcome is known.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    public async Task<TransferSummary> RunAsync(CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("actorsync.send");
        ActorSyncEngine.LogCryptoChoice(log, options);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var outcome = new TaskCompletionSource<SendOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var pool = new BufferPool(options.ChunkSize, options.BufferCount);
        var cryptoModes = new string[options.Streams];
        var walk = new WalkResult();
        var transferId = Guid.NewGuid();
        await using var system = new ActorSystem("send", loggers);
        system.UnhandledFailure += (_, e) => outcome.TrySetException(e);

        var coordinator = system.Spawn(new Props<SendEvent>
        {
            Factory = () => new TransferCoordinator(options.Streams, stats, outcome),
            Name = "coordinator",
            MailboxCapacity = 4096,
            Supervisor = SupervisorStrategy.EscalatingStrategy,
        });
        var manifestBox = new System.Runtime.CompilerServices.StrongBox<IActorRef<ManifestMessage>?>();
        var streamStates = Enumerable.Range(0, options.Streams).Select(_ => new StreamState()).ToArray();
        var setup = new SenderSetup(endpoint, secret, options, transferId, pool, stats, coordinator, manifestBox, streamStates, cryptoModes, abort.Token);
        var senders = new List<IActorRef<SenderCommand>>(options.Streams);
        for (int i = 0; i < options.Streams; i++)
        {
            int index = i;
            senders.Add(system.Spawn(new Props<SenderCommand>
            {
                Factory = () => new StreamSender(setup, index),
                Name = $"sender-{index}",
                MailboxCapacity = options.SenderMailbox,
                // A broken connection is reconnected with backoff; what was in flight is re-sent from the
                // stream's own record (StreamState), so the failed message is not redelivered on top of it.
                Supervisor = SupervisorStrategy.Restart(options.MaxRestarts, options.MinBackoff, options.MaxBackoff, within: options.RestartWindow == Timeout.InfiniteTimeSpan ? null : options.RestartWindow, decider: StreamSender.Decide),
            }));
        }
        await coordinator.TellAsync(new SendEvent.WatchStreams(senders), abort.Token).ConfigureAwait(false);
        var streams = Router.SmallestMailbox(senders, "/user/streams");
        // sendfile only pays off where the kernel seals the records; on userspace streams ranges are read as before.
        bool fileRanges = options.FileRangesForTests || options.Sendfile && options.Tls != TlsMode.User && SecureConnection.KernelTlsUnavailability(options.Cipher) is null;
        var tree = new SourceTree(source);
        var readers = system.Spawn(new Props<ReadWork>
        {
            Factory = () => new ChunkReader(pool, streams, coordinator, stats, tree, fileRanges, options.PreserveAttributes, abort.Token),
            Name = "reader",
            MailboxCapacity = options.ReaderMailbox,
            PoolSize = options.Readers,
            Supervisor = SupervisorStrategy.EscalatingStrategy,
        });
        using var window = new SemaphoreSlim(ManifestExchange.Window, ManifestExchange.Window);
        var manifest = system.Spawn(new Props<ManifestMessage>
        {
            Factory = () => new ManifestExchange(pool, streams, readers, window, stats, options.Checksum, tree, abort.Token),
            Name = "manifest",
            // Never full, so a Tell into it never blocks: the reply loops that bring answers also bring the
            // StreamAcks that free pooled buffers, and must not wait behind a manifest that waits for the
            // readers, which wait for buffers (a cycle). Offers are bounded by the window, answers by the offers.
            MailboxCapacity = 2 * ManifestExchange.Window + 64,
            Supervisor = SupervisorStrategy.EscalatingStrategy,
        });
        manifestBox.Value = manifest;
        var walker = system.Spawn(new Props<DirectoryWalker.Start>
        {
            Factory = () => new DirectoryWalker(source, readers, manifest, window, coordinator, walk, stats, options, abort.Token),
            Name = "walker",
            MailboxCapacity = 1,
            Supervisor = SupervisorStrategy.EscalatingStrategy,
        });

        try
        {
            var pipeline = PumpAsync(walker, manifest, readers, senders, coordinator, walk, abort.Token);
            // The outcome may fail (auth, broken stream) while the pipeline is still pumping: whichever ends first.
            var first = await Task.WhenAny(pipeline, outcome.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (first == pipeline) await pipeline.ConfigureAwait(false);
            var result = await outcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            await system.ShutdownAsync(ShutdownGrace).ConfigureAwait(false);
            ReleaseKept(streamStates, pool);
            return Summarise(result, walk, cryptoModes, null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = outcome.Task.IsFaulted ? outcome.Task.Exception!.InnerException! : e;
            log.LogDebug(error, "transfer failed");
            await abort.CancelAsync().ConfigureAwait(false);
            await system.ShutdownAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            ReleaseKept(streamStates, pool);
            return Summarise(null, walk, cryptoModes, error);
        }
    }

    /// <summary>Chunks still kept for a possible re-send hold open source files: close them.</summary>
    private static void ReleaseKept(StreamState[] streams, BufferPool pool)
    {
        foreach (var s in streams) s.ReleaseAll(pool);
    }

    private async Task PumpAsync(IActorRef<DirectoryWalker.Start> walker, IActorRef<ManifestMessage> manifest, IActorRef<ReadWork> readers,
        List<IActorRef<SenderCommand>> senders, IActorRef<SendEvent> coordinator, WalkResult walk, CancellationToken abort)
    {
        await walker.TellAsync(default, abort).ConfigureAwait(false);
        walker.Complete();
        await walker.Completion.ConfigureAwait(false);
        await manifest.TellAsync(new ManifestMessage.Flush(), abort).ConfigureAwait(false);
        // Every offer answered (the receiver is reading: no timeout but the transfer's own), then the readers drain.
        var (upToDate, _) = await manifest.AskAsync<ManifestMessage, (long, long)>(r => new ManifestMessage.WhenDrained(r), Timeout.InfiniteTimeSpan, abort).ConfigureAwait(false);
        readers.Complete();
        await readers.Completion.ConfigureAwait(false);
        var totals = await coordinator.AskAsync<SendEvent, TransferTotals>(r => new SendEvent.TotalsRequest(r, walk, upToDate), TimeSpan.FromSeconds(30), abort).ConfigureAwait(false);
        foreach (var sender in senders) await sender.TellAsync(SenderCommand.End(totals), abort).ConfigureAwait(false);
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
            : ExitCodes.Success;
        string? message = error is not null ? TransferFailure.Describe(error)
            : result!.Receiver.Failures > 0 ? ReceiverFailures(result.Receiver)
            : failed > 0 ? $"{failed} entr{(failed == 1 ? "y" : "ies")} could not be sent (unreadable, vanished or changed while read)"
            : null;
        return new TransferSummary
        {
            Role = "send",
            ExitCode = exit,
            RanToEnd = error is null,
            // What went whole: announced (header written), and not dropped again because the source changed.
            Files = stats.AnnouncedFiles - stats.AbortedFiles,
            Dirs = stats.AnnouncedDirectories,
            Symlinks = stats.AnnouncedSymlinks,
            HardLinks = stats.AnnouncedHardLinks,
            Specials = stats.AnnouncedSpecials,
            Bytes = walk.Bytes,
            PayloadBytesSent = stats.PayloadBytesSent,
            WireBytes = stats.WireBytes,
            FilesSkipped = stats.UpToDateFiles,
            FilesFailed = failed,
            BytesResumed = stats.BytesResumed,
            ElapsedSeconds = Math.Round(stats.Elapsed.TotalSeconds, 3),
            Streams = options.Streams,
            Crypto = TransferSummary.CryptoOf(cryptoModes.Where(m => m is not null)),
            SendfileBytes = stats.SendfileBytes,
            SendfileRanges = stats.SendfileRanges,
            Cipher = options.Cipher.DisplayName(),
            Error = message,
            Problems = problems,
        };
    }
}
