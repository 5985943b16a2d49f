using System.Runtime.InteropServices;
using Tmds.Linux;

namespace ActorSync.Transport.Interop;

/// <summary>
/// What rsync -aHSX keeps beyond bytes and modes: raw directory listings (names as bytes), holes of sparse
/// files, owners, hard links, device and FIFO nodes, extended attributes; and syncfs for --fsync.
/// Conventions as in the rest of this class: a raw-looking wrapper returns -1 with <see cref="LastErrno"/>.
/// </summary>
internal static unsafe partial class Libc
{
    public const int SEEK_SET = 0, SEEK_DATA = 3, SEEK_HOLE = 4;
    public const int ENXIO = 6, ENODATA = 61, ERANGE = 34, E2BIG = 7, EMFILE = 24, ENAMETOOLONG = 36;
    /// <summary>getdents64 d_type of a directory (DT_DIR); others are resolved by statx.</summary>
    public const byte DT_DIR = 4;
    /// <summary>chown(2): leave this id as it is.</summary>
    public const uint KeepId = uint.MaxValue;

    /// <summary>Not in Tmds.LibC 0.5 (it lists no directory-reading call): glibc's wrapper (2.30+).</summary>
    [LibraryImport(LibraryName, EntryPoint = "getdents64", SetLastError = true)]
    private static partial nint getdents64(int fd, byte* buffer, nuint count);

    // The xattr calls are not in Tmds.LibC 0.5 either.
    [LibraryImport(LibraryName, EntryPoint = "flistxattr", SetLastError = true)]
    private static partial nint flistxattr(int fd, byte* list, nuint size);

    [LibraryImport(LibraryName, EntryPoint = "fgetxattr", SetLastError = true)]
    private static partial nint fgetxattr(int fd, byte* name, byte* value, nuint size);

