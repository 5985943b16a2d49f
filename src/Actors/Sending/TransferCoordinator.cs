using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using Akka.Actor;
using Akka.Routing;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// The parent of one sending transfer: it starts the stream senders, the walker, the manifest and the readers, and
/// its supervisor strategy decides for them (a broken stream is restarted with backoff within its retry budget,
/// anything else fails the transfer). It collects problems and acknowledgements, sends Done on every stream once
/// the readers are drained, and completes the outcome when a stream has its DoneAck. The first fatal event ends it.
/// </summary>
internal sealed class TransferCoordinator : UntypedActor
{
    /// <summary>
    /// Stop the transfer and tell the receiver why (Ctrl+C, SIGTERM, a failure here): reading stops at once, each
    /// stream sends an Error frame with <paramref name="Reason"/> where it can (between two sends) and closes, and the
    /// coordinator stops when its streams have. The receiver then ends its side at once, keeping what it has for the
    /// re-run, instead of waiting rejoin-grace for streams that will not come back.
    /// </summary>
    public sealed record Interrupt(string Reason);

    private readonly SenderSetup _setup;
    private readonly WalkResult _walk;
    private readonly string _source;
    private readonly bool _fileRanges;
    private readonly TaskCompletionSource<SendOutcome> _outcome;
    private readonly WalkUnit? _unit;
    private readonly List<string> _problems = [];
    private readonly Dictionary<IActorRef, int> _senders = [];
    private readonly Dictionary<IActorRef, Exception> _lastFailure = [];
    private IActorRef _manifest = ActorRefs.Nobody;
    private bool _ending, _interrupted;

