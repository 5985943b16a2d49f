using ActorSync.Engine;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Microsoft.Extensions.Logging;

namespace ActorSync.Cluster;

/// <summary>
/// The cluster's job coordinator, one for the whole cluster (a cluster singleton: it moves to another node when its
/// own is lost). It splits each job into units, one directory's entries each, which sender nodes pull (work pulling)
/// and walk themselves; each unit it sends to the receiver node with the fewest units in flight. A unit reports the
/// subdirectories it found, which become units of their own, so no single machine walks the tree. Units of a lost
/// node, or whose data streams broke, are sent again (elsewhere when the receiver was the trouble); a unit is
/// idempotent at the receiver (temporary + rename, the quick check). Jobs are recorded in DistributedData: a
/// coordinator that takes over starts the unfinished ones again from SRC, and their receivers skip what is there.
/// </summary>
internal sealed class JobCoordinator : UntypedActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Tries per unit before the job fails: a few lost nodes and a busy receiver or two, not a broken DEST.</summary>
    private const int MaxAttempts = 8;

    /// <summary>Finished jobs whose outcome is kept for clients asking late (and in the replicated record).</summary>
    private const int FinishedKept = 256;

    /// <summary>Progress to each job's watchers; also when units held back for a busy receiver go out again.</summary>
    private static readonly TimeSpan TickEvery = TimeSpan.FromSeconds(1);

    /// <summary>A receiver a unit's streams could not reach gets no units for this long (or until the cluster downs it).</summary>
    private static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(10);

    /// <summary>A receiver that said "busy" (all its unit slots taken) is asked again after this.</summary>
    private static readonly TimeSpan BusyRetry = TimeSpan.FromSeconds(1);

    /// <summary>Replicated writes and reads of the job records wait this long for a majority.</summary>
    private static readonly TimeSpan Majority = TimeSpan.FromSeconds(3);

    /// <summary>Job records by id ("N" format: the replicator's serializer takes string keys).</summary>
    public static readonly LWWDictionaryKey<string, JobRecord> JobsKey = new("actorsync-jobs");

    private sealed class SenderNode
    {
        public int Capacity;
        public int InFlight;
        /// <summary>A receiver lost its streams: it may be dead, so it gets no units until it is heard from again.</summary>
        public bool Suspect;
    }

    private sealed class ReceiverNode(string host, int port)
    {
        public string Host = host;
        public int Port = port;
        public int InFlight;
        public DateTime SuspectUntil;
    }

    private readonly Dictionary<Guid, JobRun> _jobs = [];
    private readonly Dictionary<Guid, JobStatus> _finished = [];
    private readonly Queue<Guid> _finishedOrder = new();
    private readonly Dictionary<IActorRef, SenderNode> _senders = [];
    private readonly Dictionary<IActorRef, ReceiverNode> _receivers = [];
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly UniqueAddress _self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;
    private readonly TransferOptions _options;
    private readonly ILogger _log;
    private bool _loaded;

    public JobCoordinator(TransferOptions options, ILogger log)
    {
        _options = options;
        _log = log;
    }

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    protected override void PreStart()
    {
        _log.LogInformation("job coordinator running on this node");
        _replicator.Tell(Dsl.Get(JobsKey, new ReadMajority(Majority)));
        Timers.StartPeriodicTimer("tick", Tick.Instance, TickEvery);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case GetSuccess g when g.Key.Equals(JobsKey):
                Load(g.Get(JobsKey));
                break;
            case NotFound or GetFailure:
                if (message is GetFailure) _log.LogWarning("could not read the job records from a majority; starting with what this node has");
                if (message is GetFailure) _replicator.Tell(Dsl.Get(JobsKey, ReadLocal.Instance));
                else Load(null);
                break;
            case SubmitJob or JobStatusRequest when !_loaded:
                Stash.Stash();
                break;
            case SubmitJob submit:
                Submit(submit);
                break;
            case Recorded r:
                Start(r.Record, r.Requester, restarted: false);
                break;
            case UpdateSuccess or UpdateTimeout or ModifyFailure or StoreFailure:
                if (message is IUpdateResponse { Request: Recorded rec })
                {
                    if (message is not UpdateSuccess) _log.LogWarning("job {Job}: recorded on this node only so far ({Why})", rec.Record.JobId, message.GetType().Name);
                    if (rec.Record.Outcome is null) Self.Tell(rec);
                }
                break;
            case JobStatusRequest req:
                OnStatusRequest(req);
                break;
            case RunningJobsRequest:
                Sender.Tell(_jobs.Values.Select(r =>
                {
                    var s = r.Status(final: false);
                    return new RunningJob(r.Id, r.Record.Source, r.Record.Destination, s.UnitsDone, s.UnitsQueued, s.UnitsRunning, s.Summary.Files, s.Summary.Bytes, s.Summary.ElapsedSeconds);
                }).ToArray());
                break;
            case PullUnits pull:
                if (!_senders.TryGetValue(Sender, out var sender))
                {
                    _senders[Sender] = sender = new SenderNode();
                    Context.Watch(Sender);
                }
                sender.Capacity = pull.Capacity;
                sender.Suspect = false;
                Assign();
                break;
            case ReceiverReady ready:
                OnReceiverReady(ready);
                break;
            case JobPrepared p:
                if (_jobs.TryGetValue(p.JobId, out var prepared)) prepared.Prepared.Add(Sender);
                Assign();
                break;
            case JobRefused r:
                OnRefused(r);
                break;
            case UnitSubdirectories b:
                if (_jobs.TryGetValue(b.JobId, out var found) && found.Running.TryGetValue(b.TransferId, out var running))
                {
                    for (int i = 0; i < b.Subdirectories.Length; i++) running.Found.Add((b.Subdirectories[i], i < b.Entries.Length ? b.Entries[i] : 0));
                    for (int i = 0; i < (b.LargeFiles?.Length ?? 0); i++) running.Large.Add((b.LargeFiles![i], i < (b.LargeSizes?.Length ?? 0) ? b.LargeSizes![i] : 0));
                }
                break;
            case UnitDone d:
                Heard(Sender);
                OnUnitDone(d);
                break;
            case UnitFailed f:
                Heard(Sender);
                OnUnitFailed(f);
                break;
            case UnitInterrupted i:
                OnUnitInterrupted(i);
                break;
            case Terminated t:
                OnTerminated(t.ActorRef);
                break;
            case Tick:
                foreach (var run in _jobs.Values) Report(run, final: false);
                Assign();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Load(LWWDictionary<string, JobRecord>? records)
    {
        if (_loaded) return;
        _loaded = true;
        foreach (var record in records?.Entries.Values ?? Enumerable.Empty<JobRecord>())
        {
            if (record.Outcome is { } outcome) Remember(outcome);
            else
            {
                _log.LogInformation("job {Job}: taking it over; walking {Src} again (the receivers skip what they have)", record.JobId, record.Source);
                Start(record, null, restarted: true);
            }
        }
        Stash.UnstashAll();
    }

    private void Submit(SubmitJob submit)
    {
        if (submit.JobId is { } known)
        {
            if (_jobs.ContainsKey(known))
            {
                Start(_jobs[known].Record, Sender, restarted: false);
                return;
            }
            if (_finished.TryGetValue(known, out var outcome))
            {
                Sender.Tell(new JobAccepted(known));
                Sender.Tell(outcome);
                return;
            }
        }
        if (!Path.IsPathFullyQualified(submit.Source) || !Path.IsPathFullyQualified(submit.Destination))
        {
            Sender.Tell(Refusal(submit.JobId ?? Guid.Empty, "SRC and DEST must be absolute paths (every node resolves them alike)"));
            return;
        }
        // Job ids differ in their first 4 bytes among the jobs this coordinator knows: the receivers tell jobs apart by them.
        bool Clashes(Guid candidate) => _jobs.Keys.Concat(_finished.Keys).Any(j => j != candidate && JobTransferId.JobPrefix(j) == JobTransferId.JobPrefix(candidate));
        Guid id = submit.JobId ?? Guid.NewGuid();
        if (submit.JobId is not null && Clashes(id))
        {
            Sender.Tell(Refusal(id, "the job id's first 4 bytes are those of another job; submit it with another id"));
            return;
        }
        while (Clashes(id)) id = Guid.NewGuid();
        int streams = submit.Streams is > 0 and <= 128 ? submit.Streams.Value : _options.Streams;
        var record = new JobRecord(id, submit.Source, submit.Destination, streams, null, _options.UnitRangeBytes);
        _replicator.Tell(Dsl.Update(JobsKey, LWWDictionary<string, JobRecord>.Empty, new WriteMajority(Majority), new Recorded(record, Sender),
            d => d.SetItem(_self, id.ToString("N"), record)));
    }

    private void Start(JobRecord record, IActorRef? requester, bool restarted)
    {
        bool running = _jobs.TryGetValue(record.JobId, out var run);
        if (!running) _jobs[record.JobId] = run = new JobRun(record);
        if (requester is not null && !requester.IsNobody())
        {
            run!.Watchers.Add(requester);
            requester.Tell(new JobAccepted(record.JobId));
            if (running) requester.Tell(Progress(run));
        }
        if (running) return;
        if (!restarted) _log.LogInformation("job {Job}: {Src} -> {Dest}, {Streams} streams per unit", record.JobId, record.Source, record.Destination, record.Streams);
        run!.Enqueue("");
        foreach (var receiver in _receivers.Keys) receiver.Tell(new PrepareJob(record.JobId, record.Destination, record.RangeBytes));
        Assign();
        // The submitter hears where its job stands at once, not only at the next tick: a job shorter than a tick
        // still reports that it started (unless it has already ended, when its final status went out instead).
        if (requester is not null && !requester.IsNobody() && _jobs.TryGetValue(record.JobId, out var live) && live == run) requester.Tell(Progress(run));
    }

    private void OnReceiverReady(ReceiverReady ready)
    {
        if (_receivers.TryGetValue(Sender, out var known))
        {
            (known.Host, known.Port) = (ready.DataHost, ready.DataPort);
            return;
        }
        _receivers[Sender] = new ReceiverNode(ready.DataHost, ready.DataPort);
        Context.Watch(Sender);
        _log.LogInformation("receiver {Node}: data port {Host}:{Port}", Sender.Path.Address, ready.DataHost, ready.DataPort);
        foreach (var run in _jobs.Values) Sender.Tell(new PrepareJob(run.Id, run.Record.Destination, run.Record.RangeBytes));
    }

    private void OnRefused(JobRefused r)
    {
        if (!_jobs.TryGetValue(r.JobId, out var run)) return;
        _log.LogWarning("job {Job}: receiver {Node} refused it: {Reason}", r.JobId, Sender.Path.Address, r.Reason);
        run.Refused[Sender] = r.Reason;
        if (_receivers.Keys.All(run.Refused.ContainsKey)) Fail(run, $"no receiver node can take the job: {r.Reason}");
    }

    /// <summary>Hands queued units to senders with room, each to the least loaded receiver ready for its job.</summary>
    private void Assign()
    {
        var now = DateTime.UtcNow;
        foreach (var (senderRef, sender) in _senders)
        {
            while (!sender.Suspect && sender.InFlight < sender.Capacity && Next(now) is var (run, unit, receiverRef))
            {
                var receiver = _receivers[receiverRef];
                var transfer = (unit.Kind == UnitKind.Directory ? JobTransferId.For(run.Id, unit.Key)
                    : JobTransferId.ForRange(run.Id, unit.Directory, unit.Kind == UnitKind.Finish ? Receiving.FileRangeUnit.FinishIndex : unit.RangeIndex)).ToGuid();
                run.Running[transfer] = new JobRun.InFlight(unit, senderRef, receiverRef);
                sender.InFlight++;
                receiver.InFlight++;
                senderRef.Tell(new RunUnit(run.Id, unit.Id, transfer, run.Record.Source, unit.Directory, receiver.Host, receiver.Port, run.Record.Streams,
                    unit.Slice, unit.Slices, unit.Kind, run.Record.RangeBytes, unit.RangeIndex, unit.Ranges, unit.Then, unit.Batch is null ? 0 : _options.UnitBatchBytes));
            }
        }
    }

    /// <summary>The next unit that can go now, and its receiver; jobs take turns (the first job's queue first, for now).</summary>
    private (JobRun, JobRun.Unit, IActorRef)? Next(DateTime now)
    {
        foreach (var run in _jobs.Values)
        {
            if (run.FatalError is not null) continue;
            for (int i = 0; i < run.Queued.Count; i++)
            {
                var unit = run.Queued.Dequeue();
                if (unit.NotBefore <= now && PickReceiver(run, unit, now) is { } receiver) return (run, unit, receiver);
                run.Queued.Enqueue(unit);
            }
        }
        return null;
    }

    private IActorRef? PickReceiver(JobRun run, JobRun.Unit unit, DateTime now)
    {
        IActorRef? best = null;
        int bestLoad = int.MaxValue;
        foreach (var (r, node) in _receivers)
        {
            if (!run.Prepared.Contains(r) || node.SuspectUntil > now || r.Equals(unit.Avoid)) continue;
            // The receiver a lost sender was sending to is alive, and the new attempt there takes the old one's place at once.
            int load = r.Equals(unit.Prefer) ? -1 : node.InFlight;
            if (load < bestLoad) (best, bestLoad) = (r, load);
        }
        // Only the receiver that failed it is left: it may have been a passing fault, try it again.
        if (best is null && unit.Avoid is { } avoided && run.Prepared.Contains(avoided) && _receivers.TryGetValue(avoided, out var a) && a.SuspectUntil <= now) best = avoided;
        return best;
    }

    private JobRun.InFlight? Settle(Guid job, Guid transfer, out JobRun? run)
    {
        if (!_jobs.TryGetValue(job, out run) || !run.Running.Remove(transfer, out var flight)) return null;
        if (_senders.TryGetValue(flight.Sender, out var s)) s.InFlight--;
        if (_receivers.TryGetValue(flight.Receiver, out var r)) r.InFlight--;
        return flight;
    }

    private void OnUnitDone(UnitDone d)
    {
        if (Settle(d.JobId, d.TransferId, out var run) is not { } flight) return;
        var node = Sender.Path.Address.HasLocalScope ? Akka.Cluster.Cluster.Get(Context.System).SelfAddress : Sender.Path.Address;
        run!.Add(node.ToString(), d.Summary, flight.Found.Count + d.Subdirectories.Length, flight.Unit.Kind);
        var found = flight.Found;
        for (int i = 0; i < d.Subdirectories.Length; i++) found.Add((d.Subdirectories[i], i < d.Entries.Length ? d.Entries[i] : 0));
        // A batch's directories it did not get to go again, to whoever is free.
        foreach (string deferred in d.Deferred ?? [])
            if (flight.Unit.Batch?.FirstOrDefault(b => b.Name == deferred) is { Name: not null } known) found.Add(known);
        run.EnqueueDirectories(found, _options.UnitEntries, Math.Max(2, _senders.Values.Sum(s => s.Capacity)));
        if (flight.Unit.Kind == UnitKind.Directory && run.Record.RangeBytes > 0)
            foreach (var (path, size) in flight.Large) run.EnqueueRanges(Transport.Frames.RelativePath.Split(path).Parent, path, size, run.Record.RangeBytes);
        run.Confirmed(flight.Unit);
        if (run.Complete) Finish(run);
        else Assign();
    }

    private void OnUnitFailed(UnitFailed f)
    {
        if (Settle(f.JobId, f.TransferId, out var run) is not { } flight) return;
        run!.AddWasted(f.WireBytes);
        var unit = flight.Unit;
        if (f.Fatal)
        {
            Fail(run, f.Reason);
            return;
        }
        if (++unit.Attempts >= MaxAttempts)
        {
            Fail(run, $"{Printable(unit.Directory)} could not be sent in {MaxAttempts} attempts; the last: {f.Reason}");
            return;
        }
        _log.LogWarning("job {Job}: unit {Dir} failed ({Reason}); sending it again", run.Id, Printable(unit.Directory), f.Reason);
        if (f.ReceiverLost)
        {
            unit.Avoid = flight.Receiver;
            if (_receivers.TryGetValue(flight.Receiver, out var r)) r.SuspectUntil = DateTime.UtcNow + SuspectFor;
        }
        else unit.NotBefore = DateTime.UtcNow + BusyRetry;
        Requeue(run, unit);
    }

    /// <summary>A data stream of a unit broke at its receiver: its sender is likely gone (the cluster would take ~8 s
    /// more to say so). The unit goes again at once, to the same receiver, where the new attempt replaces the old.</summary>
    private void OnUnitInterrupted(UnitInterrupted i)
    {
        uint job = JobTransferId.Of(i.TransferId).Job;
        if (_jobs.Values.FirstOrDefault(r => JobTransferId.JobPrefix(r.Id) == job) is not { } owner
            || Settle(owner.Id, i.TransferId, out var run) is not { } flight) return;
        _log.LogWarning("job {Job}: unit {Dir} lost a stream at its receiver; sending it again", run!.Id, Printable(flight.Unit.Directory));
        flight.Unit.Prefer = flight.Receiver;
        if (_senders.TryGetValue(flight.Sender, out var sender)) sender.Suspect = true;
        if (++flight.Unit.Attempts >= MaxAttempts)
        {
            Fail(run, $"{Printable(flight.Unit.Directory)} could not be sent in {MaxAttempts} attempts; its streams kept breaking");
            return;
        }
        Requeue(run, flight.Unit);
    }

    private void Heard(IActorRef sender)
    {
        if (_senders.TryGetValue(sender, out var node)) node.Suspect = false;
    }

    private void Requeue(JobRun run, JobRun.Unit unit)
    {
        run.UnitsRetried++;
        run.Queued.Enqueue(unit);
        Assign();
    }

    private void OnTerminated(IActorRef actor)
    {
        if (_senders.Remove(actor))
        {
            _log.LogWarning("sender {Node} is gone; its units go to the others", actor.Path.Address);
            foreach (var run in _jobs.Values)
                foreach (var (transfer, flight) in run.Running.Where(f => f.Value.Sender.Equals(actor)).ToArray())
                {
                    run.Running.Remove(transfer);
                    if (_receivers.TryGetValue(flight.Receiver, out var r)) r.InFlight--;
                    flight.Unit.Prefer = flight.Receiver;
                    flight.Unit.Attempts++;
                    Requeue(run, flight.Unit);
                }
        }
        if (_receivers.Remove(actor))
        {
            // Its units' senders see their streams break and report them (sooner than the cluster downs a node).
            _log.LogWarning("receiver {Node} is gone", actor.Path.Address);
            foreach (var run in _jobs.Values)
            {
                run.Prepared.Remove(actor);
                run.Refused.Remove(actor);
            }
        }
        Assign();
    }

    private void OnStatusRequest(JobStatusRequest req)
    {
        if (_jobs.TryGetValue(req.JobId, out var run))
        {
            run.Watchers.Add(Sender);
            Sender.Tell(Progress(run));
        }
        else Sender.Tell(_finished.TryGetValue(req.JobId, out var outcome) ? outcome : Refusal(req.JobId, $"the cluster knows no job {req.JobId}", JobStatus.Unknown));
    }

    private void Fail(JobRun run, string reason)
    {
        run.FatalError ??= reason;
        Finish(run);
    }

    private void Finish(JobRun run)
    {
        _jobs.Remove(run.Id);
        var outcome = run.Status(final: true);
        _log.LogInformation("job {Job}: {State}, {Units} units, {Files} files sent, {Skipped} already there{Error}", run.Id, outcome.State,
            outcome.UnitsDone, outcome.Summary.Files, outcome.Summary.FilesSkipped, outcome.Summary.Error is { } e ? $": {e}" : "");
        Remember(outcome);
        foreach (var w in run.Watchers) w.Tell(outcome);
        var record = run.Record with { Outcome = outcome };
        _replicator.Tell(Dsl.Update(JobsKey, LWWDictionary<string, JobRecord>.Empty, new WriteMajority(Majority), new Recorded(record, ActorRefs.Nobody),
            d => Trimmed(d.SetItem(_self, run.Id.ToString("N"), record))));
    }

    /// <summary>The record keeps the running jobs and the newest finished ones.</summary>
    private LWWDictionary<string, JobRecord> Trimmed(LWWDictionary<string, JobRecord> d)
    {
        foreach (var (id, r) in d.Entries.ToArray())
            if (r.Outcome is not null && !_finished.ContainsKey(r.JobId)) d = d.Remove(_self, id);
        return d;
    }

    private void Remember(JobStatus outcome)
    {
        if (_finished.TryAdd(outcome.JobId, outcome)) _finishedOrder.Enqueue(outcome.JobId);
        while (_finishedOrder.Count > FinishedKept) _finished.Remove(_finishedOrder.Dequeue());
    }

    private void Report(JobRun run, bool final)
    {
        var status = final ? run.Status(final) : Progress(run);
        foreach (var w in run.Watchers) w.Tell(status);
    }

    /// <summary>A running job's status, saying what it waits for when it has work and nobody to do it: without that
    /// a job submitted to a cluster with no receiver (or sender) member up would just sit at zero.</summary>
    private JobStatus Progress(JobRun run)
    {
        var status = run.Status(final: false);
        if (run.Queued.Count == 0 || run.Running.Count > 0) return status;
        string? waiting = _receivers.Count == 0 ? "no receiver node is up (a node with --role receiver or both)"
            : _senders.Count == 0 ? "no sender node is up (a node with --role sender or both)"
            : null;
        return waiting is null ? status : status with { Waiting = waiting };
    }

    private static JobStatus Refusal(Guid job, string reason, string state = JobStatus.Failed) => new(job, state, true,
        new TransferSummary { Role = "job", ExitCode = ExitCodes.Usage, Error = reason }, 0, 0, 0, 0, []);

    private static string Printable(string directory) => directory.Length == 0 ? "SRC itself" : Transport.Frames.RelativePath.Printable(directory);

    private sealed record Recorded(JobRecord Record, IActorRef Requester);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
