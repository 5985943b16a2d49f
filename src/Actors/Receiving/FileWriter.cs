using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// Writes files of its partition (file id modulo the writer count, so one file's state is touched by one
/// actor only). Each file is created under DEST/.actorsync/tmp, written at its offsets as ranges come in from
/// any stream, given its mode and mtime, and renamed into place once every byte is there; then acknowledged.
/// A local failure (a directory in the way, a permission) fails that entry, not the transfer. A full disk
/// stops the transfer, as it does rsync's: every later file would fail the same way. A peer breaking the
/// protocol (overlapping or out-of-bounds ranges, data for an unknown file) is thrown to the supervisor.
/// </summary>
internal sealed class FileWriter(ReceiveSession session) : Actor<WriteCommand>
{
    private sealed class Incoming(FileHeaderFrame header, int fd, string tempName, int directoryFd)
    {
        public readonly FileHeaderFrame Header = header;
        public int Fd = fd;
        public readonly string TempName = tempName;
        /// <summary>Where the temporary lives: DEST/.actorsync/tmp, or .actorsync/partial for a resumable file.</summary>
        public readonly int DirectoryFd = directoryFd;
        public readonly RangeSet Ranges = new();
        public string? Failure;
        // Resumable files only: the journal, and the hash over the prefix made durable so far.
        public int JournalFd = -1;
        public long JournalLength, Checkpointed;
        public System.Security.Cryptography.IncrementalHash? Hash;
        public bool Resumable => Hash is not null;
    }

    // Only files in progress are kept: memory follows the files in flight, not the size of the tree. A header
    // repeated after its file completed opens an entry that can never count towards the totals (the
    // coordinator checks them), so completed ids need not be remembered.
    private readonly Dictionary<ulong, Incoming> _files = [];

    // A file's ranges travel on several streams and its FileAbort on one of them, so ranges (each with the
    // file's header in front) may come before the abort or after it. Aborted ids are remembered to drop the
    // late ones; a bounded number, since aborts are rare (files that failed mid-read at the sender).
    private readonly HashSet<ulong> _aborted = [];
    private readonly Queue<ulong> _abortedOrder = new();
    private const int MaxAbortedRemembered = 4096;
    private DirectoryCache? _parents;

    protected internal override ValueTask PreStartAsync()
    {
        _parents = new DirectoryCache(session.Tree);
        return ValueTask.CompletedTask;
    }

    protected internal override ValueTask ReceiveAsync(WriteCommand command)
    {
        switch (command.Kind)
        {
            case WriteKind.Header: return OnHeader(command.Header);
            case WriteKind.Data:
                try { return OnData(command.FileId, command.Offset, command.Buffer!.AsSpan(0, command.Length), command.Retransmit); }
                finally { session.Pool.Return(command.Buffer!); }
            case WriteKind.Symlink: return OnSymlink(command.Symlink);
            default: return OnAbort(command.FileId, command.Reason!);
        }
    }

    private ValueTask OnHeader(in FileHeaderFrame header)
    {
        if (_files.TryGetValue(header.FileId, out var known))
        {
            if (known.Header != header) ThrowHelper.ThrowProtocol($"file {header.FileId} announced twice with different metadata");
            return ValueTask.CompletedTask;
        }
        RelativePath.Validate(header.Path);
        if (_aborted.Contains(header.FileId)) return ValueTask.CompletedTask;
        session.BeginFile();
        session.Stats.Found(header.Size);
        var file = header.Size >= session.Options.ResumeThreshold ? OpenResumable(header) : OpenTemporary(header);
        _files.Add(header.FileId, file);
        return file.Ranges.Covered == header.Size ? FinishAsync(file) : ValueTask.CompletedTask;
    }

    private Incoming OpenTemporary(in FileHeaderFrame header)
    {
        string temp = DestinationTree.TempName(session.TransferId, header.FileId);
        int fd = Libc.CreateExclusive(session.Tree.TempFd, temp);
        var file = new Incoming(header, fd, temp, session.Tree.TempFd);
        if (fd < 0) file.Failure = $"cannot create temporary file: {Describe(header.Path, Libc.LastErrno)}";
        return file;
    }

