using System.Net;
using ActorSync.Engine;
using ActorSync.Sending;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Cluster;

/// <summary>
/// A sender node's worker: it pulls units from the job coordinator (work pulling: never more than
/// <see cref="Capacity"/> at once), sends each with the same pipeline as <c>send</c> (one directory's entries, to the
/// receiver node the coordinator chose) and reports how it went. All its units share the node's --bwlimit.
/// </summary>
internal sealed class UnitSender : UntypedActor, IWithTimers
{
    /// <summary>Units at once: two, so one unit's start (handshake, offers) overlaps another's data, and no node holds
    /// more work than it is about to do (the rest stays with the coordinator for whoever is free).</summary>
    public const int Capacity = 2;

    /// <summary>Reconnects a unit's stream tries (100 + 200 ms of backoff) before the unit fails: the coordinator sends a
    /// failed unit again, to another receiver if that one is gone, sooner than a plain transfer's patient budget would.</summary>
    private const int UnitRestarts = 2;

    /// <summary>Subdirectory names per message: at up to 4 KiB each (PATH_MAX) a batch could still pass 128 KB, but names
    /// of a few dozen bytes make ~20 KB, and a million-wide directory ~1000 messages.</summary>
    private const int SubdirectoriesPerMessage = 256;

    /// <summary>How often an idle worker asks again: a coordinator that just took over hears every sender within it.</summary>
    private static readonly TimeSpan PullEvery = TimeSpan.FromSeconds(2);

    private readonly IActorRef _coordinator;
    private readonly SharedSecret _secret;
    private readonly TransferOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly BandwidthLimit? _limit;
    private readonly ILogger _log;
    private readonly Dictionary<Guid, CancellationTokenSource> _running = [];

    public UnitSender(IActorRef coordinator, SharedSecret secret, TransferOptions options, ILoggerFactory loggers)
    {
        _coordinator = coordinator;
        _secret = secret;
        _options = options;
        _loggers = loggers;
        _limit = options.BandwidthLimit > 0 ? new BandwidthLimit(options.BandwidthLimit, options.ChunkSize) : null;
        _log = loggers.CreateLogger("actorsync.node");
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Pull();
        Timers.StartPeriodicTimer("pull", Tick.Instance, PullEvery);
    }

