using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// DEST as a tree of directory descriptors. Every path a peer names is resolved one component at a time with
/// O_NOFOLLOW from DEST's own descriptor, so a symlink inside DEST (planted or transferred) is never written
/// through. In-progress files live in DEST/.actorsync/tmp and are renamed into place only when complete.
/// </summary>
internal sealed class DestinationTree : IDisposable
{
    public const string WorkDirectory = RelativePath.ReservedTopLevel;
    public const string TempDirectory = "tmp";
    /// <summary>0700: a directory stays private until the transfer gives it its own mode at the end, so nothing is
    /// readable early that should not be.</summary>
    private const int DirectoryMode = 0x1C0;

    public const string LockFile = "lock";
    /// <summary>How often a waiting transfer retries DEST's lock.</summary>
    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(20);

    private readonly int _lockFd;
    private readonly bool _root = Libc.IsRoot;
    /// <summary>A job unit's tree: DEST/.actorsync, whose lock it holds shared, and its own area's name in it.</summary>
    private readonly int _baseFd = -1, _baseLockFd = -1;
    private readonly string? _scope;

    private DestinationTree(string root, int rootFd, int workFd, int tempFd, int lockFd, int partialFd, int keptFd, HashSet<string> kept, uint createdGid,
        int baseFd, int baseLockFd, string? scope)
    {
        PartialFd = partialFd;
        KeptFd = keptFd;
        _kept = kept;
        Root = root;
        RootFd = rootFd;
        WorkFd = workFd;
        TempFd = tempFd;
        _lockFd = lockFd;
        CreatedGid = createdGid;
        CreationKeeps = Libc.BitsCreationKeeps(tempFd);
        _baseFd = baseFd;
        _baseLockFd = baseLockFd;
        _scope = scope;
    }

    public string Root { get; }
    public int RootFd { get; }
    public int WorkFd { get; }
    public int TempFd { get; }
    /// <summary>DEST/.actorsync/partial: resumable large files of interrupted runs (kept across runs).</summary>
    public int PartialFd { get; }
    /// <summary>The group a file created in the temporary area gets (a setgid DEST hands its group down).</summary>
    public uint CreatedGid { get; }

    /// <summary>The permission bits a file created in the temporary area surely keeps of its O_CREAT mode (null: unknown).
    /// A file whose mode lies within them is created with it and needs no fchmod.</summary>
    public uint? CreationKeeps { get; }

    /// <summary>
    /// DEST/.actorsync/kept: temporaries an interrupted run had finished (bytes, mode and mtime) but not renamed
    /// yet. A re-run offered such a file has the sender verify it by hash, and commits it instead of receiving it.
    /// </summary>
    public int KeptFd { get; }

    public const string KeptDirectory = "kept";

    private readonly HashSet<string> _kept;

    /// <summary>
    /// The temporary a file of <paramref name="path"/> is written to, and found under after an interruption: a
    /// 64-bit FNV-1a of the name, cheap enough for every small file. Two names of one transfer that collide get a
    /// unique temporary instead (and lose only this shortcut); a kept one is used only after the sender verified
    /// its bytes, so a collision across runs can never commit wrong content.
    /// </summary>
    public static string TemporaryOf(string path)
    {
        ulong h = 14695981039346656037;
        foreach (char c in path) h = (h ^ c) * 1099511628211;
        return $"s-{h:x16}";
    }

    /// <summary>Whether the kept area holds anything at all (the usual answer, no).</summary>
    public bool AnyKept => _kept.Count > 0;

    /// <summary>Whether the kept area holds a temporary of that name.</summary>
    public bool HasKept(string name) => _kept.Contains(name);

