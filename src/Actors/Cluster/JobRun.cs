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
    /// <summary>A unit: one directory's entries (or a slice of them, or its own metadata: slice -1), or one range of a
    /// large file (<see cref="Directory"/> is then the file's path), or the finish of one. Attempts count its failed
    /// tries; Avoid is the receiver it failed on.</summary>
    public sealed class Unit(long id, string directory, int slice, int slices, UnitKind kind = UnitKind.Directory, int rangeIndex = 0, int ranges = 0,
        (string Name, int Entries)[]? batch = null)
    {
        /// <summary>A unit of small directories: all of them (<see cref="Directory"/> first), with their entry counts.</summary>
        public (string Name, int Entries)[]? Batch { get; } = batch;
        public string[]? Then => Batch is null ? null : [.. Batch.Skip(1).Select(b => b.Name)];
        public long Id { get; } = id;
        public string Directory { get; } = directory;
        public int Slice { get; } = slice;
        public int Slices { get; } = slices;
        public UnitKind Kind { get; } = kind;
        public int RangeIndex { get; } = rangeIndex;
        public int Ranges { get; } = ranges;
        /// <summary>What tells this unit's work area apart: the directory, and its slice when it is split.</summary>
        public string Key => Batch is not null ? string.Join('\0', Batch.Select(b => b.Name)) + "\0+"
            : Slice == 0 && Slices <= 1 ? Directory : $"{Directory}\0{Slice}/{Slices}";
        public int Attempts { get; set; }
        public IActorRef? Avoid { get; set; }
        public IActorRef? Prefer { get; set; }
        public DateTime NotBefore { get; set; }
    }

    public sealed record InFlight(Unit Unit, IActorRef Sender, IActorRef Receiver)
    {
        /// <summary>Subdirectories reported ahead of the unit's end; they become units once it is confirmed.</summary>
        public List<(string Name, int Entries)> Found { get; } = [];

        /// <summary>Large files it left to ranges, likewise.</summary>
        public List<(string Path, long Size)> Large { get; } = [];
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

    /// <summary>What a directory's own metadata unit (slice -1) still waits for: its slices, and its large files'
    /// finishing units (each puts the file into the directory, which changes its mtime).</summary>
    private readonly Dictionary<string, int> _metadataWaits = new(StringComparer.Ordinal);

    /// <summary>Ranges of a large file still to be confirmed, by its path.</summary>
    private readonly Dictionary<string, int> _rangesLeft = new(StringComparer.Ordinal);

    public void Enqueue(string directory, int slice = 0, int slices = 1) => Queued.Enqueue(new Unit(_nextUnit++, directory, slice, slices));

    /// <summary>Entries a unit of small directories holds at most: a handshake and its connections (~10 ms here) are
    /// then a few percent of the unit's work, and a node's two units still leave work for the others.</summary>
    public const int BatchEntries = 1000;

    /// <summary>Directories per unit at most, so its names stay one small message.</summary>
    public const int BatchDirectories = 128;

    /// <summary>Units kept queued per sender slot before small directories are batched to the full: batching must not
    /// leave the other senders idle while one walks a batch.</summary>
    private const int UnitsPerSlot = 4;

    /// <summary>
    /// Directories a unit found: each big one a unit of its own (or slices), the small ones in units of several, by
    /// entry count (<see cref="BatchEntries"/>, <see cref="BatchDirectories"/>) but into at least as many units as keep
    /// <see cref="UnitsPerSlot"/> per sender slot queued (<paramref name="slots"/>), so parallelism comes first.
    /// </summary>
    public void EnqueueDirectories(IReadOnlyList<(string Name, int Entries)> found, int perUnit, int slots)
    {
        var small = new List<(string Name, int Entries)>();
        foreach (var f in found)
        {
            if (f.Entries + 1 > BatchEntries) EnqueueDirectory(f.Name, f.Entries, perUnit);
            else small.Add(f);
        }
        if (small.Count == 0) return;
        long total = small.Sum(f => f.Entries + 1L);
        int batches = (int)Math.Max(Math.Max((total + BatchEntries - 1) / BatchEntries, (small.Count + BatchDirectories - 1) / BatchDirectories),
            Math.Min(small.Count, Math.Max(0, UnitsPerSlot * slots - Queued.Count)));
        long entriesEach = (total + batches - 1) / batches;
        int countEach = (small.Count + batches - 1) / batches;
        var batch = new List<(string Name, int Entries)>();
        long entries = 0;
        foreach (var f in small)
        {
            if (batch.Count > 0 && (entries + f.Entries + 1 > entriesEach || batch.Count >= countEach)) Flush();
            batch.Add(f);
            entries += f.Entries + 1;
        }
        Flush();

        void Flush()
        {
            if (batch.Count == 1) Enqueue(batch[0].Name);
            else if (batch.Count > 1) Queued.Enqueue(new Unit(_nextUnit++, batch[0].Name, 0, 1, batch: [.. batch]));
            batch.Clear();
            entries = 0;
        }
    }

    /// <summary>A large file a unit of <paramref name="directory"/> left to ranges: one unit per range of
    /// <paramref name="rangeBytes"/>; once all are confirmed, a unit that finishes the file.</summary>
    public void EnqueueRanges(string directory, string path, long size, long rangeBytes)
    {
        int ranges = (int)Math.Max(1, (size + rangeBytes - 1) / rangeBytes);
        _rangesLeft[path] = ranges;
        _metadataWaits[directory] = _metadataWaits.GetValueOrDefault(directory) + 1;
        for (int k = 0; k < ranges; k++) Queued.Enqueue(new Unit(_nextUnit++, path, 0, 1, UnitKind.Range, k, ranges));
    }

    /// <summary>A directory found by a unit: one unit, or slices of about <paramref name="perUnit"/> entries each.</summary>
    public void EnqueueDirectory(string directory, int entries, int perUnit)
    {
        int slices = (int)Math.Min(MaxSlices, (entries + (long)perUnit - 1) / perUnit);
        if (slices <= 1)
        {
            Enqueue(directory);
            return;
        }
        _metadataWaits[directory] = _metadataWaits.GetValueOrDefault(directory) + slices;
        for (int k = 0; k < slices; k++) Enqueue(directory, k, slices);
    }

    /// <summary>
    /// A unit is confirmed (its large files already queued in ranges): the last range of a file lets its finishing
    /// unit go; a directory's last slice or large file lets its own entry (mode, mtime) go, last of all.
    /// </summary>
    public void Confirmed(Unit unit)
    {
        switch (unit.Kind)
        {
            case UnitKind.Range when _rangesLeft.TryGetValue(unit.Directory, out int left):
                if (left > 1) _rangesLeft[unit.Directory] = left - 1;
                else
                {
                    _rangesLeft.Remove(unit.Directory);
                    Queued.Enqueue(new Unit(_nextUnit++, unit.Directory, 0, 1, UnitKind.Finish, FileRangeUnitFinish, unit.Ranges));
                }
                break;
            case UnitKind.Finish:
                Release(Transport.Frames.RelativePath.Split(unit.Directory).Parent);
                break;
            case UnitKind.Directory when unit.Slices > 1 && unit.Slice >= 0:
                Release(unit.Directory);
                break;
        }
    }

    private const int FileRangeUnitFinish = Receiving.FileRangeUnit.FinishIndex;

    private void Release(string directory)
    {
        if (!_metadataWaits.TryGetValue(directory, out int waits)) return;
        if (waits > 1) _metadataWaits[directory] = waits - 1;
        else
        {
            _metadataWaits.Remove(directory);
            // SRC itself sends no entry of its own (DEST keeps its mode and mtime, as with send), so nothing is left to do;
            // a walk of "" is SRC's listing, which would report every subdirectory again.
            if (directory.Length > 0) Enqueue(directory, -1, 1);
        }
    }

    /// <summary>Slices per directory at most: 1,000 units of 10,000 entries cover a directory of ten million.</summary>
    private const int MaxSlices = 1000;

    /// <summary>Bytes a failed attempt put on the wire count too: the job's wire total is what crossed.</summary>
    public void AddWasted(long wireBytes) => _wire += wireBytes;

    /// <summary>A confirmed unit's figures. A range's unit offers (and, if it is up to date, skips) the whole file, and
    /// is told the rest of the file is held: only its bytes on the wire count; its file, once, is the finishing unit's,
    /// whose kept ranges are no resume either.</summary>
    public void Add(string node, TransferSummary s, int subdirectories, UnitKind kind)
    {
        if (kind != UnitKind.Directory) s = s with { BytesResumed = 0 };
        // A range that failed on its file (read, fsync, marker) leaves its bytes to the finishing unit, which sends
        // what no range confirmed and alone says whether the file made it.
        if (kind == UnitKind.Range) s = s with { Files = 0, Bytes = 0, FilesSkipped = 0, FilesFailed = 0, ExitCode = ExitCodes.Success, Problems = [] };
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
