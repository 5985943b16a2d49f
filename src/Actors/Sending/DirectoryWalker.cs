using System.IO.Enumeration;
using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Streams the source tree depth-first into the reader pool. It holds only the stack of directories still to
/// visit; entries go out one by one, and the readers' bounded mailbox makes the walk wait when they lag.
/// </summary>
internal sealed class DirectoryWalker(string root, IActorRef<ReadWork> readers, IActorRef<ManifestMessage> manifest, SemaphoreSlim window,
    IActorRef<SendEvent> coordinator, WalkResult result, TransferStats stats, CancellationToken abort)
    : Actor<DirectoryWalker.Start>
{
    public readonly record struct Start;

    private static readonly EnumerationOptions ListOnly = new()
    {
        RecurseSubdirectories = false,
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        ReturnSpecialDirectories = false,
    };

    private ulong _nextFileId = 1;

    protected internal override async ValueTask ReceiveAsync(Start message)
    {
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            string relDir = pending.Pop();
            string fullDir = relDir.Length == 0 ? root : Path.Join(root, relDir);
            // Listed lazily, not collected: a directory of a million entries costs no more memory than one of ten.
            IEnumerator<string> names;
            try { names = new FileSystemEnumerable<string>(fullDir, (ref FileSystemEntry e) => e.FileName.ToString(), ListOnly).GetEnumerator(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await ReportAsync(relDir.Length == 0 ? "." : relDir, $"cannot list directory: {e.Message}").ConfigureAwait(false);
                continue;
            }
            using var listing = names;
            while (true)
            {
                abort.ThrowIfCancellationRequested();
                bool more;
                try { more = names.MoveNext(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    await ReportAsync(relDir.Length == 0 ? "." : relDir, $"cannot list directory: {e.Message}").ConfigureAwait(false);
                    break;
                }
                if (!more) break;
                string name = names.Current;
                if (relDir.Length == 0 && name == RelativePath.ReservedTopLevel)
                {
                    Context.Log.LogWarning("skipping {Name}: the name is reserved for the receiver's working files", name);
                    continue;
                }
                string rel = relDir.Length == 0 ? name : relDir + "/" + name;
                await VisitAsync(rel, Path.Join(fullDir, name), pending).ConfigureAwait(false);
            }
        }
        stats.MarkWalkComplete();
    }

    private async ValueTask VisitAsync(string rel, string full, Stack<string> pending)
    {
        if (Libc.StatNoFollow(Libc.AT_FDCWD, full, out var st) != 0)
        {
            await ReportAsync(rel, Libc.Describe(Libc.LastErrno)).ConfigureAwait(false);
            return;
        }
        if (!RelativePath.IsValid(rel, out string? why))
        {
            await ReportAsync(rel, $"cannot be sent: {why}").ConfigureAwait(false);
            return;
        }
        var mtime = new FileTime(st.Mtime.Sec, st.Mtime.Nsec);
        uint mode = (uint)st.Mode & 0xFFF;
        switch (st.Mode & Libc.S_IFMT)
        {
            case Libc.S_IFDIR:
                result.Directories++;
                pending.Push(rel);
                await readers.TellAsync(new ReadWork(EntryKind.Directory, rel, full, 0, mode, mtime, 0, null), abort).ConfigureAwait(false);
                break;
            case Libc.S_IFREG:
                result.Files++;
                result.Bytes += (long)st.Size;
                stats.Found((long)st.Size);
                // Files are offered first; only those the receiver needs reach the readers.
                await window.WaitAsync(abort).ConfigureAwait(false);
                await manifest.TellAsync(new ManifestMessage.Offer(new ReadWork(EntryKind.File, rel, full, (long)st.Size, mode, mtime, _nextFileId++, null)), abort).ConfigureAwait(false);
                break;
            case Libc.S_IFLNK:
                string? target = Libc.ReadLink(full, out int errno);
                if (target is null)
                {
                    await ReportAsync(rel, $"cannot read symlink: {Libc.Describe(errno)}").ConfigureAwait(false);
                    return;
                }
                result.Symlinks++;
                await readers.TellAsync(new ReadWork(EntryKind.Symlink, rel, full, 0, mode, mtime, 0, target), abort).ConfigureAwait(false);
                break;
            default:
                Context.Log.LogWarning("skipping {Path}: not a regular file, directory or symlink", rel);
                break;
        }
    }

    private ValueTask ReportAsync(string rel, string reason)
    {
        stats.Skip();
        return coordinator.TellAsync(new SendEvent.Problem(rel, reason, Announced: false), abort);
    }
}
