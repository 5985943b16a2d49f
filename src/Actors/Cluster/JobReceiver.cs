using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Receiving;
using ActorSync.Transport.Handshake;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Cluster;

/// <summary>
/// A receiver node's worker: it serves the node's data port (the same authenticated, encrypted record streams as
/// <c>recv</c>), tells the job coordinator where that port is, and learns from it which job writes into which DEST.
/// A transfer whose id names no job prepared here is refused before anything is written.
/// </summary>
internal sealed class JobReceiver : UntypedActor, IWithTimers
{
    /// <summary>How often the worker says it is there: a coordinator that just took over hears every receiver within it.</summary>
    public static readonly TimeSpan AnnounceEvery = TimeSpan.FromSeconds(2);

    /// <summary>Units received at once. Each holds its own buffers (~10 MiB with the defaults); a sender node runs
    /// <see cref="UnitSender.Capacity"/> at a time, so this serves 8 sender nodes before one is told "busy" and retries.</summary>
    public const int MaxUnits = 16;

    /// <summary>A unit whose sender vanished is sent again by another: waiting a minute for the lost one to come back,
    /// as a plain transfer does, would only hold the unit's work area.</summary>
    private static readonly TimeSpan UnitRejoinGrace = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<uint, (string Destination, long RangeBytes)> _jobs = new();
    private readonly IActorRef _coordinator;
    private readonly Socket _listener;
    private readonly ReceiverReady _ready;
    private readonly CancellationTokenSource _stop = new();
    private readonly ReceiveServer _server;
    private readonly ILogger _log;

    public JobReceiver(IActorRef coordinator, Socket listener, IPEndPoint advertised, SharedSecret secret, TransferOptions options, ILoggerFactory loggers)
    {
        _coordinator = coordinator;
        _listener = listener;
        _ready = new ReceiverReady(advertised.Address.ToString(), advertised.Port);
        _log = loggers.CreateLogger("actorsync.node");
        var unitOptions = options with
        {
            MaxTransfers = Math.Max(options.MaxTransfers, MaxUnits),
            RejoinGrace = options.RejoinGrace < UnitRejoinGrace ? options.RejoinGrace : UnitRejoinGrace,
        };
        var log = _log;
        var coordinatorRef = coordinator;
        _server = new ReceiveServer(Context.System, "", secret, unitOptions, loggers, () => new TransferStats(),
            s => { if (s.ExitCode != ExitCodes.Success) log.LogInformation("a unit ended here unfinished: {Error}", s.Error); }, Route,
            transfer => coordinatorRef.Tell(new UnitInterrupted(transfer)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        var log = _log;
        _ = _server.RunAsync(_listener, serve: true, _stop.Token).ContinueWith(
            t => log.LogError(t.Exception?.GetBaseException(), "the data port stopped"), TaskContinuationOptions.OnlyOnFaulted);
        _coordinator.Tell(_ready);
        Timers.StartPeriodicTimer("announce", _ready, AnnounceEvery);
    }

    protected override void PostStop() => _stop.Cancel();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ReceiverReady r:
                _coordinator.Tell(r);
                break;
            case PrepareJob p:
                Sender.Tell(Prepare(p));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private object Prepare(PrepareJob p)
    {
        if (!Path.IsPathFullyQualified(p.Destination)) return new JobRefused(p.JobId, $"DEST \"{p.Destination}\" is not an absolute path");
        try { Directory.CreateDirectory(p.Destination); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new JobRefused(p.JobId, $"cannot create {p.Destination} on {Context.System.Name}@{_ready.DataHost}: {e.Message}");
        }
        if (_jobs.TryAdd(JobTransferId.JobPrefix(p.JobId), (p.Destination, p.RangeBytes)))
            _log.LogInformation("job {Job}: receiving into {Dest}", p.JobId, p.Destination);
        return new JobPrepared(p.JobId);
    }

    /// <summary>Called by the data port's server for every new transfer id: the job's DEST and the unit's work area.</summary>
    private (ReceiveTarget?, string) Route(Guid transfer)
    {
        var id = JobTransferId.Of(transfer);
        if (!_jobs.TryGetValue(id.Job, out var job)) return (null, $"no job here sends transfer {transfer}");
        var range = id.RangeIndex is int index ? new FileRangeUnit(index, job.RangeBytes) : (FileRangeUnit?)null;
        return range is { Finishes: false, RangeBytes: <= 0 }
            ? (null, $"transfer {transfer} is a range of a job sent without ranges")
            : (new ReceiveTarget(job.Destination, id.Scope, range), "");
    }
}
