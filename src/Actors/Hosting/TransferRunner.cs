using System.Net;
using ActorSync.Engine;
using Akka.Actor;

namespace ActorSync.Hosting;

/// <summary>
/// Runs one requested transfer through the engine's Task facade and reports it to the requester: started,
/// progress on a timer (and a last snapshot before the end), completed. Stopping the runner (a cancel, the
/// system shutting down) cancels the transfer; the engine leaves DEST as after any interruption, resumable.
/// </summary>
internal sealed class TransferRunner : UntypedActor, IWithTimers
{
    /// <summary>Progress when the request names no interval: often enough for a bar, rare enough to cost nothing.</summary>
    private static readonly TimeSpan DefaultProgressEvery = TimeSpan.FromSeconds(1);

    private readonly Guid _id;
    private readonly IActorRef _requester;
    private readonly TimeSpan _progressEvery;
    private readonly Func<TransferRunner, CancellationToken, Task<TransferSummary?>> _run;
    private readonly CancellationTokenSource _cancel = new();
    private TransferStats? _stats;
    private IActorRef _self = ActorRefs.Nobody;
    private bool _completed;

    public TransferRunner(Guid id, IActorRef requester, TimeSpan? progressEvery, Func<TransferRunner, CancellationToken, Task<TransferSummary?>> run)
    {
        _id = id;
        _requester = requester;
        _progressEvery = progressEvery ?? DefaultProgressEvery;
        _run = run;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Started m:
                _requester.Tell(new TransferStarted(_id, m.ListeningOn));
                if (_progressEvery > TimeSpan.Zero) Timers.StartPeriodicTimer("progress", Tick.Instance, _progressEvery);
                break;
            case Tick:
                ReportProgress();
                break;
            case Served m:
                _requester.Tell(new TransferCompleted(_id, m.Summary, Final: false));
                break;
            case Ended m:
                Complete(m);
                break;
            case CancelTransfer:
                _cancel.Cancel();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props ForSend(Guid id, ActorSyncEngine engine, StartSend m, IActorRef requester)
    {
        Func<TransferRunner, CancellationToken, Task<TransferSummary?>> run = async (self, ct) =>
        {
            self.Announce(null);
            return await engine.SendAsync(m.Source, m.Host, m.Port, m.Secret, m.Options, self.NewStats(), ct).ConfigureAwait(false);
        };
        return ActorProps.Of(() => new TransferRunner(id, requester, m.ProgressEvery, run));
    }

    public static Props ForReceive(Guid id, ActorSyncEngine engine, StartReceive m, IActorRef requester)
    {
        Func<TransferRunner, CancellationToken, Task<TransferSummary?>> run = (self, ct) =>
        {
            System.Net.Sockets.Socket listener;
            try { listener = ActorSyncEngine.Listen(m.Listen.Address, m.Listen.Port); }
            catch (System.Net.Sockets.SocketException e)
            {
                return Task.FromResult<TransferSummary?>(new TransferSummary
                    { Role = "recv", ExitCode = ExitCodes.Usage, Error = $"cannot listen on {m.Listen}: {e.Message}" });
            }
            self.Announce((IPEndPoint)listener.LocalEndPoint!);
            return engine.ReceiveAsync(m.Destination, listener, m.Secret, m.Serve, m.Options, self.NewStats,
                summary => self._self.Tell(new Served(summary)), ct);
        };
        return ActorProps.Of(() => new TransferRunner(id, requester, m.ProgressEvery, run));
    }

    protected override void PreStart()
    {
        var self = _self = Self;
        var token = _cancel.Token;
        // The engine's calls are Tasks: their result comes back as a message, nothing blocks this actor.
        Task.Run(() => _run(this, token)).ContinueWith(t => (object)new Ended(t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException()),
            TaskScheduler.Default).PipeTo(self);
    }

    protected override void PostStop()
    {
        _cancel.Cancel();
        if (!_completed)
            _requester.Tell(new TransferCompleted(_id, new TransferSummary { Role = "unknown", ExitCode = ExitCodes.TransferFailed, Error = "the transfer's actor stopped before it ended" }));
        // Not disposed: the transfer's task may still be winding down on its token.
    }

    // Called from the transfer's task, before the engine runs: only a Tell crosses to the actor.
    private void Announce(IPEndPoint? listeningOn) => _self.Tell(new Started(listeningOn));

    /// <summary>The stats the engine fills; a --serve receive makes one per transfer, the latest is reported.</summary>
    private TransferStats NewStats()
    {
        var stats = new TransferStats();
        Volatile.Write(ref _stats, stats);
        return stats;
    }

    private void ReportProgress()
    {
        if (Volatile.Read(ref _stats) is not { } s) return;
        _requester.Tell(new TransferProgress(_id, s.FilesDone, s.FilesFound, s.BytesDone, s.BytesFound, s.WalkComplete, s.Elapsed));
    }

    private void Complete(Ended m)
    {
        var summary = m.Summary ?? new TransferSummary
        {
            Role = "unknown",
            ExitCode = ExitCodes.TransferFailed,
            Error = m.Failure is OperationCanceledException || _cancel.IsCancellationRequested ? "cancelled" : $"failed: {m.Failure?.Message ?? "no summary"}",
        };
        Timers.CancelAll();
        ReportProgress();
        _requester.Tell(new TransferCompleted(_id, summary));
        _completed = true;
        Context.Stop(Self);
    }

    private sealed record Started(IPEndPoint? ListeningOn);

    private sealed record Served(TransferSummary Summary);

    private sealed record Ended(TransferSummary? Summary, Exception? Failure);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
