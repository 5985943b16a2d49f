using ActorSync.Engine;
using Akka.Actor;

namespace ActorSync.Cluster;

/// <summary>
/// One job as its coordinator runs it: the units still to send, those in flight, and the figures of those done. The
/// coordinator's alone (not shared with any other actor); rebuilt from the job's record by a coordinator that takes
/// over, which starts the walk again from SRC and lets the receivers' quick check skip what is already there.
/// </summary>
internal sealed class JobRun(JobRecord record)
{
    /// <summary>A unit: one directory's entries. Attempts count its failed tries; Avoid is the receiver it failed on.</summary>
    public sealed class Unit(long id, string directory, int slice, int slices)
    {
        public long Id { get; } = id;
        public string Directory { get; } = directory;
        public int Slice { get; } = slice;
        public int Slices { get; } = slices;
        /// <summary>What tells this unit's work area apart: the directory, and its slice when it is split.</summary>
        public string Key => Slices <= 1 ? Directory : $"{Directory}\0{Slice}/{Slices}";
        public int Attempts { get; set; }
        public IActorRef? Avoid { get; set; }
        public IActorRef? Prefer { get; set; }
        public DateTime NotBefore { get; set; }
    }

    public sealed record InFlight(Unit Unit, IActorRef Sender, IActorRef Receiver)
    {
        /// <summary>Subdirectories reported ahead of the unit's end; they become units once it is confirmed.</summary>
        public List<(string Name, int Entries)> Found { get; } = [];
    }

    private readonly Dictionary<string, JobNodeFigures> _nodes = [];
    private readonly List<string> _problems = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private long _nextUnit;
    private long _files, _dirs, _symlinks, _hardLinks, _specials, _bytes, _payload, _wire, _skipped, _failed, _resumed;
    private string _crypto = "", _cipher = "";
    private string? _firstError;

    public JobRecord Record { get; } = record;
    public Guid Id => Record.JobId;
    public Queue<Unit> Queued { get; } = new();
    public Dictionary<Guid, InFlight> Running { get; } = [];
    public HashSet<IActorRef> Prepared { get; } = [];
    public Dictionary<IActorRef, string> Refused { get; } = [];
    public HashSet<IActorRef> Watchers { get; } = [];
    public long UnitsDone { get; private set; }
    public long UnitsRetried { get; set; }
    public string? FatalError { get; set; }

    public bool Complete => Queued.Count == 0 && Running.Count == 0;

    /// <summary>Slices of split directories still to be confirmed, by directory.</summary>
    public Dictionary<string, int> SlicesLeft { get; } = new(StringComparer.Ordinal);

    public void Enqueue(string directory, int slice = 0, int slices = 1) => Queued.Enqueue(new Unit(_nextUnit++, directory, slice, slices));

    /// <summary>A directory found by a unit: one unit, or slices of about <paramref name="perUnit"/> entries each.</summary>
    public void EnqueueDirectory(string directory, int entries, int perUnit)
    {
        int slices = (int)Math.Min(MaxSlices, (entries + (long)perUnit - 1) / perUnit);
        if (slices <= 1)
        {
            Enqueue(directory);
            return;
        }
        SlicesLeft[directory] = slices;
        for (int k = 0; k < slices; k++) Enqueue(directory, k, slices);
    }

    /// <summary>A slice is confirmed: after the last one, the directory's own entry (mode, mtime) goes, last of all.</summary>
    public void SliceDone(Unit unit)
    {
        if (unit.Slices <= 1 || unit.Slice < 0 || !SlicesLeft.TryGetValue(unit.Directory, out int left)) return;
        if (left > 1) SlicesLeft[unit.Directory] = left - 1;
        else
        {
            SlicesLeft.Remove(unit.Directory);
            Enqueue(unit.Directory, -1, unit.Slices);
        }
    }

    /// <summary>Slices per directory at most: 1,000 units of 10,000 entries cover a directory of ten million.</summary>
    private const int MaxSlices = 1000;

    /// <summary>Bytes a failed attempt put on the wire count too: the job's wire total is what crossed.</summary>
    public void AddWasted(long wireBytes) => _wire += wireBytes;

    public void Add(string node, TransferSummary s, int subdirectories)
    {
        UnitsDone++;
        _files += s.Files;
        _dirs += subdirectories;
        _symlinks += s.Symlinks;
        _hardLinks += s.HardLinks;
        _specials += s.Specials;
        _bytes += s.Bytes;
        _payload += s.PayloadBytesSent;
        _wire += s.WireBytes;
        _skipped += s.FilesSkipped;
        _failed += s.FilesFailed;
        _resumed += s.BytesResumed;
        _crypto = _crypto.Length == 0 || _crypto == s.Crypto ? s.Crypto : "mixed";
        if (_cipher.Length == 0) _cipher = s.Cipher;
        if (s.ExitCode != ExitCodes.Success) _firstError ??= s.Error;
        foreach (var p in s.Problems)
            if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add(p);
        var n = _nodes.TryGetValue(node, out var was) ? was : new JobNodeFigures(node, 0, 0, 0, 0, 0);
        _nodes[node] = n with
        {
            Units = n.Units + 1, Files = n.Files + s.Files, Bytes = n.Bytes + s.Bytes,
            PayloadBytesSent = n.PayloadBytesSent + s.PayloadBytesSent, WireBytes = n.WireBytes + s.WireBytes,
        };
    }

    public JobStatus Status(bool final)
    {
        int exit = FatalError is not null || _failed > 0 || _firstError is not null ? ExitCodes.TransferFailed : ExitCodes.Success;
        string? error = FatalError ?? _firstError ?? (_failed > 0 ? $"{_failed} entr{(_failed == 1 ? "y" : "ies")} could not be copied" : null);
        var summary = new TransferSummary
        {
            Role = "job",
            ExitCode = final ? exit : ExitCodes.Success,
            RanToEnd = final && FatalError is null,
            Files = _files, Dirs = _dirs, Symlinks = _symlinks, HardLinks = _hardLinks, Specials = _specials,
            Bytes = _bytes, PayloadBytesSent = _payload, WireBytes = _wire, FilesSkipped = _skipped, FilesFailed = _failed,
            BytesResumed = _resumed, ElapsedSeconds = Math.Round(_clock.Elapsed.TotalSeconds, 3), Streams = Record.Streams,
            Crypto = _crypto.Length == 0 ? "none" : _crypto, Cipher = _cipher, Error = final ? error : null, Problems = _problems.ToArray(),
        };
        string state = !final ? JobStatus.Running : exit == ExitCodes.Success ? JobStatus.Done : JobStatus.Failed;
        return new JobStatus(Id, state, final, summary, UnitsDone, Queued.Count, Running.Count, UnitsRetried,
            [.. _nodes.Values.OrderBy(n => n.Node, StringComparer.Ordinal)]);
    }
}
