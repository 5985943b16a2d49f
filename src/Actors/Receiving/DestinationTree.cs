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
    private const int DirectoryMode = 0x1ED; // 0755: final modes are applied once the content is complete

    public const string LockFile = "lock";
    /// <summary>How often a waiting transfer retries DEST's lock.</summary>
    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(20);

    private readonly int _lockFd;

    private DestinationTree(string root, int rootFd, int workFd, int tempFd, int lockFd, int partialFd)
    {
        PartialFd = partialFd;
        Root = root;
        RootFd = rootFd;
        WorkFd = workFd;
        TempFd = tempFd;
        _lockFd = lockFd;
    }

    public string Root { get; }
    public int RootFd { get; }
    public int WorkFd { get; }
    public int TempFd { get; }
    /// <summary>DEST/.actorsync/partial: resumable large files of interrupted runs (kept across runs).</summary>
    public int PartialFd { get; }

    /// <summary>
    /// Opens DEST (creating it and its work area as needed) and takes DEST's lock: one transfer writes into a
    /// DEST at a time, across processes too (flock on DEST/.actorsync/lock, released when the process dies).
    /// Holding the lock, whatever is left in the temporary area belongs to an interrupted run: it is removed.
    /// </summary>
    public static DestinationTree Open(string root, TimeSpan lockWait)
    {
        try { Directory.CreateDirectory(root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DestinationUnavailableException($"cannot create destination {root}: {e.Message}"); }
        int rootFd = Libc.OpenDirectoryNoFollow(Libc.AT_FDCWD, root);
        if (rootFd < 0) throw new DestinationUnavailableException($"cannot open destination {root}: {Libc.Describe(Libc.LastErrno)}");
        int workFd = -1, tempFd = -1, lockFd = -1, partialFd = -1;
        try
        {
            workFd = OpenOrCreate(rootFd, WorkDirectory, 0x1C0, root);
            lockFd = Libc.CreateOrOpen(workFd, LockFile);
            if (lockFd < 0) throw new DestinationUnavailableException($"cannot open {Path.Join(root, WorkDirectory, LockFile)}: {Libc.Describe(Libc.LastErrno)}");
            int e = Libc.TryLockExclusive(lockFd);
            // A transfer that just finished may still be letting go of DEST: wait a little before refusing.
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); e == Libc.EAGAIN && waited.Elapsed < lockWait; e = Libc.TryLockExclusive(lockFd))
                Thread.Sleep(LockPoll);
            if (e != 0)
                throw e == Libc.EAGAIN
                    ? new DestinationBusyException($"another transfer is writing into {root} (it holds {Path.Join(root, WorkDirectory, LockFile)}); try again when it is done")
                    : new DestinationUnavailableException($"cannot lock {root}: {Libc.Describe(e)}");
            tempFd = OpenOrCreate(workFd, TempDirectory, 0x1C0, Path.Join(root, WorkDirectory));
            RemoveAll(tempFd, Path.Join(root, WorkDirectory, TempDirectory));
            partialFd = OpenOrCreate(workFd, PartialFiles.Directory, 0x1C0, Path.Join(root, WorkDirectory));
            return new DestinationTree(root, rootFd, workFd, tempFd, lockFd, partialFd);
        }
        catch
        {
            Libc.CloseQuietly(partialFd);
            Libc.CloseQuietly(tempFd);
            Libc.CloseQuietly(lockFd);
            Libc.CloseQuietly(workFd);
            Libc.CloseQuietly(rootFd);
            throw;
        }
    }

    private static void RemoveAll(int dirFd, string path)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(path)) Libc.Unlink(dirFd, Path.GetFileName(entry));
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
                if (Libc.MakeDirectory(fd, component, DirectoryMode) != 0 && Libc.LastErrno != Libc.EEXIST)
                {
                    int e = Libc.LastErrno;
                    Libc.Close(fd);
                    return -e;
                }
                next = Libc.OpenDirectoryNoFollow(fd, component);
            }
            int errno = Libc.LastErrno;
            Libc.Close(fd);
            if (next < 0) return -errno;
            fd = next;
        }
        return fd;
    }

    /// <summary>Human text for a failed <see cref="OpenDirectory"/>.</summary>
    public static string DescribeOpenFailure(string relative, int errno) => errno is Libc.ELOOP or Libc.ENOTDIR
        ? $"refusing to write below \"{RelativePath.Printable(relative)}\": a component is a symlink or not a directory"
        : $"cannot create directory \"{RelativePath.Printable(relative)}\": {Libc.Describe(errno)}";

    public static string TempName(Guid transfer, ulong fileId) => $"{transfer:N}-{fileId}";

    /// <summary>Removes this transfer's leftovers; the work area goes with the lock, in Dispose.</summary>
    public void RemoveTemporaries(Guid transfer)
    {
        string prefix = $"{transfer:N}-";
        string tempPath = Path.Join(Root, WorkDirectory, TempDirectory);
        try
        {
            foreach (string file in Directory.EnumerateFiles(tempPath, prefix + "*")) Libc.Unlink(TempFd, Path.GetFileName(file));
        }
        catch (IOException) { }
    }

    /// <summary>After a complete transfer no partial file is needed any more (each was finished or its file is gone).</summary>
    public void RemovePartials() => RemoveAll(PartialFd, Path.Join(Root, WorkDirectory, PartialFiles.Directory));

    /// <summary>Leaves DEST as a plain copy when nothing is left in the work area, then releases the lock.</summary>
    public void Dispose()
    {
        if (Libc.RemoveDirectory(WorkFd, TempDirectory) == 0 && Libc.RemoveDirectory(WorkFd, PartialFiles.Directory) == 0)
        {
            Libc.Unlink(WorkFd, LockFile);
            Libc.RemoveDirectory(RootFd, WorkDirectory);
        }
        Libc.CloseQuietly(_lockFd);
        Libc.CloseQuietly(PartialFd);
        Libc.CloseQuietly(TempFd);
        Libc.CloseQuietly(WorkFd);
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