    [LibraryImport(LibraryName, EntryPoint = "fsetxattr", SetLastError = true)]
    private static partial int fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);

    /// <summary>Reads directory entries into <paramref name="buffer"/> (struct linux_dirent64 records): bytes read, 0 at the end, or -errno.</summary>
    public static int ReadDirectoryEntries(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = getdents64(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                if (LastErrno != EINTR) return -LastErrno;
            }
        }
    }

    /// <summary>
    /// The next data region at or after <paramref name="offset"/>: (start, end) of the data, or null when only a
    /// hole is left (ENXIO). A filesystem without SEEK_DATA reports the whole rest as data.
    /// </summary>
    public static (long Start, long End)? NextData(int fd, long offset, long size)
    {
        long start = LibC.lseek(fd, (off_t)offset, SEEK_DATA);
        if (start < 0) return LastErrno == ENXIO ? null : (offset, size);
        if (start >= size) return null;
        long end = LibC.lseek(fd, (off_t)start, SEEK_HOLE);
        return (start, end < 0 || end > size ? size : end);
    }

    public static bool IsRoot => (uint)LibC.geteuid() == 0;

    public static uint EffectiveGroup => (uint)LibC.getegid();

    /// <summary>The process's supplementary groups and its effective group: the groups it may give a file it owns.</summary>
    public static HashSet<uint> Groups()
    {
        var groups = new HashSet<uint> { EffectiveGroup };
        int count = LibC.getgroups(0, null);
        if (count <= 0) return groups;
        uint* list = stackalloc uint[Math.Min(count, 65536)];
        count = LibC.getgroups(Math.Min(count, 65536), (gid_t*)list);   // gid_t is a uint
        for (int i = 0; i < count; i++) groups.Add(list[i]);
        return groups;
    }

    public static int SetOwner(int fd, uint uid, uint gid) => LibC.fchown(fd, (uid_t)uid, (gid_t)gid);

    /// <summary>chown of a directory entry itself (a symlink is not followed).</summary>
    public static int SetOwnerAt(int dirfd, string name, uint uid, uint gid)
    {
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.fchownat(dirfd, n.Pointer, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
    }

    /// <summary>A new name for an existing file (a hard link); a symlink at the old name is linked, not followed.</summary>
    public static int Link(int fromDir, string fromName, int toDir, string toName)
    {
        using var from = new NativeName(fromName, stackalloc byte[NativeName.StackBytes]);
        using var to = new NativeName(toName, stackalloc byte[NativeName.StackBytes]);
        return LibC.linkat(fromDir, from.Pointer, toDir, to.Pointer, 0);
    }

    /// <summary>A device, FIFO or socket node. <paramref name="mode"/> carries the file type bits.</summary>
    public static int MakeNode(int dirfd, string name, uint mode, uint major, uint minor)
    {
        using var n = new NativeName(name, stackalloc byte[NativeName.StackBytes]);
        return LibC.mknodat(dirfd, n.Pointer, (mode_t)mode, (dev_t)MakeDevice(major, minor));
    }

    /// <summary>glibc's makedev(): the 64-bit dev_t layout.</summary>
    private static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>Flushes the whole filesystem <paramref name="fd"/> lives on: one call makes a transfer durable.</summary>
    public static int SyncFileSystem(int fd) => LibC.syncfs(fd);

    /// <summary>
    /// The extended attributes of an open file or directory as (name, value) pairs, or null + errno. ENOTSUP
    /// (no xattrs on this filesystem) is an empty list.
    /// </summary>
    public static List<(string Name, byte[] Value)>? ReadAttributes(int fd, out int errno)
    {
        errno = 0;
        var result = new List<(string, byte[])>();
        byte[] names = new byte[4096];
        nint n;
        while (true)
        {
            fixed (byte* p = names) n = flistxattr(fd, p, (nuint)names.Length);
            if (n >= 0) break;
            if (LastErrno == ERANGE && names.Length < 1 << 20) { names = new byte[names.Length * 4]; continue; }
            if (LastErrno is EOPNOTSUPP) return result;
            errno = LastErrno;
            return null;
        }
        byte[] value = new byte[4096];
        for (int start = 0; start < n;)
        {
            int end = Array.IndexOf(names, (byte)0, start, (int)n - start);
            if (end < 0) break;
            var name = names.AsSpan(start, end - start + 1);   // NUL-terminated, as fgetxattr wants it
            while (true)
            {
                nint length;
                fixed (byte* pn = name)
                fixed (byte* pv = value)
                    length = fgetxattr(fd, pn, pv, (nuint)value.Length);
                if (length >= 0)
                {
                    result.Add((Frames.FileNames.Decode(name[..^1]), value.AsSpan(0, (int)length).ToArray()));   // names are bytes, like paths
                    break;
                }
                if (LastErrno == ERANGE && value.Length < 1 << 20) { value = new byte[value.Length * 4]; continue; }
                if (LastErrno == ENODATA) break;   // removed meanwhile
                errno = LastErrno;
                return null;
            }
            start = end + 1;
        }
        return result;
    }

    /// <summary>
    /// The permission bits (of 0777) that O_CREAT's mode is sure to give a file created in <paramref name="dirFd"/>:
    /// all but the process umask's, when the directory has no default ACL (which replaces the umask). Null when it
    /// cannot be told (no /proc, an ACL, an error): then modes are set explicitly. The umask is read from
    /// /proc/self/status, never by calling umask(), which would change it for a moment for every thread.
    /// </summary>
    public static uint? BitsCreationKeeps(int dirFd)
    {
        uint? umask = null;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Umask:", StringComparison.Ordinal)) { umask = Convert.ToUInt32(line[6..].Trim(), 8); break; }
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        catch (FormatException) { return null; }
        if (umask is not uint mask) return null;
        ReadOnlySpan<byte> acl = "system.posix_acl_default\0"u8;
        nint n;
        fixed (byte* p = acl) n = fgetxattr(dirFd, p, null, 0);
        if (n >= 0 || LastErrno is not (ENODATA or EOPNOTSUPP)) return null;
        return 0x1FFu & ~mask;
    }

    /// <summary>Sets one extended attribute on an open file or directory: 0 or the errno.</summary>
    public static int WriteAttribute(int fd, string name, ReadOnlySpan<byte> value)
    {
        byte[] nameBytes = new byte[Frames.FileNames.GetByteCount(name) + 1];
        Frames.FileNames.Encode(name, nameBytes);
        fixed (byte* pn = nameBytes)
        fixed (byte* pv = value)
            return fsetxattr(fd, pn, pv, (nuint)value.Length, 0) == 0 ? 0 : LastErrno;
    }
}