    public TransferCoordinator(SenderSetup setup, string source, WalkResult walk, bool fileRanges, TaskCompletionSource<SendOutcome> outcome, WalkUnit? unit = null)
    {
        _unit = unit;
        _setup = setup;
        _source = source;
        _walk = walk;
        _fileRanges = fileRanges;
        _outcome = outcome;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case SendEvent.Problem p:
                string path = RelativePath.Printable(p.Path);
                _setup.Log.LogWarning("skipped {Path}: {Reason}", path, p.Reason);
                if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add($"{path}: {p.Reason}");
                break;
            case SendEvent.Deleted d:
                foreach (string deleted in d.Paths) _setup.Stats.Report(new TransferItem(d.DryRun ? TransferItemKind.WouldDelete : TransferItemKind.Deleted, deleted));
                break;
            case SendEvent.Acked a:
                _setup.Stats.Done(a.Files, 0);
                break;
            case SendEvent.ReadingDone:
                // Done carries exactly what was announced, kind by kind, as the readers counted it where they wrote
                // each entry's first frame: the receiver completes when it has accounted for all of them.
                var s = _setup.Stats;
                var totals = new TransferTotals(s.AnnouncedFiles, s.AnnouncedDirectories, s.AnnouncedSymlinks, _walk.Bytes, s.FailedEntries, s.AnnouncedHardLinks, s.AnnouncedSpecials);
                foreach (var sender in _senders.Keys) sender.Tell(SenderCommand.End(totals));
                break;
            // The receiver answers DoneAck only once everything is committed: one is enough. Waiting for all would let
            // a stream lost at the very end fail a finished copy.
            case SendEvent.StreamFinished f:
                Finish(new SendOutcome(f.Ack, [.. _problems]));
                break;
            case SendEvent.StreamFailed f:
                Fail(f.Error);
                break;
            case ManifestMessage m:
                _manifest.Forward(m);
                break;
            case Terminated t:
                OnTerminated(t.ActorRef);
                break;
            case Interrupt interrupt:
                OnInterrupt(interrupt);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnInterrupt(Interrupt interrupt)
    {
        _ending = _interrupted = true;
        _setup.Log.LogDebug("stopping the transfer: {Reason}", interrupt.Reason);
        foreach (var child in Context.GetChildren())
        {
            if (_senders.ContainsKey(child)) child.Tell(interrupt);
            else Context.Stop(child);
        }
        if (_senders.Count == 0) Context.Stop(Self);
    }

    protected override void PreStart()
    {
        var o = _setup.Options;
        // Kernel TLS where the kernel has it: then the streams' calls block.
        var dispatcher = ActorSyncDispatchers.ForSocket(o.Tls != TlsMode.User && SecureConnection.KernelTlsUnavailability(o.Cipher) is null);
        for (int i = 0; i < o.Streams; i++)
        {
            int index = i;
            var sender = Context.ActorOf(ActorProps.Of(() => new StreamSender(_setup, index)).WithDispatcher(dispatcher), $"sender-{index}");
            Context.Watch(sender);
            _senders[sender] = index;
        }
        var streams = new Router(new FewestQueuedRouting(_setup.Streams), [.. _senders.OrderBy(s => s.Value).Select(s => (Routee)new ActorRefRoutee(s.Key))]);
        var tree = new SourceTree(_source);
        var walker = Context.ActorOf(ActorProps.Of(() => new DirectoryWalker(_source, _walk, _setup.Stats, o, _setup.Log, _setup.Abort, _unit)).WithDispatcher(ActorSyncDispatchers.File), "walker");
        _manifest = Context.ActorOf(ActorProps.Of(() => new ManifestExchange(_setup.Pool, streams, walker, _setup.Stats, o.Checksum, o.DryRun, tree, _setup.Log))
            .WithDispatcher(ActorSyncDispatchers.File), "manifest");
        for (int i = 0; i < o.Readers; i++)
            Context.ActorOf(ActorProps.Of(() => new ChunkReader(_setup.Pool, streams, walker, _setup.Stats, tree, _fileRanges, o.PreserveAttributes, _setup.Log))
                .WithDispatcher(ActorSyncDispatchers.File), $"reader-{i}");
        walker.Tell(new DirectoryWalker.Start(_manifest));
    }

    /// <summary>Stream senders: network trouble restarts one (with backoff, within the budget), anything about
    /// secrets or protocol fails the transfer. The other children never restart: their failure is the transfer's.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new PerChildStrategy(_setup.Options.MaxRestarts,
        _setup.Options.RestartWindow == Timeout.InfiniteTimeSpan ? null : _setup.Options.RestartWindow, Decide);

    private Directive Decide(IActorRef child, Exception e)
    {
        if (_senders.ContainsKey(child) && StreamSender.Decide(e) == Directive.Restart && !_ending)
        {
            _lastFailure[child] = e;
            _setup.Log.LogDebug("stream {Index} failed, restarting: {Reason}", _senders[child], TransferFailure.Describe(e));
            return Directive.Restart;
        }
        Fail(e);
        return Directive.Stop;
    }

    private void OnTerminated(IActorRef child)
    {
        if (_interrupted)
        {
            if (_senders.Remove(child) && _senders.Count == 0) Context.Stop(Self);
            return;
        }
        if (!_senders.TryGetValue(child, out int index) || _outcome.Task.IsCompleted) return;
        Fail(_lastFailure.TryGetValue(child, out var reason)
            ? new TransferFailedException($"stream {index} gave up after its restart budget ({TransferFailure.Describe(reason)}); " +
                $"{_setup.Stats.FilesDone} of {_setup.Stats.FilesFound} files confirmed by the receiver, the rest incomplete")
            : new TransferFailedException($"stream {index} stopped before the transfer was complete"));
    }

    private void Finish(SendOutcome outcome)
    {
        _ending = true;
        _outcome.TrySetResult(outcome);
    }

    private void Fail(Exception e)
    {
        _ending = true;
        _outcome.TrySetException(e);
    }
}

internal sealed record SendOutcome(DoneAckFrame Receiver, IReadOnlyList<string> Problems);
