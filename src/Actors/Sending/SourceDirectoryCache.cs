using System.Runtime.InteropServices;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Sending;

/// <summary>
/// One reader's open directories of the source tree, so a file is opened by its name below its directory's
/// descriptor rather than by its full path: the kernel then resolves one component per file instead of all of them
/// (measured on 100K small files: the full-path openat was a tenth of the sender's CPU, half of it in the path walk).
/// Readers take files directory by directory, so a few entries suffice; each holds one descriptor. An actor's own,
/// never shared.
/// </summary>
internal sealed class SourceDirectoryCache(SourceTree tree) : IDisposable
{
    /// <summary>Enough for a reader's batch spanning a few directories (batched units interleave several).</summary>
    private const int Capacity = 8;

    private readonly Dictionary<string, int> _fds = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private int _rootFd = -1;

    /// <summary>An fd of the file, or -1 with the errno in <paramref name="errno"/> (then nothing is cached for it).</summary>
    public int OpenFile(in ReadWork work, out int errno)
    {
        var (parent, name) = RelativePath.Split(work.RelativePath);
        int dir = Directory(parent);
        if (dir < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }
        int fd = Libc.OpenFileAt(dir, name);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd;
    }

    private int Directory(string parent)
    {
        if (_fds.TryGetValue(parent, out int fd)) return fd;
        if (_rootFd < 0)
        {
            _rootFd = Libc.OpenDirectoryFollowing(tree.Root);   // SRC itself may be a symlink to the tree, as rsync's SRC/
            if (_rootFd < 0) return -1;
        }
        if (parent.Length == 0) return _rootFd;
        fd = FileNames.GetByteCount(parent) < SourceTree.PathMax ? Libc.OpenDirectoryToList(_rootFd, parent) : tree.OpenDirectoryBelowRoot(parent);
        if (fd < 0) return -1;
        if (_fds.Count >= Capacity && _order.TryDequeue(out string? oldest) && _fds.Remove(oldest, out int old)) Libc.Close(old);
        _fds[parent] = fd;
        _order.Enqueue(parent);
        return fd;
    }

    public void Dispose()
    {
        foreach (int fd in _fds.Values) Libc.Close(fd);
        _fds.Clear();
        _order.Clear();
        if (_rootFd >= 0) Libc.Close(_rootFd);
        _rootFd = -1;
    }
}