    /// <summary>
    /// A large file goes to .actorsync/partial with a journal, so an interrupted run can resume it. If the Offer
    /// found a verified prefix of it, writing carries on after that prefix; otherwise it starts afresh.
    /// </summary>
    private Incoming OpenResumable(in FileHeaderFrame header)
    {
        int dir = session.Tree.PartialFd;
        string key = PartialFiles.Key(header.Path);
        string journal = PartialFiles.JournalName(key);
        Incoming file;
        if (session.Resumes.TryRemove(header.Path, out var resume) && Libc.OpenExisting(dir, key) is int kept and >= 0)
        {
            file = new Incoming(header, kept, key, dir) { Hash = resume.Hash, Checkpointed = resume.Offset };
            file.Ranges.TryAdd(0, resume.Offset);
            file.JournalFd = Libc.OpenExisting(dir, journal);
            file.JournalLength = file.JournalFd >= 0 && Libc.StatNoFollow(dir, journal, out var st) == 0 ? (long)st.Size : 0;
            Context.Log.LogInformation("resuming {Path} after {Bytes} bytes kept from an interrupted run", header.Path, resume.Offset);
        }
        else
        {
            PartialFiles.Remove(dir, key);
            int fd = Libc.CreateExclusive(dir, key);
            file = new Incoming(header, fd, key, dir) { Hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256) };
            if (fd < 0) { file.Failure = $"cannot create partial file: {Describe(header.Path, Libc.LastErrno)}"; return file; }
            file.JournalFd = Libc.CreateExclusive(dir, journal);
            byte[] line = System.Text.Encoding.UTF8.GetBytes(PartialFiles.Header(header));
            if (file.JournalFd >= 0 && Libc.WriteFully(file.JournalFd, line, 0) == 0) file.JournalLength = line.Length;
        }
        if (file.JournalFd < 0) file.Failure ??= $"cannot open the resume journal: {Describe(header.Path, Libc.LastErrno)}";
        return file;
    }

    /// <summary>
    /// Once the contiguous prefix has grown by checkpoint-every: hash the new part (read back from the page cache),
    /// fsync the data, then append "offset hash" to the journal and fdatasync it. One fsync per checkpoint per
    /// file, in this writer only: the other writers and the network carry on meanwhile.
    /// </summary>
    private void CheckpointIfDue(Incoming file)
    {
        long prefix = file.Ranges.Prefix;
        if (!file.Resumable || file.Failure is not null || prefix == file.Header.Size || prefix - file.Checkpointed < session.Options.CheckpointEvery) return;
        if (!PartialFiles.Append(file.Hash!, file.Fd, file.Checkpointed, prefix) || Libc.Sync(file.Fd) != 0)
        {
            Fail(file, $"cannot make the received prefix durable: {Describe(file.Header.Path, Libc.LastErrno)}");
            return;
        }
        byte[] line = System.Text.Encoding.ASCII.GetBytes(PartialFiles.Checkpoint(prefix, file.Hash!.GetCurrentHash()));
        if (Libc.WriteFully(file.JournalFd, line, file.JournalLength) != 0 || Libc.SyncData(file.JournalFd) != 0)
        {
            Fail(file, $"cannot write the resume journal: {Describe(file.Header.Path, Libc.LastErrno)}");
            return;
        }
        file.JournalLength += line.Length;
        file.Checkpointed = prefix;
    }

    private ValueTask OnData(ulong id, long offset, ReadOnlySpan<byte> data, bool retransmit)
    {
        if (!_files.TryGetValue(id, out var file))
        {
            // A retransmitted range of a file that completed meanwhile (already committed), or a range of an
            // aborted file that came after its abort: nothing to do.
            if (retransmit || _aborted.Contains(id)) return ValueTask.CompletedTask;
            ThrowHelper.ThrowProtocol($"data for file {id}, which was never announced (or is already complete)");
        }
        if (offset > file.Header.Size - data.Length) ThrowHelper.ThrowProtocol($"data at {offset}+{data.Length} lies past the end of \"{RelativePath.Printable(file.Header.Path)}\" ({file.Header.Size} bytes)");
        if (retransmit) file.Ranges.AddAllowingOverlap(offset, data.Length);
        else if (!file.Ranges.TryAdd(offset, data.Length)) ThrowHelper.ThrowProtocol($"data at {offset}+{data.Length} of \"{RelativePath.Printable(file.Header.Path)}\" overlaps bytes already received");
        if (file.Failure is null)
        {
            int errno = Libc.WriteFully(file.Fd, data, offset);
            if (errno != 0) Fail(file, $"write failed: {Describe(file.Header.Path, errno)}");
            else CheckpointIfDue(file);
        }
        return file.Ranges.Covered == file.Header.Size ? FinishAsync(file) : ValueTask.CompletedTask;
    }

    private async ValueTask FinishAsync(Incoming file)
    {
        _files.Remove(file.Header.FileId);
        session.EndFile();
        if (file.Failure is null) Commit(file);
        if (file.Failure is { } failure)
        {
            Discard(file);
            await session.Coordinator.TellAsync(new ReceiveEvent.EntryFailed(file.Header.Path, failure, IsSymlink: false)).ConfigureAwait(false);
            return;
        }
        session.Stats.Done(1, file.Header.Size);
        await session.Coordinator.TellAsync(new ReceiveEvent.FileCommitted(file.Header.FileId, file.Header.Size)).ConfigureAwait(false);
    }

    private void Commit(Incoming file)
    {
        var h = file.Header;
        uint mode = h.Mode & (session.Options.PreserveSpecialBits ? 0xFFFu : 0x1FFu);
        if (Libc.SetMode(file.Fd, mode) != 0 || Libc.SetModificationTime(file.Fd, h.MTime.Seconds, h.MTime.Nanoseconds) != 0)
        {
            Fail(file, $"cannot set mode/mtime: {Libc.Describe(Libc.LastErrno)}");
            return;
        }
        Libc.Close(file.Fd);
        file.Fd = -1;
        var (parent, name) = RelativePath.Split(h.Path);
        int dirFd = _parents!.Get(parent);
        if (dirFd < 0) { Fail(file, DestinationTree.DescribeOpenFailure(parent, -dirFd)); return; }
        if (Libc.Rename(file.DirectoryFd, file.TempName, dirFd, name) != 0)
        {
            int e = Libc.LastErrno;
            Fail(file, e is Libc.EISDIR or Libc.ENOTEMPTY or Libc.EEXIST ? "a directory of that name is in the way" : $"cannot move into place: {Libc.Describe(e)}");
            return;
        }
        CloseJournal(file, remove: true);
    }

    private static void CloseJournal(Incoming file, bool remove)
    {
        if (file.JournalFd >= 0) Libc.Close(file.JournalFd);
        file.JournalFd = -1;
        if (remove && file.Resumable) Libc.Unlink(file.DirectoryFd, PartialFiles.JournalName(file.TempName));
        file.Hash?.Dispose();
        file.Hash = null;
    }

    private async ValueTask OnSymlink(SymlinkFrame link)
    {
        RelativePath.Validate(link.Path);
        string? failure = CreateSymlink(link);
        ReceiveEvent e = failure is null ? new ReceiveEvent.SymlinkCommitted(link.Path) : new ReceiveEvent.EntryFailed(link.Path, failure, IsSymlink: true);
        await session.Coordinator.TellAsync(e).ConfigureAwait(false);
    }

    /// <summary>Created in the temp area, then renamed over the final name (which it replaces, never follows).</summary>
    private string? CreateSymlink(in SymlinkFrame link)
    {
        string temp = $"{session.TransferId:N}-l{Environment.CurrentManagedThreadId}-{link.Path.GetHashCode():x}";
        if (Libc.CreateSymlink(link.Target, session.Tree.TempFd, temp) != 0) return $"cannot create symlink: {Describe(link.Path, Libc.LastErrno)}";
        Libc.SetModificationTimeAt(session.Tree.TempFd, temp, link.MTime.Seconds, link.MTime.Nanoseconds);
        var (parent, name) = RelativePath.Split(link.Path);
        int dirFd = _parents!.Get(parent);
        string? failure = dirFd < 0 ? DestinationTree.DescribeOpenFailure(parent, -dirFd)
            : Libc.Rename(session.Tree.TempFd, temp, dirFd, name) != 0 ? $"cannot move into place: {Libc.Describe(Libc.LastErrno)}"
            : null;
        if (failure is not null) Libc.Unlink(session.Tree.TempFd, temp);
        return failure;
    }

    private async ValueTask OnAbort(ulong id, string reason)
    {
        if (_aborted.Contains(id)) ThrowHelper.ThrowProtocol($"file {id} aborted twice");
        if (_abortedOrder.Count >= MaxAbortedRemembered) _aborted.Remove(_abortedOrder.Dequeue());
        _aborted.Add(id);
        _abortedOrder.Enqueue(id);
        string what = $"file {id}";
        if (_files.Remove(id, out var file))
        {
            session.EndFile();
            Discard(file);
            what = file.Header.Path;
        }
        // Else the abort overtook all of the file's ranges: they will be dropped when they come.
        await session.Coordinator.TellAsync(new ReceiveEvent.FileAborted(id, $"{what}: {reason}")).ConfigureAwait(false);
    }

    /// <summary>An errno as a reason; out of space throws instead, ending the transfer (see the class summary).
    /// Partials keep their last checkpoint, so the re-run after space is freed resumes them.</summary>
    private static string Describe(string path, int errno)
    {
        if (Libc.IsOutOfSpace(errno)) throw new DestinationFullException(path, errno);
        return Libc.Describe(errno);
    }

    private void Fail(Incoming file, string reason)
    {
        // Logged once, by the coordinator, when the file is accounted for.
        file.Failure ??= reason;
    }

    private void Discard(Incoming file)
    {
        if (file.Fd >= 0) Libc.Close(file.Fd);
        file.Fd = -1;
        Libc.Unlink(file.DirectoryFd, file.TempName);
        CloseJournal(file, remove: true);
    }

    /// <summary>
    /// Incomplete files never reach their final name. Temporaries are removed; resumable partials stay, with
    /// their journal, for the next run to verify and carry on.
    /// </summary>
    protected internal override ValueTask PostStopAsync()
    {
        foreach (var file in _files.Values)
        {
            if (!file.Resumable || file.Failure is not null) { Discard(file); continue; }
            if (file.Fd >= 0) Libc.Close(file.Fd);
            file.Fd = -1;
            CloseJournal(file, remove: false);
        }
        _files.Clear();
        _parents?.Dispose();
        _parents = null;
        return ValueTask.CompletedTask;
    }
}
