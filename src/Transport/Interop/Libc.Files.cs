using System.Runtime.InteropServices;
using Tmds.Linux;

namespace ActorSync.Transport.Interop;

/// <summary>File-system calls relative to directory descriptors, so the receiver never resolves a path
/// through a symlink it did not expect (each component is opened with O_NOFOLLOW).</summary>
internal static unsafe partial class Libc
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_NOATIME = 0x40000, O_NONBLOCK = 0x800;
    public const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;
    public const uint STATX_BASIC_STATS = 0x7ff;
    /// <summary>utimensat: leave this timestamp alone.</summary>
    public const long UTIME_OMIT = (1L << 30) - 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec { public long Sec; public long Nsec; }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatxTimestamp { public long Sec; public uint Nsec; private int _reserved; }

    /// <summary>struct statx: the one stat layout that is the same on every Linux architecture.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Statx
    {
        public uint Mask, BlkSize;
        public ulong Attributes;
        public uint Nlink, Uid, Gid;
        public ushort Mode;
        private ushort _spare0;
        public ulong Ino, Size, Blocks, AttributesMask;
        public StatxTimestamp Atime, Btime, Ctime, Mtime;
        public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
        private fixed ulong _spare2[14];
    }

    // Tmds.LibC has all but renameat: its wrappers take the path as bytes (NativeName), mode_t and off_t as its
    // own types, and set the last P/Invoke error, so LastErrno works for every call alike.
    private static int openat(int dirfd, string path, int flags, int mode)
    {
        using var n = new NativeName(path, stackalloc byte[NativeName.StackBytes]);
        return LibC.openat(dirfd, n.Pointer, flags, (mode_t)mode);
    }

    /// <summary>Not in Tmds.LibC 0.5 (it has renameat2's number only): glibc's wrapper.</summary>
    [LibraryImport(LibraryName, EntryPoint = "renameat", SetLastError = true)]
    private static partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    private static int StatxAt(int dirfd, string path, int flags, uint mask, Statx* buf)
    {
        using var n = new NativeName(path, stackalloc byte[NativeName.StackBytes]);
        return LibC.statx(dirfd, n.Pointer, flags, mask, (statx*)buf);   // the same layout (StructLayoutTests)
    }

    private static int fchmodat(int dirfd, string path, uint mode, int flags)
    {
        using var n = new NativeName(path, stackalloc byte[NativeName.StackBytes]);
        return LibC.fchmodat(dirfd, n.Pointer, (mode_t)mode, flags);
    }

    private static int close(int fd) => LibC.close(fd);

    /// <summary>Opens an existing directory below <paramref name="dirfd"/> without following a symlink; -1 + errno on failure.</summary>
    public static int OpenDirectoryNoFollow(int dirfd, string name) =>
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

    /// <summary>Creates a fresh file that must not exist yet (O_EXCL also refuses a planted symlink).</summary>
    /// <summary>0600: what a file the receiver writes is created with unless it may have its final mode at once.</summary>
    public const int PrivateFileMode = 0x180;

    public static int CreateExclusive(int dirfd, string name, int mode = PrivateFileMode) =>
        openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

    public static int OpenForRead(string path) => openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);

    /// <summary>Opens the directory the user named (a symlink to it is followed, as rsync follows SRC/).</summary>
    public static int OpenDirectoryFollowing(string path) => openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

    /// <summary>Opens a file below <paramref name="dirfd"/> for reading, never through a symlink.</summary>
    public static int OpenFileAt(int dirfd, string name) => openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);

    /// <summary>Opens a directory to list it (or to read its xattrs), never through a symlink.</summary>
    public static int OpenDirectoryToList(int dirfd, string name) => openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

    /// <summary>Opens (creating if needed) a regular file below <paramref name="dirfd"/>, never through a symlink.</summary>
    public static int CreateOrOpen(int dirfd, string name) => openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0x180);

    public static int OpenAtForRead(int dirfd, string name) => openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);

    /// <summary>Not in Tmds.LibC 0.5. flock, not lockf/F_SETLK: its lock belongs to the open file description, so
    /// a second open of DEST's lock file in this very process (a second transfer) is refused too.</summary>
    [LibraryImport(LibraryName, EntryPoint = "flock", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    /// <summary>An exclusive advisory lock, without waiting: 0, or the errno (EWOULDBLOCK = held elsewhere).</summary>
    public static int TryLockExclusive(int fd) => flock(fd, 2 /* LOCK_EX */ | 4 /* LOCK_NB */) == 0 ? 0 : LastErrno;

    /// <summary>A shared advisory lock, without waiting: 0, or the errno (EWOULDBLOCK = held exclusively elsewhere).</summary>
    public static int TryLockShared(int fd) => flock(fd, 1 /* LOCK_SH */ | 4 /* LOCK_NB */) == 0 ? 0 : LastErrno;

    public static int MakeDirectory(int dirfd, string name, int mode)
    {
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.mkdirat(dirfd, n.Pointer, (mode_t)mode);
    }

    public static int Rename(int fromDir, string fromName, int toDir, string toName)
    {
        using var from = new NativeName(fromName, stackalloc byte[NativeName.StackBytes]);
        using var to = new NativeName(toName, stackalloc byte[NativeName.StackBytes]);
        return renameat(fromDir, from.Pointer, toDir, to.Pointer);
    }

    public static int Unlink(int dirfd, string name) => unlinkat(dirfd, name, 0);

    public static int RemoveDirectory(int dirfd, string name) => unlinkat(dirfd, name, AT_REMOVEDIR);

    private static int unlinkat(int dirfd, string name, int flags)
    {
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.unlinkat(dirfd, n.Pointer, flags);
    }

    public static int CreateSymlink(string target, int dirfd, string name)
    {
        using var t = new NativeName(target, stackalloc byte[NativeName.StackBytes]);
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.symlinkat(t.Pointer, dirfd, n.Pointer);
    }

    public static int StatNoFollow(int dirfd, string path, out Statx st)
    {
        fixed (Statx* p = &st) return StatxAt(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, p);
    }

    /// <summary>fstat by statx on an open descriptor.</summary>
    public static int StatOpen(int fd, out Statx st)
    {
        byte empty = 0;
        fixed (Statx* p = &st) return LibC.statx(fd, &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, (statx*)p);
    }

    public static int SetMode(int fd, uint mode) => LibC.fchmod(fd, (mode_t)mode);

    /// <summary>
    /// chmod of a directory entry itself, never through a symlink (a symlink fails with EOPNOTSUPP). glibc 2.32+
    /// does it through O_PATH|O_NOFOLLOW and /proc; older glibc (RHEL 8's 2.28), or a host without /proc, refuses
    /// every entry with EOPNOTSUPP, so then the kernel's fchmodat2 (Linux 6.6) is asked, and failing that the
    /// entry is opened without following and changed through its descriptor.
    /// </summary>
    public static int SetModeAt(int dirfd, string name, uint mode)
    {
        if (fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
        if (LastErrno != EOPNOTSUPP) return -1;
        if (FchmodAt2(dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
        return LastErrno == ENOSYS ? SetModeThroughDescriptor(dirfd, name, mode) : -1;
    }

    // The same number on every architecture: syscalls from 403 on share one table.
    private const int SYS_fchmodat2 = 452;

    /// <summary>fchmodat2 (Linux 6.6), which has no libc wrapper before glibc 2.39: through syscall(2).</summary>
    private static int FchmodAt2(int dirfd, string name, uint mode, int flags)
    {
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return (int)(long)LibC.syscall(SYS_fchmodat2, dirfd, n.Pointer, mode, flags);
    }

    /// <summary>The last resort of <see cref="SetModeAt"/>; internal for the tests, as this host never needs it.</summary>
    internal static int SetModeThroughDescriptor(int dirfd, string name, uint mode)
    {
        int path = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
        if (path < 0) return -1;
        int fd = -1, result;
        if (StatOpen(path, out var seen) != 0) result = -1;
        else if ((seen.Mode & S_IFMT) == S_IFLNK) result = Fail(EOPNOTSUPP);
        else if ((seen.Mode & S_IFMT) is not (S_IFDIR or S_IFREG))
        {
            // Opening a device or FIFO could block or act on it. Callers change those only under a private
            // temporary name (.actorsync/tmp), where no link can be swapped in, so following is safe there.
            result = fchmodat(dirfd, name, mode, 0);
        }
        else if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | ((seen.Mode & S_IFMT) == S_IFDIR ? O_DIRECTORY : 0), 0)) < 0)
            result = -1;
        else if (StatOpen(fd, out var opened) != 0) result = -1;
        else if (opened.Ino != seen.Ino || opened.DevMajor != seen.DevMajor || opened.DevMinor != seen.DevMinor)
            result = Fail(ENOENT);   // opened by name a second time: it must still be the inode looked at
        else result = LibC.fchmod(fd, (mode_t)mode);
        int errno = LastErrno;
        if (fd >= 0) close(fd);
        close(path);
        Marshal.SetLastPInvokeError(errno);
        return result;
    }

    private static int Fail(int errno)
    {
        Marshal.SetLastPInvokeError(errno);
        return -1;
    }

    public static int SetModificationTime(int fd, long sec, long nsec)
    {
        Timespec* t = stackalloc Timespec[2];
        t[0] = new Timespec { Sec = 0, Nsec = UTIME_OMIT };
        t[1] = new Timespec { Sec = sec, Nsec = nsec };
        return LibC.futimens(fd, (timespec*)t);
    }

    /// <summary>Sets mtime of a directory entry itself (a symlink is not followed).</summary>
    public static int SetModificationTimeAt(int dirfd, string name, long sec, long nsec)
    {
        Timespec* t = stackalloc Timespec[2];
        t[0] = new Timespec { Sec = 0, Nsec = UTIME_OMIT };
        t[1] = new Timespec { Sec = sec, Nsec = nsec };
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.utimensat(dirfd, n.Pointer, (timespec*)t, AT_SYMLINK_NOFOLLOW);
    }

    /// <summary>pwrite until all bytes are written; returns 0 or the errno.</summary>
    public static int WriteFully(int fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = (nint)LibC.pwrite(fd, p + done, (size_t)(nint)(data.Length - done), (off_t)(offset + done));
                if (n < 0)
                {
                    int e = LastErrno;
                    if (e == EINTR) continue;
                    return e;
                }
                done += (int)n;
            }
        }
        return 0;
    }

    /// <summary>pread until <paramref name="dest"/> is full or end of file; returns bytes read, or -errno.</summary>
    public static int ReadFully(int fd, Span<byte> dest, long offset)
    {
        fixed (byte* p = dest)
        {
            int done = 0;
            while (done < dest.Length)
            {
                nint n = (nint)LibC.pread(fd, p + done, (size_t)(nint)(dest.Length - done), (off_t)(offset + done));
                if (n < 0)
                {
                    int e = LastErrno;
                    if (e == EINTR) continue;
                    return -e;
                }
                if (n == 0) break;
                done += (int)n;
            }
            return done;
        }
    }

    public static int Truncate(int fd, long length) => LibC.ftruncate(fd, (off_t)length);

    private const int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02;

    /// <summary>Makes [offset, offset+length) of an existing file read as zeros: a hole punched where the filesystem
    /// can, zeros written where it cannot. Returns 0 or an errno.</summary>
    public static int ZeroRange(int fd, long offset, long length)
    {
        if (length <= 0 || LibC.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) == 0) return 0;
        int e = LastErrno;
        if (e != EOPNOTSUPP && e != ENOSYS) return e;
        byte[] zeros = new byte[(int)Math.Min(length, 1 << 20)];
        for (long at = offset; at < offset + length; at += zeros.Length)
        {
            int errno = WriteFully(fd, zeros.AsSpan(0, (int)Math.Min(zeros.Length, offset + length - at)), at);
            if (errno != 0) return errno;
        }
        return 0;
    }

    public static int Sync(int fd) => LibC.fsync(fd);

    public static int SyncData(int fd) => LibC.fdatasync(fd);

    /// <summary>Opens an existing regular file for reading and writing, never through a symlink.</summary>
    public static int OpenExisting(int dirfd, string name) => openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);

    public static int Close(int fd) => close(fd);

    /// <summary>Reads a symlink's target (its bytes, see <see cref="Frames.FileNames"/>); null + errno on failure.</summary>
    public static string? ReadLink(string path, out int errno) => ReadLinkAt(AT_FDCWD, path, out errno);

    public static string? ReadLinkAt(int dirfd, string name, out int errno)
    {
        byte* buf = stackalloc byte[4097];
        using var path = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        nint n = (nint)LibC.readlinkat(dirfd, path.Pointer, buf, (size_t)(nint)4097);
        if (n < 0) { errno = LastErrno; return null; }
        errno = 0;
        return Frames.FileNames.Decode(new ReadOnlySpan<byte>(buf, (int)n));
    }
}
