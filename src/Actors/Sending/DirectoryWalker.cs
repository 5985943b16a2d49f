using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Walks the source tree depth-first, a slice of entries per message: files to the manifest (offered before they
/// are read), everything else, and the files the receiver needs, into a queue the readers pull batches from.
/// Directories are read with getdents64 and their entries looked at relative to the directory's descriptor, so
/// names are the kernel's bytes and no path is resolved twice. The walk holds one open listing per level of the
/// path it is on, parked while it is deeper down: memory follows the tree's depth, not its width. Names of an
/// inode already sent become hard links (rsync -H).
/// Flow control: the walk goes on while the manifest has offer credits left (files offered and not answered
/// stay under <see cref="ManifestExchange.Window"/>) and the readers' queue is under the walk-ahead; every answer
/// and every pull lets it go on. At the end it drains the readers and tells the coordinator.
/// </summary>
internal sealed class DirectoryWalker : UntypedActor
{
    /// <summary>Begins the walk; offers go to <paramref name="Manifest"/>.</summary>
    public sealed record Start(IActorRef Manifest);

    /// <summary>The manifest's word on <paramref name="Answers"/> offers: their credits come back, the needed files go to the readers.</summary>
    public sealed record Answered(int Answers, ReadWork[]? Needed);

    /// <summary>Every offer is answered; <paramref name="UpToDate"/> of them were already at the receiver.</summary>
    public sealed record ManifestDrained(long UpToDate);

    private sealed record Continue
    {
        public static readonly Continue Instance = new();
    }

    /// <summary>Entries looked at per message: long enough to amortise the message, short enough that pulls and
    /// answers are not kept waiting behind a huge directory.</summary>
    private const int EntriesPerTurn = 256;

    /// <summary>Items per batch handed to a reader: one message per many small files, yet a spread over all readers.</summary>
    private const int MaxBatch = 64;

    private sealed class Level(DirectoryListing listing, string relative, string full) : IDisposable
    {
        public readonly DirectoryListing Listing = listing;
        public readonly string Relative = relative;
        public readonly string Full = full;
        public void Dispose() => Listing.Dispose();
    }

    /// <summary>A multiply linked inode seen once already: its other names link to the first.</summary>
    private sealed class FirstName(string path, long size, FileTime mtime, uint namesLeft)
    {
        public readonly string Path = path;
        public readonly long Size = size;
        public readonly FileTime MTime = mtime;
        public uint NamesLeft = namesLeft;
    }

    private readonly string _root;
    private readonly WalkResult _result;
    private readonly TransferStats _stats;
    private readonly TransferOptions _options;
    private readonly ILogger _log;
    private readonly CancellationToken _abort;
    private readonly IActorRef _coordinator;
    /// <summary>A cluster job's unit: the one directory (relative to the root) whose entries this walk sends, without
    /// entering its subdirectories; null walks the whole tree.</summary>
    private string? _unit;
    /// <summary>A slice of a huge unit directory: its non-directory entries whose names hash to <see cref="_slice"/>
    /// of <see cref="_slices"/> (<see cref="UnitSlice"/>); slice 0 also creates and reports the subdirectories, and the
    /// directory's own entry (mode, mtime) is left to a last unit of slice -1, which sends nothing else.</summary>
    private readonly int _slice, _slices;
    /// <summary>A unit of one file (a range of it, or its finish): that file alone is offered and sent.</summary>
    private readonly bool _oneFile;
    /// <summary>Files above this many bytes (0: none) are left to units of ranges when the receiver needs them.</summary>
    private readonly long _rangesAbove;
    /// <summary>Ids of the offered files that may go in ranges (large, and not a hard link's first name).</summary>
    private readonly HashSet<ulong> _rangeable = [];
    /// <summary>A unit of small directories: those still to walk after the one at hand, while the budget lasts.</summary>
    private readonly Queue<string> _then = new();
    private readonly long _byteBudget;

    // Only inodes with names still to come are remembered: an entry goes once all its links are seen, so the
    // table follows the hard links not yet closed, not the tree (links leading outside the tree stay).
    private readonly Dictionary<(uint, uint, ulong), FirstName> _linked = [];
    private ulong _nextFileId = 1;
    private readonly Stack<Level> _levels = new();
    private readonly Queue<ReadWork> _ready = new();
    private readonly Queue<IActorRef> _idle = new();
    /// <summary>Files found in this slice of the walk: one message to the manifest per slice, not per file.</summary>
    private readonly List<ReadWork> _offers = [];
    private IActorRef _manifest = ActorRefs.Nobody;
    private int _offerCredits = ManifestExchange.Window;
    private bool _walking, _walkDone;
    /// <summary>--files-from: the list being read (null once read to the end, or without one), the directories sent
    /// so far (a listed file's parents go first, once), the directory of the previous entry (lists are mostly grouped
    /// by directory, so it is usually the next one's too), and the previous entry (duplicates in a row are dropped).</summary>
    private StreamReader? _listed;
    private readonly HashSet<string> _listedDirectories = [];
    private Level? _listRoot, _listParent;
    private string? _previousListed;
    private readonly FilterRules? _filter;
    private long? _upToDate;
    private int _drained;

    /// <summary>Levels that keep their listing buffer (32 KiB) while the walk is deeper: the usual tree is shallower,
    /// and parking copies what is left of a listing. Deeper levels park, so memory stays bounded by depth.</summary>
    private const int ParkBeyond = 8;

    /// <summary>d_type of a directory (DT_DIR).</summary>
    private const byte DirectoryType = 4;

    /// <summary>Deepest the walk went (levels held at once): what its memory follows. For tests.</summary>
    internal int MaxLevels { get; private set; }

    /// <summary>Most entries queued for the readers at once. For tests.</summary>
    internal int MaxQueued { get; private set; }

    public DirectoryWalker(string root, WalkResult result, TransferStats stats, TransferOptions options, ILogger log, CancellationToken abort,
        WalkUnit? unit = null)
    {
        _unit = unit?.Path;
        _slice = unit?.Slice ?? 0;
        _slices = unit?.Slices ?? 1;
        _oneFile = unit?.OneFile ?? false;
        _rangesAbove = unit?.RangesAbove ?? 0;
        foreach (string next in unit?.Then ?? []) _then.Enqueue(next);
        _byteBudget = unit?.ByteBudget ?? 0;
        if (unit is not null)
        {
            result.Subdirectories = [];
            result.SubdirectoryEntries = [];
            result.LargeFiles = [];
        }
        _root = root;
        _filter = options.Filter is { IsEmpty: false } f && unit is null ? f : null;
        _result = result;
        _stats = stats;
        _options = options;
        _log = log;
        _abort = abort;
        _coordinator = Context.Parent;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start start:
                OnStart(start);
                break;
            case Continue:
                Walk();
                break;
            case ReadProtocol.Pull:
                _idle.Enqueue(Sender);
                // Nothing for it yet: what it has packed goes now, not when more work comes (a kill meanwhile would lose it).
                if (_ready.Count == 0 && !ReadingComplete) Sender.Tell(ReadProtocol.Flush.Instance);
                Dispatch();
                break;
            case Answered a:
                _offerCredits += a.Answers;
                foreach (var work in a.Needed ?? [])
                {
                    if (_rangeable.Remove(work.FileId)) LeaveToRanges(work);
                    else _ready.Enqueue(work);
                }
                Dispatch();
                break;
            case ManifestDrained d:
                _upToDate = d.UpToDate;
                Dispatch();
                break;
            case ReadProtocol.Drained:
                if (++_drained == _options.Readers) _coordinator.Tell(new SendEvent.ReadingDone(_upToDate ?? 0));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnStart(Start start)
    {
        _manifest = start.Manifest;
        int rootFd = Libc.OpenDirectoryFollowing(_root);
        if (rootFd < 0)
        {
            Report(".", $"cannot list directory: {Libc.Describe(Libc.LastErrno)}");
            WalkComplete();
            return;
        }
        if (_options.FilesFrom is { } list && _unit is null)
        {
            _listRoot = new Level(new DirectoryListing(rootFd), "", _root);
            try { _listed = list == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(list); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Report(".", $"cannot read --files-from {list}: {e.Message}");
                WalkComplete();
                return;
            }
        }
        else if (string.IsNullOrEmpty(_unit)) _levels.Push(new Level(new DirectoryListing(rootFd), "", _root));
        else if (UnitLevel(rootFd) is { } level) _levels.Push(level);
        _walking = true;
        Walk();
    }

    /// <summary>
    /// The unit's directory as the walk's one level, reached from the root one component at a time without following
    /// a symlink; the directory itself is sent first (it is this unit's to create and to give its mode and mtime).
    /// Null, with the problem reported, when it cannot be listed; null too for a unit of one file, offered on the way.
    /// </summary>
    private Level? UnitLevel(int rootFd)
    {
        var (parent, name) = RelativePath.Split(_unit!);
        int fd = rootFd;
        foreach (var range in parent.AsSpan().Split('/'))
        {
            if (parent.Length == 0) break;
            int next = Libc.OpenDirectoryToList(fd, parent[range]);
            int errno = Libc.LastErrno;
            Libc.Close(fd);
            if (next < 0)
            {
                Report(_unit!, $"cannot list directory: {Libc.Describe(errno)}", SkipMode.UnlistedDirectory);
                return null;
            }
            fd = next;
        }
        using var above = new Level(new DirectoryListing(fd), parent, parent.Length == 0 ? _root : _root + "/" + parent);
        return Visit(above, _unit!, name);
    }

    /// <summary>Started, not done, and room for more: credits for offers, and the readers' queue under the walk-ahead.</summary>
    private bool MayWalk => _manifest != ActorRefs.Nobody && !_walkDone && _offerCredits > 0 && _ready.Count < _options.WalkAhead;

    /// <summary>One slice of the walk; the next is a message to self, so pulls and answers come in between.</summary>
    private void Walk()
    {
        _walking = false;
        if (_manifest == ActorRefs.Nobody || _walkDone) return;
        for (int n = 0; n < EntriesPerTurn && MayWalk && (_levels.Count > 0 || _listed is not null); n++)
        {
            _abort.ThrowIfCancellationRequested();
            if (_levels.Count > 0) Step();
            else StepListed();
        }
        if (_offers.Count > 0)
        {
            _manifest.Tell(new ManifestMessage.Offer([.. _offers]));
            _offers.Clear();
        }
        if (_levels.Count == 0 && _listed is null && !_walkDone) NextDirectoryOrComplete();
        if (!_walkDone && MayWalk)
        {
            _walking = true;
            Self.Tell(Continue.Instance);
        }
        Dispatch();
    }

    /// <summary>
    /// A unit's directory is walked: the next of its batch, while the files walked so far are under the byte budget
    /// (a batch of small directories must not turn into one node's share of a big tree); the rest are reported for
    /// other units. Without one, the walk is complete.
    /// </summary>
    private void NextDirectoryOrComplete()
    {
        while (_levels.Count == 0 && _then.Count > 0 && !(_byteBudget > 0 && _result.Bytes >= _byteBudget))
        {
            _unit = _then.Dequeue();
            int rootFd = Libc.OpenDirectoryFollowing(_root);
            if (rootFd < 0) Report(_unit, $"cannot list directory: {Libc.Describe(Libc.LastErrno)}", SkipMode.UnlistedDirectory);
            else if (UnitLevel(rootFd) is { } level) _levels.Push(level);
        }
        if (_levels.Count > 0) return;
        if (_then.Count > 0) _result.Deferred = [.. _then];
        _then.Clear();
        WalkComplete();
    }

    private void WalkComplete()
    {
        _walkDone = true;
        _stats.MarkWalkComplete();
        _manifest.Tell(new ManifestMessage.Flush());
        _manifest.Tell(new ManifestMessage.WhenDrained());
    }

    /// <summary>Looks at the next entry of the deepest level.</summary>
    private void Step()
    {
        MaxLevels = Math.Max(MaxLevels, _levels.Count);
        var level = _levels.Peek();
        bool more;
        string name;
        byte type;
        try { more = level.Listing.Next(out name, out type); }
        catch (IOException e)
        {
            Report(level.Relative.Length == 0 ? "." : level.Relative, $"cannot list directory: {e.Message}", level.Relative.Length > 0 ? SkipMode.UnlistedDirectory : SkipMode.NotSent);
            more = false;
            name = "";
            type = 0;
        }
        // Another slice's file (d_type says it is no directory): not even looked at.
        if (more && _slices > 1 && type is not (0 or DirectoryType) && !UnitSlice.Mine(name, _slice, _slices)) return;
        if (!more)
        {
            _levels.Pop().Dispose();
            return;
        }
        if (level.Relative.Length == 0 && name == RelativePath.ReservedTopLevel)
        {
            _log.LogWarning("skipping {Name}: the name is reserved for the receiver's working files", name);
            return;
        }
        string rel = level.Relative.Length == 0 ? name : level.Relative + "/" + name;
        // d_type known: an excluded name is not even stat'ed (and an excluded directory not entered).
        bool filtered = _filter is null || type != 0;
        if (_filter is not null && type != 0 && _filter.Excludes(rel, type == DirectoryType)) return;
        if (Visit(level, rel, name, filtered) is { } child)
        {
            if (_levels.Count >= ParkBeyond) level.Listing.Park();
            _levels.Push(child);
        }
    }

    /// <summary>A needed large file goes to units of its ranges, not to this transfer: reported, and out of its figures.</summary>
    private void LeaveToRanges(in ReadWork work)
    {
        _result.LargeFiles!.Add((work.RelativePath, work.Size));
        _result.Files--;
        _result.Bytes -= work.Size;
    }

    /// <summary>Hands work to idle readers; once everything is read, tells them to drain.</summary>
    private void Dispatch()
    {
        while (_idle.Count > 0 && _ready.Count > 0)
        {
            var batch = new List<ReadWork>(Math.Min(MaxBatch, _ready.Count));
            long bytes = 0;
            // A batch of small files fills about one chunk; a big file goes alone, so the readers share big files.
            while (_ready.Count > 0 && batch.Count < MaxBatch && (batch.Count == 0 || bytes + _ready.Peek().Size <= _options.ChunkSize))
            {
                var work = _ready.Dequeue();
                bytes += work.Size;
                batch.Add(work);
            }
            _idle.Dequeue().Tell(new ReadProtocol.Work([.. batch]));
        }
        if (!_walking && MayWalk)
        {
            _walking = true;
            Self.Tell(Continue.Instance);
        }
        // Each reader drains as soon as it is idle with nothing left to read: the others may still be on big files.
        if (ReadingComplete)
            while (_idle.TryDequeue(out var reader)) reader.Tell(ReadProtocol.Drain.Instance);
    }

    /// <summary>The walk is over, every offer answered, and every entry handed to a reader.</summary>
    private bool ReadingComplete => _walkDone && _upToDate is not null && _ready.Count == 0;

    private void Enqueue(in ReadWork work)
    {
        _ready.Enqueue(work);
        MaxQueued = Math.Max(MaxQueued, _ready.Count);
    }

    protected override void PostStop()
    {
        while (_levels.Count > 0) _levels.Pop().Dispose();
        _listed?.Dispose();
        if (_listParent != _listRoot) _listParent?.Dispose();
        _listRoot?.Dispose();
    }

    /// <summary>
    /// The next path of --files-from: its parent directories first (once each, as rsync's implied directories), then
    /// the entry itself, looked up by name under its parent's descriptor without following a symlink on the way. A
    /// listed directory is sent, not descended into. Paths are relative to the source: a leading "/" or "./" is
    /// dropped, and one that climbs out ("..") is reported, not sent.
    /// </summary>
    private void StepListed()
    {
        if (_listed!.ReadLine() is not { } line)
        {
            _listed.Dispose();
            _listed = null;
            return;
        }
        // As rsync reads the list: lines starting with '#' or ';' are comments.
        if (line.Length > 0 && line[0] is '#' or ';') return;
        if (Normalize(line) is not { } rel)
        {
            Report(line, "cannot be sent: a --files-from path must stay inside the source (no \"..\")");
            return;
        }
        if (rel.Length == 0 || rel == _previousListed || _listedDirectories.Contains(rel)) return;
        _previousListed = rel;
        var (parentRel, name) = RelativePath.Split(rel);
        if (parentRel.Length == 0 && name == RelativePath.ReservedTopLevel) return;
        if (ListedParent(parentRel, rel) is not { } parent) return;
        if (Visit(parent, rel, name, filtered: false) is { } directory)
        {
            _listedDirectories.Add(rel);
            directory.Dispose();
        }
    }

    /// <summary>"a//./b/" as "a/b"; null for a path with a ".." component.</summary>
    private static string? Normalize(string line)
    {
        if (!line.Contains("//", StringComparison.Ordinal) && !line.Contains('.') && !line.StartsWith('/') && !line.EndsWith('/')) return line;
        var parts = new List<string>();
        foreach (string part in line.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") return null;
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    /// <summary>The listed entry's directory, opened from the root one component at a time (no symlink followed); each
    /// directory on the way not yet sent is sent first. Null, reported, when one cannot be opened.</summary>
    private Level? ListedParent(string parentRel, string rel)
    {
        if (parentRel.Length == 0) return _listRoot;
        if (_listParent?.Relative == parentRel) return _listParent;
        if (_listParent != _listRoot) _listParent?.Dispose();
        _listParent = null;
        var level = _listRoot!;
        foreach (var range in parentRel.AsSpan().Split('/'))
        {
            string component = parentRel[range];
            string childRel = level.Relative.Length == 0 ? component : level.Relative + "/" + component;
            int fd = Libc.OpenDirectoryToList(level.Listing.Fd, component);
            int errno = Libc.LastErrno;
            if (fd >= 0 && _listedDirectories.Add(childRel)) Visit(level, childRel, component, filtered: true)?.Dispose();
            if (level != _listRoot) level.Dispose();
            if (fd < 0)
            {
                Report(rel, $"cannot open its directory {childRel}: {Libc.Describe(errno)}");
                return null;
            }
            level = new Level(new DirectoryListing(fd), childRel, level.Full + "/" + component);
        }
        return _listParent = level;
    }

    /// <summary>Hands one entry on; a directory that can be listed comes back as the next level. Unless
    /// <paramref name="filtered"/> (looked at already, by its d_type), the filter rules are applied once it is stat'ed.</summary>
    private Level? Visit(Level parent, string rel, string name, bool filtered = true)
    {
        int dirFd = parent.Listing.Fd;
        if (Libc.StatNoFollow(dirFd, name, out var st) != 0)
        {
            int errno = Libc.LastErrno;
            Report(rel, errno != Libc.ENOENT ? Libc.Describe(errno)
                : _listed is not null ? "no such file or directory (listed in --files-from)" : "vanished since its directory was listed");
            return null;
        }
        if (!filtered && _filter is not null && _filter.Excludes(rel, (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR)) return null;
        if (!RelativePath.IsValid(rel, out string? why))
        {
            Report(rel, $"cannot be sent: {why}");
            return null;
        }
        bool directory = (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
        if (_oneFile && (st.Mode & Libc.S_IFMT) != Libc.S_IFREG)
        {
            Report(rel, "is no longer a regular file (it changed while the job ran)");
            return null;
        }
        if (_slices > 1 && rel != _unit && (directory ? _slice != 0 : !UnitSlice.Mine(name, _slice, _slices))) return null;
        string full = parent.Full + "/" + name;
        var mtime = new FileTime(st.Mtime.Sec, st.Mtime.Nsec);
        uint mode = (uint)st.Mode & 0xFFF;
        uint uid = _options.PreserveOwner ? st.Uid : FrameLimits.KeepId, gid = _options.PreserveGroup ? st.Gid : FrameLimits.KeepId;
        switch (st.Mode & Libc.S_IFMT)
        {
            case Libc.S_IFDIR:
                int fd = Libc.OpenDirectoryToList(dirFd, name);
                int openErrno = fd < 0 ? Libc.LastErrno : 0;
                var attributes = fd >= 0 && _options.PreserveAttributes ? AttributesOf(fd, rel) : null;
                // A slice leaves the directory's own entry to the unit that ends it (slice -1).
                if (!(rel == _unit && _slices > 1 && _slice >= 0))
                {
                    _result.Directories++;
                    Enqueue(new ReadWork(EntryKind.Directory, rel, full, 0, mode, mtime, 0, null, Uid: uid, Gid: gid, Attributes: attributes));
                }
                // A unit creates its subdirectories (so no later unit changes this directory's mtime) and leaves their
                // entries to units of their own.
                if (_result.Subdirectories is { } subdirectories && rel != _unit)
                {
                    subdirectories.Add(rel);
                    _result.SubdirectoryEntries!.Add(fd >= 0 ? CountEntries(fd) : 0);
                    return null;
                }
                if (rel == _unit && _slice < 0)
                {
                    if (fd >= 0) Libc.Close(fd);
                    return null;
                }
                if (fd < 0)
                {
                    Report(rel, $"cannot list directory: {Libc.Describe(openErrno)}", SkipMode.UnlistedDirectory);
                    return null;
                }
                return new Level(new DirectoryListing(fd), rel, full);
            case Libc.S_IFREG:
                long size = (long)st.Size;
                if (_options.PreserveHardLinks && st.Nlink > 1 && LinkToEarlierName(st, rel) is { } first)
                {
                    Enqueue(new ReadWork(EntryKind.HardLink, rel, full, first.Size, mode, first.MTime, 0, first.Path));
                    return null;
                }
                _result.Files++;
                _result.Bytes += size;
                _stats.Found(size);
                // Blocks of 512 bytes: fewer than the size needs means holes, worth finding with SEEK_DATA.
                bool sparse = (long)st.Blocks * 512 < size;
                // Files are offered first; only those the receiver needs reach the readers.
                _offerCredits--;
                // A hard link's first name stays here: the later names of this unit link to it when they arrive.
                if (WalkUnit.GoesInRanges(size, _rangesAbove) && !(_options.PreserveHardLinks && st.Nlink > 1))
                    _rangeable.Add(_nextFileId);
                _offers.Add(new ReadWork(EntryKind.File, rel, full, size, mode, mtime, _nextFileId++, null, Uid: uid, Gid: gid, Sparse: sparse));
                return null;
            case Libc.S_IFLNK:
                string? target = Libc.ReadLinkAt(dirFd, name, out int linkErrno);
                if (target is null)
                {
                    Report(rel, $"cannot read symlink: {Libc.Describe(linkErrno)}");
                    return null;
                }
                _result.Symlinks++;
                Enqueue(new ReadWork(EntryKind.Symlink, rel, full, 0, mode, mtime, 0, target, Uid: uid, Gid: gid));
                return null;
            default:
                // Devices, FIFOs and sockets: recreated where the receiver can (rsync -a's -D), reported where not.
                Enqueue(new ReadWork(EntryKind.Special, rel, full, 0, (uint)st.Mode & 0xFFFF, mtime, 0, null, Uid: uid, Gid: gid,
                    Major: st.RdevMajor, Minor: st.RdevMinor));
                return null;
        }
    }

    /// <summary>Entries of a directory (closing <paramref name="fd"/>): getdents alone, no stat, so a unit can tell
    /// the coordinator which of its subdirectories to split.</summary>
    private static int CountEntries(int fd)
    {
        using var listing = new DirectoryListing(fd);
        int n = 0;
        try
        {
            while (listing.Next(out _, out _)) n++;
        }
        catch (IOException) { }
        return n;
    }

    /// <summary>The first name of this inode, if one was seen: this one becomes a link to it. Otherwise this name is remembered as the first.</summary>
    private FirstName? LinkToEarlierName(in Libc.Statx st, string rel)
    {
        var key = (st.DevMajor, st.DevMinor, st.Ino);
        if (_linked.TryGetValue(key, out var first))
        {
            if (--first.NamesLeft == 0) _linked.Remove(key);
            return first;
        }
        _linked[key] = new FirstName(rel, (long)st.Size, new FileTime(st.Mtime.Sec, st.Mtime.Nsec), st.Nlink - 1);
        return null;
    }

    private IReadOnlyList<(string, byte[])>? AttributesOf(int fd, string rel)
    {
        var attributes = Libc.ReadAttributes(fd, out int errno);
        if (attributes is null) Report(rel, $"cannot read extended attributes: {Libc.Describe(errno)}", SkipMode.SentIncomplete);
        return SendableAttributes.Of(attributes);
    }

    /// <summary>A problem with an entry: counted, told to the coordinator (for the sender's report) and, through a
    /// reader, to the receiver, which then knows the directories above it are not complete.</summary>
    private void Report(string rel, string reason, uint skipMode = SkipMode.NotSent)
    {
        _stats.EntryFailed();
        _coordinator.Tell(new SendEvent.Problem(rel, reason));
        Enqueue(new ReadWork(EntryKind.Skipped, rel, "", 0, skipMode, default, 0, reason));
    }
}
