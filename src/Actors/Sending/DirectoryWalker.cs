using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Streams the source tree depth-first: files to the manifest (offered before they are read), everything else
/// to the readers. Directories are read with getdents64 and their entries looked at relative to the directory's
/// descriptor, so names are the kernel's bytes and no path is resolved twice. The walk holds one open listing
/// per level of the path it is on, parked while it is deeper down: memory follows the tree's depth, not its
/// width. Names of an inode already sent become hard links (rsync -H).
/// </summary>
internal sealed class DirectoryWalker(string root, IActorRef<ReadWork> readers, IActorRef<ManifestMessage> manifest, SemaphoreSlim window,
    IActorRef<SendEvent> coordinator, WalkResult result, TransferStats stats, TransferOptions options, CancellationToken abort)
    : Actor<DirectoryWalker.Start>
{
    public readonly record struct Start;

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

    // Only inodes with names still to come are remembered: an entry goes once all its links are seen, so the
    // table follows the hard links not yet closed, not the tree (links leading outside the tree stay).
    private readonly Dictionary<(uint, uint, ulong), FirstName> _linked = [];
    private ulong _nextFileId = 1;

    /// <summary>Levels that keep their listing buffer (32 KiB) while the walk is deeper: the usual tree is shallower,
    /// and parking copies what is left of a listing. Deeper levels park, so memory stays bounded by depth.</summary>
    private const int ParkBeyond = 8;

    /// <summary>Deepest the walk went (levels held at once): what its memory follows. For tests.</summary>
    internal int MaxLevels { get; private set; }

    protected internal override async ValueTask ReceiveAsync(Start message)
    {
        var levels = new Stack<Level>();
        int rootFd = Libc.OpenDirectoryFollowing(root);
        if (rootFd < 0)
        {
            await ReportAsync(".", $"cannot list directory: {Libc.Describe(Libc.LastErrno)}").ConfigureAwait(false);
            stats.MarkWalkComplete();
            return;
        }
        levels.Push(new Level(new DirectoryListing(rootFd), "", root));
        try
        {
            while (levels.Count > 0)
            {
                MaxLevels = Math.Max(MaxLevels, levels.Count);
                abort.ThrowIfCancellationRequested();
                var level = levels.Peek();
                bool more;
                string name;
                try { more = level.Listing.Next(out name, out _); }
                catch (IOException e)
                {
                    await ReportAsync(level.Relative.Length == 0 ? "." : level.Relative, $"cannot list directory: {e.Message}", level.Relative.Length > 0 ? SkipMode.UnlistedDirectory : SkipMode.NotSent).ConfigureAwait(false);
                    more = false;
                    name = "";
                }
                if (!more)
                {
                    levels.Pop().Dispose();
                    continue;
                }
                if (level.Relative.Length == 0 && name == RelativePath.ReservedTopLevel)
                {
                    Context.Log.LogWarning("skipping {Name}: the name is reserved for the receiver's working files", name);
                    continue;
                }
                string rel = level.Relative.Length == 0 ? name : level.Relative + "/" + name;
                if (await VisitAsync(level, rel, name).ConfigureAwait(false) is { } child)
                {
                    if (levels.Count >= ParkBeyond) level.Listing.Park();
                    levels.Push(child);
                }
            }
        }
        finally
        {
            while (levels.Count > 0) levels.Pop().Dispose();
        }
        stats.MarkWalkComplete();
    }

    /// <summary>Hands one entry on; a directory that can be listed comes back as the next level.</summary>
    private async ValueTask<Level?> VisitAsync(Level parent, string rel, string name)
    {
        int dirFd = parent.Listing.Fd;
        if (Libc.StatNoFollow(dirFd, name, out var st) != 0)
        {
            int errno = Libc.LastErrno;
            await ReportAsync(rel, errno == Libc.ENOENT ? "vanished since its directory was listed" : Libc.Describe(errno)).ConfigureAwait(false);
            return null;
        }
        if (!RelativePath.IsValid(rel, out string? why))
        {
            await ReportAsync(rel, $"cannot be sent: {why}").ConfigureAwait(false);
            return null;
        }
        string full = parent.Full + "/" + name;
        var mtime = new FileTime(st.Mtime.Sec, st.Mtime.Nsec);
        uint mode = (uint)st.Mode & 0xFFF;
        uint uid = options.PreserveOwner ? st.Uid : FrameLimits.KeepId, gid = options.PreserveGroup ? st.Gid : FrameLimits.KeepId;
        switch (st.Mode & Libc.S_IFMT)
        {
            case Libc.S_IFDIR:
                int fd = Libc.OpenDirectoryToList(dirFd, name);
                int openErrno = fd < 0 ? Libc.LastErrno : 0;
                var attributes = fd >= 0 && options.PreserveAttributes ? await AttributesOfAsync(fd, rel).ConfigureAwait(false) : null;
                result.Directories++;
                await readers.TellAsync(new ReadWork(EntryKind.Directory, rel, full, 0, mode, mtime, 0, null, Uid: uid, Gid: gid, Attributes: attributes), abort).ConfigureAwait(false);
                if (fd < 0)
                {
                    await ReportAsync(rel, $"cannot list directory: {Libc.Describe(openErrno)}", SkipMode.UnlistedDirectory).ConfigureAwait(false);
                    return null;
                }
                return new Level(new DirectoryListing(fd), rel, full);
            case Libc.S_IFREG:
                long size = (long)st.Size;
                if (options.PreserveHardLinks && st.Nlink > 1 && LinkToEarlierName(st, rel) is { } first)
                {
                    await readers.TellAsync(new ReadWork(EntryKind.HardLink, rel, full, first.Size, mode, first.MTime, 0, first.Path), abort).ConfigureAwait(false);
                    return null;
                }
                result.Files++;
                result.Bytes += size;
                stats.Found(size);
                // Blocks of 512 bytes: fewer than the size needs means holes, worth finding with SEEK_DATA.
                bool sparse = (long)st.Blocks * 512 < size;
                // Files are offered first; only those the receiver needs reach the readers.
                await window.WaitAsync(abort).ConfigureAwait(false);
                await manifest.TellAsync(new ManifestMessage.Offer(new ReadWork(EntryKind.File, rel, full, size, mode, mtime, _nextFileId++, null,
                    Uid: uid, Gid: gid, Sparse: sparse)), abort).ConfigureAwait(false);
                return null;
            case Libc.S_IFLNK:
                string? target = Libc.ReadLinkAt(dirFd, name, out int linkErrno);
                if (target is null)
                {
                    await ReportAsync(rel, $"cannot read symlink: {Libc.Describe(linkErrno)}").ConfigureAwait(false);
                    return null;
                }
                result.Symlinks++;
                await readers.TellAsync(new ReadWork(EntryKind.Symlink, rel, full, 0, mode, mtime, 0, target, Uid: uid, Gid: gid), abort).ConfigureAwait(false);
                return null;
            default:
                // Devices, FIFOs and sockets: recreated where the receiver can (rsync -a's -D), reported where not.
                await readers.TellAsync(new ReadWork(EntryKind.Special, rel, full, 0, (uint)st.Mode & 0xFFFF, mtime, 0, null, Uid: uid, Gid: gid,
                    Major: st.RdevMajor, Minor: st.RdevMinor), abort).ConfigureAwait(false);
                return null;
        }
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

    private async ValueTask<IReadOnlyList<(string, byte[])>?> AttributesOfAsync(int fd, string rel)
    {
        var attributes = Libc.ReadAttributes(fd, out int errno);
        if (attributes is null) await ReportAsync(rel, $"cannot read extended attributes: {Libc.Describe(errno)}", SkipMode.SentIncomplete).ConfigureAwait(false);
        return SendableAttributes.Of(attributes);
    }

    /// <summary>A problem with an entry: counted, told to the coordinator (for the sender's report) and, through a
    /// reader, to the receiver, which then knows the directories above it are not complete.</summary>
    private async ValueTask ReportAsync(string rel, string reason, uint skipMode = SkipMode.NotSent)
    {
        stats.EntryFailed();
        await coordinator.TellAsync(new SendEvent.Problem(rel, reason), abort).ConfigureAwait(false);
        await readers.TellAsync(new ReadWork(EntryKind.Skipped, rel, "", 0, skipMode, default, 0, reason), abort).ConfigureAwait(false);
    }
}