    /// <summary>
    /// Opens DEST (creating it and its work area as needed) and takes DEST's lock: one transfer writes into a
    /// DEST at a time, across processes too (flock on DEST/.actorsync/lock, released when the process dies).
    /// Holding the lock, whatever is left in the temporary area belongs to an interrupted run (see <see cref="KeptFd"/>).
    /// A transfer that just finished may still be letting go of DEST: the lock is retried for
    /// <paramref name="lockWait"/> (infinite: until it is free), asynchronously, holding no thread.
    /// With a <paramref name="scope"/> (a cluster job's unit) the tree has a work area of its own,
    /// DEST/.actorsync/SCOPE, under its own lock, and holds DEST's lock shared: the units of jobs write into one DEST
    /// at once (each into directories no other unit writes), a plain transfer and they exclude each other, and a unit
    /// sent again finds what its interrupted attempt left.
    /// </summary>
    public static async Task<DestinationTree> OpenAsync(string root, TimeSpan lockWait, CancellationToken ct, string? scope = null)
    {
        try { Directory.CreateDirectory(root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DestinationUnavailableException($"cannot create destination {root}: {e.Message}"); }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (tree, errno) = TryOpen(root, scope);
            if (tree is not null) return tree;
            if (errno != Libc.EAGAIN) throw new DestinationUnavailableException($"cannot lock {root}: {Libc.Describe(errno)}");
            if (lockWait != Timeout.InfiniteTimeSpan && waited.Elapsed >= lockWait)
                throw new DestinationBusyException($"another transfer is writing into {root} (it holds {Path.Join(root, WorkDirectory, LockFile)}); try again when it is done");
            await Task.Delay(LockPoll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DEST for a dry run, looked at and never written: no work area, no lock (nothing here changes DEST, so another
    /// transfer may run meanwhile; the answers are then as of the moment each was made). A DEST that does not exist
    /// yet is an empty one (<see cref="RootFd"/> -1: every lookup misses).
    /// </summary>
    public static DestinationTree OpenForDryRun(string root)
    {
        int rootFd = Libc.OpenDirectoryFollowing(root);
        if (rootFd < 0 && Libc.LastErrno != Libc.ENOENT)
            throw new DestinationUnavailableException($"cannot open destination {root}: {Libc.Describe(Libc.LastErrno)}");
        return new DestinationTree(root, rootFd, -1, -1, -1, -1, -1, [], Libc.EffectiveGroup, -1, -1, null) { DryRun = true };
    }

    /// <summary>Opened by <see cref="OpenForDryRun"/>: nothing may be written through it.</summary>
    public bool DryRun { get; private init; }

    /// <summary>The locked tree, or (null, errno) when the lock is held (EAGAIN) or cannot be taken.</summary>
    private static (DestinationTree?, int) TryOpen(string root, string? scope)
    {
        int rootFd = Libc.OpenDirectoryFollowing(root);
        if (rootFd < 0) throw new DestinationUnavailableException($"cannot open destination {root}: {Libc.Describe(Libc.LastErrno)}");
        int baseFd = -1, baseLockFd = -1, workFd = -1, tempFd = -1, lockFd = -1, partialFd = -1, keptFd = -1;
        try
        {
            int e = LockArea(rootFd, WorkDirectory, root, exclusive: scope is null, out workFd, out lockFd);
            if (e == 0 && scope is not null)
            {
                (baseFd, baseLockFd) = (workFd, lockFd);
                (workFd, lockFd) = (-1, -1);
                e = LockArea(baseFd, scope, Path.Join(root, WorkDirectory), exclusive: true, out workFd, out lockFd);
            }
            if (e != 0)
            {
                Libc.CloseQuietly(baseLockFd);
                Libc.CloseQuietly(baseFd);
                Libc.CloseQuietly(rootFd);
                return (null, e);
            }
            string work = scope is null ? Path.Join(root, WorkDirectory) : Path.Join(root, WorkDirectory, scope);
            tempFd = OpenOrCreate(workFd, TempDirectory, 0x1C0, work);
            partialFd = OpenOrCreate(workFd, PartialFiles.Directory, 0x1C0, work);
            keptFd = OpenOrCreate(workFd, KeptDirectory, 0x1C0, work);
            // Whatever is left in the temporary area belongs to an interrupted run: files' temporaries move to the kept
            // area (a finished one may be committed by this run), the rest goes.
            foreach (string name in Names(tempFd))
                if (!name.StartsWith("s-", StringComparison.Ordinal) || Libc.Rename(tempFd, name, keptFd, name) != 0) Libc.Unlink(tempFd, name);
            var kept = new HashSet<string>(Names(keptFd), StringComparer.Ordinal);
            uint createdGid = Libc.StatOpen(tempFd, out var st) == 0 && (st.Mode & 0x400 /* S_ISGID */) != 0 ? st.Gid : Libc.EffectiveGroup;
            return (new DestinationTree(root, rootFd, workFd, tempFd, lockFd, partialFd, keptFd, kept, createdGid, baseFd, baseLockFd, scope), 0);
        }
        catch
        {
            Libc.CloseQuietly(keptFd);
            Libc.CloseQuietly(partialFd);
            Libc.CloseQuietly(tempFd);
            Libc.CloseQuietly(lockFd);
            Libc.CloseQuietly(workFd);
            Libc.CloseQuietly(baseLockFd);
            Libc.CloseQuietly(baseFd);
            Libc.CloseQuietly(rootFd);
            throw;
        }
    }

    /// <summary>
    /// Opens (creating) work area <paramref name="name"/> below <paramref name="parentFd"/> and locks its lock file:
    /// 0 with both descriptors, or the errno (EAGAIN: held). The holder before may have removed the lock file and the
    /// area just before it let go: a lock on a file no longer in place guards nothing, so it is checked and taken afresh.
    /// </summary>
    private static int LockArea(int parentFd, string name, string where, bool exclusive, out int areaFd, out int lockFd)
    {
        while (true)
        {
            areaFd = OpenOrCreate(parentFd, name, 0x1C0, where);
            lockFd = Libc.CreateOrOpen(areaFd, LockFile);
            if (lockFd < 0)
            {
                int errno = Libc.LastErrno;
                Libc.CloseQuietly(areaFd);
                areaFd = -1;
                throw new DestinationUnavailableException($"cannot open {Path.Join(where, name, LockFile)}: {Libc.Describe(errno)}");
            }
            int e = exclusive ? Libc.TryLockExclusive(lockFd) : Libc.TryLockShared(lockFd);
            if (e == 0 && IsAt(lockFd, parentFd, name + "/" + LockFile) && IsAt(areaFd, parentFd, name)) return 0;
            Libc.Close(lockFd);
            Libc.Close(areaFd);
            lockFd = areaFd = -1;
            if (e != 0) return e;
        }
    }

    /// <summary>Is the open <paramref name="fd"/> the entry at <paramref name="path"/> below <paramref name="dirFd"/>?</summary>
    private static bool IsAt(int fd, int dirFd, string path) =>
        Libc.StatOpen(fd, out var open) == 0 && Libc.StatNoFollow(dirFd, path, out var named) == 0
        && open.Ino == named.Ino && open.DevMajor == named.DevMajor && open.DevMinor == named.DevMinor;

    /// <summary>Empties a directory of the work area (its entries are plain files the receiver made).</summary>
    private static void RemoveAll(int dirFd)
    {
        foreach (string name in Names(dirFd)) Libc.Unlink(dirFd, name);
    }

    private static List<string> Names(int dirFd)
    {
        var names = new List<string>();
        int fd = Libc.OpenDirectoryToList(dirFd, ".");
        if (fd < 0) return names;
        using var listing = new DirectoryListing(fd);
        try
        {
            while (listing.Next(out string name, out _)) names.Add(name);
        }
        catch (IOException) { }
        return names;
    }

    private static int OpenOrCreate(int parentFd, string name, int mode, string where)
    {
        if (Libc.MakeDirectory(parentFd, name, mode) != 0 && Libc.LastErrno != Libc.EEXIST)
            throw new DestinationUnavailableException($"cannot create {Path.Join(where, name)}: {Libc.Describe(Libc.LastErrno)}");
        int fd = Libc.OpenDirectoryNoFollow(parentFd, name);
        if (fd < 0) throw new DestinationUnavailableException($"cannot open {Path.Join(where, name)}: {Libc.Describe(Libc.LastErrno)}");
        return fd;
    }

    /// <summary>
    /// Opens directory <paramref name="relative"/> ("" = DEST), creating missing components. Returns the fd
    /// (caller closes) or -errno; ELOOP/ENOTDIR mean a component is a symlink or a file.
    /// </summary>
    public int OpenDirectory(string relative, bool create)
    {
        int fd = Libc.OpenDirectoryNoFollow(RootFd, ".");
        if (fd < 0 || relative.Length == 0) return fd < 0 ? -Libc.LastErrno : fd;
        foreach (var range in relative.AsSpan().Split('/'))
        {
            string component = relative[range];
            int next = Libc.OpenDirectoryNoFollow(fd, component);
            if (next < 0 && Libc.LastErrno == Libc.ENOENT && create)
            {
                bool made = Libc.MakeDirectory(fd, component, DirectoryMode) == 0;
                if (!made && Libc.LastErrno == Libc.EACCES)
                {
                    MakeWritable(fd);
                    made = Libc.MakeDirectory(fd, component, DirectoryMode) == 0;
                }
                if (!made && Libc.LastErrno != Libc.EEXIST)
                {
                    int e = Libc.LastErrno;
                    Libc.Close(fd);
                    return -e;
                }
                next = Libc.OpenDirectoryNoFollow(fd, component);
            }
            else if (next < 0 && Libc.LastErrno == Libc.EACCES && MakeSearchable(fd, component))
                next = Libc.OpenDirectoryNoFollow(fd, component);
            int errno = Libc.LastErrno;
            Libc.Close(fd);
            if (next < 0) return -errno;
            fd = next;
        }
        return fd;
    }

    /// <summary>
    /// A directory of ours that a finished copy made unreadable or read-only (mode 0555, 0000) is opened up to the
    /// owner for the transfer, as rsync does; the transfer gives it its mode back at the end. Root needs none of it.
    /// </summary>
    private bool MakeSearchable(int parentFd, string name)
    {
        if (_root || Libc.StatNoFollow(parentFd, name, out var st) != 0 || (st.Mode & Libc.S_IFMT) != Libc.S_IFDIR) return false;
        return Libc.SetModeAt(parentFd, name, ((uint)st.Mode & 0xFFF) | 0x1C0) == 0;
    }

    /// <summary>For writing into an existing directory of DEST: the same opening up, for a directory already open.</summary>
    public void MakeWritable(int dirFd)
    {
        if (_root || Libc.StatOpen(dirFd, out var st) != 0 || (st.Mode & 0x1C0) == 0x1C0) return;
        Libc.SetMode(dirFd, ((uint)st.Mode & 0xFFF) | 0x1C0);
    }

    /// <summary>Human text for a failed <see cref="OpenDirectory"/>.</summary>
    public static string DescribeOpenFailure(string relative, int errno) => errno is Libc.ELOOP or Libc.ENOTDIR
        ? $"refusing to write below \"{RelativePath.Printable(relative)}\": a component is a symlink or not a directory"
        : $"cannot create directory \"{RelativePath.Printable(relative)}\": {Libc.Describe(errno)}";

    public static string TempName(Guid transfer, ulong fileId) => $"{transfer:N}-{fileId}";

    /// <summary>A log of the transfer's own in .actorsync/tmp (removed with its temporaries): what it would otherwise
    /// hold in memory, in a file the size of what was sent.</summary>
    public FileStream CreateWorkLog(string name, string what)
    {
        int fd = Libc.CreateExclusive(TempFd, name);
        if (fd < 0)
        {
            int errno = Libc.LastErrno;
            if (Libc.IsOutOfSpace(errno)) throw new DestinationFullException(".actorsync/tmp", errno);
            throw new IOException($"cannot create the {what} in .actorsync/tmp: {Libc.Describe(errno)}");
        }
        return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, bufferSize: 64 << 10);
    }

    /// <summary>Removes this transfer's leftovers; the work area goes with the lock, in Dispose. Files' own
    /// temporaries are removed by their writers, so only the transfer's logs and links are left here.</summary>
    public void RemoveTemporaries(Guid transfer)
    {
        string prefix = $"{transfer:N}-";
        foreach (string name in Names(TempFd))
            if (name.StartsWith(prefix, StringComparison.Ordinal)) Libc.Unlink(TempFd, name);
    }

    /// <summary>After a complete transfer nothing of an interrupted run is needed any more: partials, kept temporaries.</summary>
    public void RemoveResumeState()
    {
        RemoveAll(PartialFd);
        RemoveAll(KeptFd);
        RemoveAll(TempFd);
    }

    private readonly Lock _rangesGate = new();
    private int _rangesFd = -1;

    /// <summary>
    /// DEST/.actorsync/ranges, where the ranges of a job's large files meet (see <see cref="SharedRanges"/>), created on
    /// first use; -errno when it cannot be. <paramref name="reopen"/>: the one held was removed meanwhile (a finishing
    /// unit takes it away when it is left empty), so it is made again.
    /// </summary>
    public int SharedRangesFd(bool reopen = false)
    {
        lock (_rangesGate)
        {
            if (_rangesFd >= 0 && !reopen) return _rangesFd;
            Libc.CloseQuietly(_rangesFd);
            _rangesFd = -1;
            int parent = _scope is null ? WorkFd : _baseFd;
            if (Libc.MakeDirectory(parent, SharedRanges.Directory, DirectoryMode) != 0 && Libc.LastErrno != Libc.EEXIST) return -Libc.LastErrno;
            int fd = Libc.OpenDirectoryNoFollow(parent, SharedRanges.Directory);
            return fd < 0 ? -Libc.LastErrno : _rangesFd = fd;
        }
    }

    /// <summary>Takes DEST/.actorsync/ranges away if nothing is left in it, so a finished job leaves a plain copy.</summary>
    public void ReleaseSharedRanges() => Libc.RemoveDirectory(_scope is null ? WorkFd : _baseFd, SharedRanges.Directory);

    /// <summary>--fsync: everything written to DEST's filesystem reaches the disk (one syncfs for the whole transfer).</summary>
    public int SyncAll() => Libc.SyncFileSystem(RootFd) == 0 ? 0 : Libc.LastErrno;

    /// <summary>Leaves DEST as a plain copy when nothing is left in the work area, then releases the lock. A job
    /// unit removes its own area, and DEST's work area too when it is the last to leave it.</summary>
    public void Dispose()
    {
        if (DryRun)
        {
            Libc.CloseQuietly(RootFd);
            return;
        }
        Libc.RemoveDirectory(WorkFd, KeptDirectory);
        if (Libc.RemoveDirectory(WorkFd, TempDirectory) == 0 && Libc.RemoveDirectory(WorkFd, PartialFiles.Directory) == 0
            && Libc.StatNoFollow(WorkFd, KeptDirectory, out _) != 0)
        {
            Libc.Unlink(WorkFd, LockFile);
            if (_scope is null) Libc.RemoveDirectory(RootFd, WorkDirectory);
            else Libc.RemoveDirectory(_baseFd, _scope);
        }
        if (_rangesFd >= 0) ReleaseSharedRanges();
        Libc.CloseQuietly(_rangesFd);
        Libc.CloseQuietly(_lockFd);
        Libc.CloseQuietly(KeptFd);
        Libc.CloseQuietly(PartialFd);
        Libc.CloseQuietly(TempFd);
        Libc.CloseQuietly(WorkFd);
        if (_scope is not null)
        {
            // The last unit out (DEST's lock to be had exclusively, nothing but the lock file left) takes the work area away.
            if (Libc.TryLockExclusive(_baseLockFd) == 0 && Names(_baseFd) is [LockFile])
            {
                Libc.Unlink(_baseFd, LockFile);
                Libc.RemoveDirectory(RootFd, WorkDirectory);
            }
            Libc.CloseQuietly(_baseLockFd);
            Libc.CloseQuietly(_baseFd);
        }
        Libc.CloseQuietly(RootFd);
    }
}

/// <summary>
/// A writer's own small cache of open parent directories: files arrive mostly directory by directory, so the
/// last few parents cover nearly every lookup and the per-component walk is paid once per directory.
/// </summary>
internal sealed class DirectoryCache(DestinationTree tree) : IDisposable
{
    /// <summary>Enough for the interleaving of a few streams' directories; each entry holds one fd.</summary>
    private const int Capacity = 32;
    private readonly Dictionary<string, int> _fds = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly HashSet<string> _missing = new(StringComparer.Ordinal);
    /// <summary>Directories remembered as missing: plenty for a tree's worth of offers, a bounded set.</summary>
    private const int MissingCapacity = 4096;

    /// <summary>The fd of directory <paramref name="relative"/> (owned by the cache) or -errno; created if missing
    /// unless <paramref name="create"/> is false (a lookup must not leave directories behind).</summary>
    public int Get(string relative, bool create = true)
    {
        if (_fds.TryGetValue(relative, out int fd)) return fd;
        // Lookups (create: false) into a fresh DEST miss for every file of a missing directory; remembering the
        // miss saves a walk from DEST's root per file. A directory created later only costs a needless re-send.
        if (!create && _missing.Contains(relative)) return -Libc.ENOENT;
        fd = tree.OpenDirectory(relative, create);
        if (fd < 0)
        {
            if (!create && fd == -Libc.ENOENT)
            {
                if (_missing.Count >= MissingCapacity) _missing.Clear();
                _missing.Add(relative);
            }
            return fd;
        }
        _missing.Remove(relative);
        if (_fds.Count >= Capacity) Libc.Close(_fds.Remove(_order.Dequeue(), out int old) ? old : -1);
        _fds[relative] = fd;
        _order.Enqueue(relative);
        return fd;
    }

    public void Dispose()
    {
        foreach (int fd in _fds.Values) Libc.Close(fd);
        _fds.Clear();
        _order.Clear();
    }
}

/// <summary>DEST is locked by another transfer (exit status 1; nothing written).</summary>
public sealed class DestinationBusyException(string message) : IOException(message);

/// <summary>DEST or its work area cannot be created, opened or locked (a full disk, permissions, a file in the
/// way): the transfer is refused with the reason, exit status 1 on both sides; nothing written.</summary>
public sealed class DestinationUnavailableException(string message) : IOException(message);
