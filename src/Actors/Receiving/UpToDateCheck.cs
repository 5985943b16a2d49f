using System.Security.Cryptography;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// Does DEST already hold this file? rsync's quick check: a regular file (never through a symlink) of the same
/// size and mtime (to the nanosecond); with --checksum, the same size and SHA-256 instead. A file whose bytes
/// match but whose mode (or, with --checksum, mtime) differs is fixed in place rather than re-sent.
/// </summary>
internal static class UpToDateCheck
{
    public static bool IsUpToDate(ReceiveSession session, DirectoryCache lookups, OfferEntry entry)
    {
        var (parent, name) = RelativePath.Split(entry.Path);
        int dirFd = lookups.Get(parent, create: false);
        if (dirFd < 0 || Libc.StatNoFollow(dirFd, name, out var st) != 0) return false;
        if ((st.Mode & Libc.S_IFMT) != Libc.S_IFREG || (long)st.Size != entry.Size) return false;
        bool sameTime = st.Mtime.Sec == entry.MTime.Seconds && st.Mtime.Nsec == entry.MTime.Nanoseconds;
        if (entry.Hash is null ? !sameTime : !SameContent(dirFd, name, entry)) return false;
        // A dry run changes nothing: the bytes are there, so nothing would be sent.
        if (session.Tree.DryRun) return true;

        // Fixed in place, by name but never through a symlink (the entry may have been swapped for one since the
        // statx): a fix that fails makes the file "not up to date", and it is sent and rewritten instead.
        uint keep = session.Options.ModeMask;
        if (session.Owners.For(entry.Uid, entry.Gid, st.Uid, st.Gid) is { } owner && Libc.SetOwnerAt(dirFd, name, owner.Uid, owner.Gid) != 0) return false;
        if ((st.Mode & keep) != (entry.Mode & keep) && Libc.SetModeAt(dirFd, name, entry.Mode & keep) != 0) return false;
        if (!sameTime && Libc.SetModificationTimeAt(dirFd, name, entry.MTime.Seconds, entry.MTime.Nanoseconds) != 0) return false;
        return true;
    }

    private static bool SameContent(int dirFd, string name, OfferEntry entry)
    {
        int fd = Libc.OpenAtForRead(dirFd, name);
        if (fd < 0) return false;
        try
        {
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false);
            using var stream = new FileStream(handle, FileAccess.Read, 1 << 16);
            return SHA256.HashData(stream).AsSpan().SequenceEqual(entry.Hash);
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