    protected override void PostStop()
    {
        foreach (var cancel in _running.Values) cancel.Cancel();
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Tick:
                if (_running.Count < Capacity) Pull();
                break;
            case RunUnit unit:
                Start(unit);
                break;
            case Ended e:
                _running.Remove(e.Unit.TransferId);
                foreach (var batch in e.Batches) _coordinator.Tell(batch);
                _coordinator.Tell(e.Report);
                Pull();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Pull() => _coordinator.Tell(new PullUnits(Capacity));

    private void Start(RunUnit unit)
    {
        if (_running.ContainsKey(unit.TransferId)) return;
        var cancel = new CancellationTokenSource();
        _running[unit.TransferId] = cancel;
        _log.LogInformation("unit {Unit} of job {Job}: sending {Dir}{Slice} to {Host}:{Port} as transfer {Transfer}", unit.UnitId, unit.JobId,
            (unit.Directory.Length == 0 ? "." : unit.Directory) + (unit.Then is { Length: > 0 } then ? $" and {then.Length} more small directories" : ""),
            unit.Kind switch
            {
                UnitKind.Range => $" (range {unit.RangeIndex + 1} of {unit.Ranges})",
                UnitKind.Finish => " (finishing it: what no range confirmed, its metadata, its name)",
                _ => unit.Slice < 0 ? " (its metadata, after its slices and large files)" : unit.Slices <= 1 ? "" : $" (slice {unit.Slice + 1} of {unit.Slices})",
            },
            unit.ReceiverHost, unit.ReceiverPort, unit.TransferId);
        var self = Self;
        var system = Context.System;
        var options = _options with { Streams = unit.Streams, MaxRestarts = Math.Min(_options.MaxRestarts, UnitRestarts) };
        // A range's (or finishing) unit offers its whole file: --checksum would hash all of it for every range, and the
        // directory's unit has already decided, by checksum, that the file is to be sent.
        if (unit.Kind != UnitKind.Directory) options = options with { Checksum = false };
        // A unit whose transfer cannot even start (its actors refused, say a host configuration without ActorSync's
        // dispatchers) fails for good, with the reason, instead of staying "running" for ever.
        Task.Run(() => RunAsync(system, unit, options, cancel.Token)).PipeTo(self, failure: e => new Ended(unit,
            new UnitFailed(unit.JobId, unit.UnitId, unit.TransferId, $"the unit's transfer could not start on {system.Name}: {e.GetBaseException().Message}",
                ReceiverLost: false, Fatal: true)));
    }

    private async Task<Ended> RunAsync(ActorSystem system, RunUnit unit, TransferOptions options, CancellationToken ct)
    {
        if (!Directory.Exists(unit.Source))
            return new Ended(unit, new UnitFailed(unit.JobId, unit.UnitId, unit.TransferId, $"SRC {unit.Source} is not a directory on this node", false, Fatal: true));
        var endpoint = new IPEndPoint(IPAddress.Parse(unit.ReceiverHost), unit.ReceiverPort);
        var walk = unit.Kind == UnitKind.Directory
            ? new WalkUnit(unit.Directory, unit.Slice, unit.Slices, unit.RangesAbove) { Then = unit.Then ?? [], ByteBudget = unit.ByteBudget }
            : new WalkUnit(unit.Directory, OneFile: true);
        var job = new SendJob(system, unit.Source, endpoint, _secret, options, _loggers, new TransferStats(), walk, unit.TransferId, _limit);
        var summary = await job.RunAsync(ct).ConfigureAwait(false);
        if (summary.RanToEnd)
        {
            if (job.Deferred.Length > 0)
                _log.LogInformation("unit {Unit} of job {Job}: its files reached the batch's byte budget; {Left} of its directories left to other units",
                    unit.UnitId, unit.JobId, job.Deferred.Length);
            // The subdirectories and large files go in batches ahead of the UnitDone (the proxy keeps their order), the
            // last subdirectories with it.
            var names = job.Subdirectories;
            var entries = job.SubdirectoryEntries;
            var batches = new List<UnitSubdirectories>();
            for (int large = 0; large < job.LargeFiles.Count; large += SubdirectoriesPerMessage)
            {
                var files = job.LargeFiles.Skip(large).Take(SubdirectoriesPerMessage).ToArray();
                batches.Add(new UnitSubdirectories(unit.JobId, unit.TransferId, [], [], [.. files.Select(f => f.Path)], [.. files.Select(f => f.Size)]));
            }
            int from = 0;
            for (; names.Count - from > SubdirectoriesPerMessage; from += SubdirectoriesPerMessage)
                batches.Add(new UnitSubdirectories(unit.JobId, unit.TransferId, [.. names.Skip(from).Take(SubdirectoriesPerMessage)],
                    [.. entries.Skip(from).Take(SubdirectoriesPerMessage)]));
            return new Ended(unit, new UnitDone(unit.JobId, unit.UnitId, unit.TransferId, summary, [.. names.Skip(from)], [.. entries.Skip(from)], job.Deferred), batches);
        }
        var failure = job.Failure;
        bool fatal = failure is AuthenticationException or IncompatiblePeerException or PipelineStoppedException;
        bool busy = failure is TransferFailedException && summary.Error?.Contains("busy", StringComparison.Ordinal) == true;
        return new Ended(unit, new UnitFailed(unit.JobId, unit.UnitId, unit.TransferId, summary.Error ?? "failed", ReceiverLost: !fatal && !busy, Fatal: fatal, summary.WireBytes));
    }

    private sealed record Ended(RunUnit Unit, object Report, IReadOnlyList<UnitSubdirectories> Batches)
    {
        public Ended(RunUnit unit, object report) : this(unit, report, []) { }
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
