using System.Runtime.InteropServices;

namespace ActorSync.Transport.Interop;

/// <summary>
/// All libc calls of the product, as in Kestrel's socket transport: one partial class whose methods say what
/// they do. The calls go through Tmds.LibC (Tmds.Linux.LibC) where it has them, and through our own imports
/// where it does not (each says why); every one sets the last P/Invoke error, so one convention holds for all:
/// a failed call returns -1 (or -errno / the errno where the method says so) and <see cref="LastErrno"/> is the
/// exact errno (.NET's own wrappers map ENOENT/EBUSY to misleading codes). Split by concern into Libc.*.cs.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    public const int ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17,
        ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, ELOOP = 40, ENOTEMPTY = 39, ENOSYS = 38, EXDEV = 18,
        EOPNOTSUPP = 95, ENOTCONN = 107, EBADMSG = 74, EPERM = 1, EDQUOT = 122;

    /// <summary>Last errno of a failed call made through this class.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>The filesystem (or the user's quota) is full: no later write would succeed either.</summary>
    public static bool IsOutOfSpace(int errno) => errno is ENOSPC or EDQUOT;

    public static void CloseQuietly(int fd)
    {
        if (fd >= 0) close(fd);
    }

    /// <summary>Ends the process now with <paramref name="status"/>, running no exit handlers (a user's second Ctrl+C:
    /// a handler that waits is exactly what they are cutting short).</summary>
    public static void ExitNow(int status) => Tmds.Linux.LibC._exit(status);
}
