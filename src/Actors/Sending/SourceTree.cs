using System.Runtime.InteropServices;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Sending;

/// <summary>
/// Opens files of the source tree for reading. A path the kernel accepts whole (under PATH_MAX) is opened in one
/// call; a deeper one (a relative path near PATH_MAX under a long SRC) is resolved one directory at a time below
/// SRC, never through a symlink.
/// </summary>
internal sealed class SourceTree(string root)
{
    /// <summary>PATH_MAX, counting the terminating NUL.</summary>
    public const int PathMax = 4096;

    public string Root { get; } = root;

    /// <summary>An fd, or -1 with the errno in <paramref name="errno"/>.</summary>
    public int OpenFile(in ReadWork work, out int errno)
    {
        int fd = FileNames.GetByteCount(work.FullPath) < PathMax ? Libc.OpenForRead(work.FullPath) : OpenBelowRoot(work.RelativePath);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd;
    }

    private int OpenBelowRoot(string relative)
    {
        var (parent, name) = RelativePath.Split(relative);
        int dir = OpenDirectoryBelowRoot(parent);
        if (dir < 0) return -1;
        int fd = Libc.OpenFileAt(dir, name);
        int e = Libc.LastErrno;
        Libc.Close(dir);
        if (fd < 0) Marshal.SetLastPInvokeError(e);
        return fd;
    }

    /// <summary>A directory below SRC, resolved one component at a time, never through a symlink; -1 with the errno set.</summary>
    public int OpenDirectoryBelowRoot(string parent)
    {
        int dir = Libc.OpenDirectoryFollowing(Root);
        if (dir < 0 || parent.Length == 0) return dir;
        foreach (var range in parent.AsSpan().Split('/'))
        {
            int next = Libc.OpenDirectoryToList(dir, parent[range]);
            int errno = Libc.LastErrno;
            Libc.Close(dir);
            if (next < 0) { Marshal.SetLastPInvokeError(errno); return -1; }
            dir = next;
        }
        return dir;
    }
}
