using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// Writes files of its partition (file id modulo the writer count, so one file's state is touched by one
/// actor only), and the symlinks and special files whose path hashes to it. Each file is created under
/// DEST/.actorsync/tmp, written at its offsets as ranges come in from any stream (holes are left unallocated),
/// given its owner, attributes, mode and mtime, and renamed into place once every byte is there (and, for a file
/// sent straight from its source, once its FileEnd says the source held still); then acknowledged.
/// A local failure (a directory in the way, a permission) fails that entry, not the transfer. A full disk
/// stops the transfer, as it does rsync's: every later file would fail the same way. A peer breaking the
/// protocol (overlapping or out-of-bounds ranges, data for an unknown file) is thrown to the supervisor.
/// Flow control: each connection may have <see cref="TransferOptions.WriterCredits"/> commands outstanding here;
/// the writer grants them back in halves, so a connection waits only while this writer is that far behind.
/// </summary>
internal sealed class FileWriter : UntypedActor
{
    private readonly ReceiveSession session;
    private readonly int index;
    private readonly ILogger _log;
    private readonly IActorRef _coordinator;
    private readonly CreditLedger _credits;
    /// <summary>Files committed in the batch at hand: the coordinator hears of them once per batch.</summary>
    private readonly List<ulong> _committed = [];
    private long _committedBytes;

    public FileWriter(ReceiveSession session, int index, ILogger log)
    {
        this.session = session;
        this.index = index;
        _log = log;
        _coordinator = Context.Parent;
        _credits = new CreditLedger(session.Options.WriterCredits, index);
    }

    protected override void OnReceive(object message)
    {
        if (message is not WriteBatch batch)
        {
            Unhandled(message);
            return;
        }
        try
        {
            foreach (var command in batch.Commands) Handle(command);
        }
        finally
        {
            ReportCommitted();
        }
        _credits.Taken(Sender, batch.Commands.Length);
    }

    private sealed class Incoming(FileHeaderFrame header, int fd, string tempName, int directoryFd)
    {
        public readonly FileHeaderFrame Header = header;
        public int Fd = fd;
        public readonly string TempName = tempName;
        /// <summary>Where the temporary lives: DEST/.actorsync/tmp, or .actorsync/partial for a resumable file.</summary>
        public readonly int DirectoryFd = directoryFd;
        public readonly RangeSet Ranges = new();
        public string? Failure;
        /// <summary>The file's length on disk so far: the end of what was written, or of a hole made by extending it.</summary>
        public long Length;
        public bool EndSeen;
        public IReadOnlyList<(string Name, byte[] Value)>? Attributes;
        /// <summary>What this receiver held of the file from an interrupted run, and reported: the sender's Kept
        /// frames may keep those bytes, and no others.</summary>
        public HeldFile? Held;
        // Resumable files only: the journal, and how far its block hashes reach (a durable, contiguous prefix).
        public bool Resumable;
        /// <summary>A large file's data file in DEST/.actorsync/ranges, which other units write too: never unlinked here.</summary>
        public bool Shared;
        /// <summary>Created with its final mode (see <see cref="CreationMode"/>): no fchmod at the commit.</summary>
        public bool ModeSet;
        public int JournalFd = -1;
        public long JournalLength, Checkpointed;

        public bool Complete => Ranges.Covered == Header.Size
            && (EndSeen || (Header.Flags & FileFlags.AwaitsEnd) == 0)
            && (Attributes is not null || (Header.Flags & FileFlags.HasAttributes) == 0);
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
    private long _nodes;

    protected override void PreStart() => _parents = new DirectoryCache(session.Tree);

    private void ReportCommitted()
    {
        if (_committed.Count == 0) return;
        _coordinator.Tell(new ReceiveEvent.FilesCommitted([.. _committed], _committedBytes));
        _committed.Clear();
        _committedBytes = 0;
    }

    private void Handle(WriteCommand command)
    {
        switch (command.Kind)
        {
            case WriteKind.Header: OnHeader(command.Header); return;
            case WriteKind.Data:
                try { OnData(command.FileId, command.Offset, command.Data, command.Retransmit); return; }
                finally { command.ReleaseBuffer(session.Pool); }
            case WriteKind.Hole: OnHole(command.FileId, command.Offset, command.Length, command.Retransmit); return;
            case WriteKind.Kept: OnKept(command.FileId, command.Offset, command.Length, command.Retransmit); return;
            case WriteKind.End: OnEnd(command.FileId, command.Retransmit); return;
            case WriteKind.Attributes: OnAttributes((AttributesFrame)command.Extra!, command.Retransmit); return;
            case WriteKind.Symlink: OnSymlink((SymlinkFrame)command.Extra!); return;
            case WriteKind.Special: OnSpecial((SpecialFrame)command.Extra!); return;
            default: OnAbort(command.FileId, (string)command.Extra!); return;
        }
    }

    private void OnHeader(in FileHeaderFrame header)
    {
        if (_files.TryGetValue(header.FileId, out var known))
        {
            if (known.Header != header) ThrowHelper.ThrowProtocol($"file {header.FileId} announced twice with different metadata");
            return;
        }
        RelativePath.Validate(header.Path);
        if (_aborted.Contains(header.FileId)) return;
        session.BeginFile();
        session.Stats.Found(header.Size);
        var file = session.Range is not null ? OpenShared(header)
            : header.Size >= session.Options.ResumeThreshold ? OpenResumable(header)
            : OpenTemporary(header);
        _files.Add(header.FileId, file);
        if (file.Complete) Finish(file);
    }

    /// <summary>A file of one chunk (or a few): a temporary named after its path, so that one an interruption
    /// leaves finished is found again (in the kept area) and, verified by the sender, committed instead of re-sent.</summary>
    private Incoming OpenTemporary(in FileHeaderFrame header)
    {
        string temp = DestinationTree.TemporaryOf(header.Path);
        if (session.Tree.AnyKept && session.Resumes.TryRemove(header.Path, out var held) && held.InKeptArea && Libc.OpenExisting(session.Tree.KeptFd, temp) is int kept and >= 0)
            return new Incoming(header, kept, temp, session.Tree.KeptFd) { Held = held, Length = header.Size };
        int mode = CreationMode(header.Mode);
        int fd = Libc.CreateExclusive(session.Tree.TempFd, temp, mode);
        if (fd < 0 && Libc.LastErrno == Libc.EEXIST)
        {
            temp = DestinationTree.TempName(session.TransferId, header.FileId);   // another name of this transfer has that temporary
            fd = Libc.CreateExclusive(session.Tree.TempFd, temp, mode);
        }
        var file = new Incoming(header, fd, temp, session.Tree.TempFd) { ModeSet = mode != Libc.PrivateFileMode };
        if (fd < 0) file.Failure = $"cannot create temporary file: {Describe(header.Path, Libc.LastErrno)}";
        return file;
    }

    /// <summary>
    /// The mode a temporary is created with: the file's own when creation surely gives it every bit (no umask or ACL
    /// can clear one, no setuid/setgid/sticky bit, which creation may drop) and it leaves the owner read and write
    /// (an interrupted run's temporary is opened again); the commit then needs no fchmod. Otherwise 0600, set later.
    /// While written, a temporary sits in DEST/.actorsync/tmp, which is 0700: its mode exposes nothing early.
    /// </summary>
    private int CreationMode(uint fileMode)
    {
        uint mode = fileMode & session.Options.ModeMask;
        return session.Tree.CreationKeeps is uint keeps && (mode & ~keeps) == 0 && (mode & 0x180) == 0x180 ? (int)mode : Libc.PrivateFileMode;
    }

    /// <summary>
    /// A larger file goes to .actorsync/partial with a journal (see <see cref="PartialFiles"/>), so an interrupted run
    /// can resume it. If the Offer found bytes of it there, it carries on in that partial (the sender's Kept frames
    /// say which bytes stay); otherwise it starts afresh.
    /// </summary>
    private Incoming OpenResumable(in FileHeaderFrame header)
    {
        int dir = session.Tree.PartialFd;
        string key = PartialFiles.Key(header.Path);
        string journal = PartialFiles.JournalName(key);
        Incoming file;
        if (session.Resumes.TryRemove(header.Path, out var held) && !held.InKeptArea
            && Libc.OpenExisting(dir, key) is int kept and >= 0)
        {
            file = new Incoming(header, kept, key, dir) { Held = held, Resumable = true, Checkpointed = held.DurablePrefix / PartialFiles.BlockSize * PartialFiles.BlockSize };
            file.Length = Libc.StatOpen(kept, out var data) == 0 ? (long)data.Size : 0;
            file.JournalFd = Libc.OpenExisting(dir, journal);
            file.JournalLength = file.JournalFd >= 0 && Libc.StatOpen(file.JournalFd, out var st) == 0 ? (long)st.Size : 0;
            _log.LogInformation("resuming {Path}: holding {Blocks} blocks from an interrupted run", RelativePath.Printable(header.Path), held.Blocks.Length);
        }
        else
        {
            PartialFiles.Remove(dir, key);
            int fd = Libc.CreateExclusive(dir, key);
            int errno = Libc.LastErrno;
            file = new Incoming(header, fd, key, dir) { Resumable = true };
            if (fd < 0) { file.Failure = $"cannot create partial file: {Describe(header.Path, errno)}"; return file; }
            file.JournalFd = Libc.CreateExclusive(dir, journal);
            byte[] line = System.Text.Encoding.UTF8.GetBytes(PartialFiles.Header(header));
            if (file.JournalFd >= 0 && Libc.WriteFully(file.JournalFd, line, 0) == 0) file.JournalLength = line.Length;
        }
        if (file.JournalFd < 0) file.Failure ??= $"cannot open the resume journal: {Describe(header.Path, Libc.LastErrno)}";
        return file;
    }

    /// <summary>
    /// A unit of a large file's ranges (or the one finishing it) writes into the file's shared data file, made if it
    /// is not there yet (then no marker of an earlier one may vouch for its bytes). No journal: a range's unit either
    /// confirms it whole (fsynced, with a marker) or is sent again whole.
    /// </summary>
    private Incoming OpenShared(in FileHeaderFrame header)
    {
        string key = PartialFiles.Key(header.Path);
        session.Resumes.TryRemove(header.Path, out var held);
        int fd = -1, dir = -1, errno = 0;
        for (int attempt = 0; attempt < 2 && fd < 0; attempt++)
        {
            dir = session.Tree.SharedRangesFd(reopen: attempt > 0);
            if (dir < 0) { errno = -dir; break; }
            fd = Libc.OpenExisting(dir, key);
            if (fd < 0 && Libc.LastErrno == Libc.ENOENT)
            {
                SharedRanges.RemoveMarkers(dir, key);
                fd = Libc.CreateOrOpen(dir, key);
            }
            errno = fd < 0 ? Libc.LastErrno : 0;
            if (errno != Libc.ENOENT) break;   // ENOENT: the directory was taken away under this descriptor
        }
        var file = new Incoming(header, fd, key, dir) { Held = held, Shared = true };
        if (fd < 0) file.Failure = $"cannot open the file's shared partial: {Describe(header.Path, errno)}";
        else file.Length = Libc.StatOpen(fd, out var st) == 0 ? (long)st.Size : 0;
        return file;
    }

    /// <summary>
    /// A range is in: its bytes reach the disk, then its marker says so (the coordinator counts it confirmed on the
    /// strength of that marker, and the finishing unit keeps what it vouches for).
    /// </summary>
    private void CommitRange(Incoming file, FileRangeUnit range)
    {
        var h = file.Header;
        if (Libc.Sync(file.Fd) != 0)
        {
            Fail(file, $"cannot make the range durable: {Describe(h.Path, Libc.LastErrno)}");
            return;
        }
        Libc.Close(file.Fd);
        file.Fd = -1;
        var (start, end) = range.Of(h.Size);
        if (end > start && SharedRanges.WriteMarker(file.DirectoryFd, file.TempName, range.Index, h.Size, h.MTime, start, end) is int errno and not 0)
            Fail(file, $"cannot record the range as written: {Describe(h.Path, errno)}");
    }

    /// <summary>
    /// Once the contiguous prefix has grown by checkpoint-every: hash its new whole blocks (read back from the page
    /// cache), fsync the data, then append their B lines and a C line to the journal and fdatasync it. One fsync per
    /// checkpoint per file, in this writer only: the other writers and the network carry on meanwhile.
    /// </summary>
    private void CheckpointIfDue(Incoming file)
    {
        long size = file.Header.Size, prefix = file.Ranges.Prefix;
        if (!file.Resumable || file.Failure is not null || prefix == size || prefix - file.Checkpointed < session.Options.CheckpointEvery) return;
        long durable = prefix / PartialFiles.BlockSize * PartialFiles.BlockSize;
        if (durable <= file.Checkpointed) return;
        var hashes = new List<byte[]>();
        long first = file.Checkpointed / PartialFiles.BlockSize;
        if (!PartialFiles.HashBlocks(file.Fd, first, (durable - file.Checkpointed) / PartialFiles.BlockSize, size, hashes) || Libc.Sync(file.Fd) != 0)
        {
            Fail(file, $"cannot make the received prefix durable: {Describe(file.Header.Path, Libc.LastErrno)}");
            return;
        }
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < hashes.Count; i++) text.Append(PartialFiles.Block(first + i, hashes[i]));
        text.Append(PartialFiles.Durable(durable));
        byte[] lines = System.Text.Encoding.ASCII.GetBytes(text.ToString());
        if (Libc.WriteFully(file.JournalFd, lines, file.JournalLength) != 0 || Libc.SyncData(file.JournalFd) != 0)
        {
            Fail(file, $"cannot write the resume journal: {Describe(file.Header.Path, Libc.LastErrno)}");
            return;
        }
        file.JournalLength += lines.Length;
        file.Checkpointed = durable;
    }

    /// <summary>Notes in the journal that these bytes were written (not synced: a hint the next run verifies).</summary>
    private static void NoteWritten(Incoming file, long offset, long length)
    {
        if (!file.Resumable || file.JournalFd < 0) return;
        Span<byte> line = stackalloc byte[64];
        if (!System.Text.Unicode.Utf8.TryWrite(line, $"R {offset} {length}\n", out int n)) return;
        if (Libc.WriteFully(file.JournalFd, line[..n], file.JournalLength) == 0) file.JournalLength += n;
    }

    /// <summary>The file in progress a range (or hole, end, attributes) belongs to; null when it is to be dropped.</summary>
    private Incoming? Lookup(ulong id, bool retransmit, string what)
    {
        if (_files.TryGetValue(id, out var file)) return file;
        // A retransmitted frame of a file that completed meanwhile (already committed), or one of an aborted file
        // that came after its abort: nothing to do.
        if (retransmit || _aborted.Contains(id)) return null;
        ThrowHelper.ThrowProtocol($"{what} for file {id}, which was never announced (or is already complete)");
        return null;
    }

    /// <summary>Records [offset, offset+length) as arrived; overlaps are a protocol violation except in a retransmission.</summary>
    private static void AddRange(Incoming file, long offset, long length, bool retransmit)
    {
        if (offset > file.Header.Size - length) ThrowHelper.ThrowProtocol($"bytes at {offset}+{length} lie past the end of \"{RelativePath.Printable(file.Header.Path)}\" ({file.Header.Size} bytes)");
        if (retransmit) file.Ranges.AddAllowingOverlap(offset, length);
        else if (!file.Ranges.TryAdd(offset, length)) ThrowHelper.ThrowProtocol($"bytes at {offset}+{length} of \"{RelativePath.Printable(file.Header.Path)}\" overlap bytes already received");
    }

    private void OnData(ulong id, long offset, ReadOnlySpan<byte> data, bool retransmit)
    {
        if (Lookup(id, retransmit, "data") is not { } file) return;
        AddRange(file, offset, data.Length, retransmit);
        if (file.Failure is null)
        {
            int errno = Libc.WriteFully(file.Fd, data, offset);
            if (errno != 0) Fail(file, $"write failed: {Describe(file.Header.Path, errno)}");
            else
            {
                file.Length = Math.Max(file.Length, offset + data.Length);
                NoteWritten(file, offset, data.Length);
                CheckpointIfDue(file);
            }
        }
        if (file.Complete) Finish(file);
    }

    /// <summary>A hole is not written: the file is only extended over it where it ends there (ftruncate allocates nothing).</summary>
    private void OnHole(ulong id, long offset, long length, bool retransmit)
    {
        if (Lookup(id, retransmit, "a hole") is not { } file) return;
        AddRange(file, offset, length, retransmit);
        if (file.Failure is null && (file.Held is not null || file.Shared) && offset < file.Length)
        {
            // Reused from an interrupted run: what it holds there is not this version's hole.
            int errno = Libc.ZeroRange(file.Fd, offset, Math.Min(length, file.Length - offset));
            if (errno != 0) Fail(file, $"cannot clear a hole: {Describe(file.Header.Path, errno)}");
        }
        if (file.Failure is null && offset + length > file.Length)
        {
            // A shared partial may have grown meanwhile by other units' ranges, which ftruncate would cut away: it is
            // extended by writing the hole's last byte (a zero, this range's own), which only ever grows a file.
            int errno = file.Shared ? Libc.WriteFully(file.Fd, [0], offset + length - 1)
                : Libc.Truncate(file.Fd, offset + length) != 0 ? Libc.LastErrno : 0;
            if (errno != 0) Fail(file, $"cannot extend the file over a hole: {Describe(file.Header.Path, errno)}");
            else file.Length = offset + length;
        }
        if (file.Failure is null) NoteWritten(file, offset, length);
        CheckpointIfDue(file);
        if (file.Complete) Finish(file);
    }

    /// <summary>Bytes this receiver held and the sender verified: kept as they are, not written again.</summary>
    private void OnKept(ulong id, long offset, long length, bool retransmit)
    {
        if (Lookup(id, retransmit, "kept bytes") is not { } file) return;
        if (file.Held is not { } held || !held.Reported(offset, length))
            ThrowHelper.ThrowProtocol($"kept bytes {offset}+{length} of \"{RelativePath.Printable(file.Header.Path)}\", which this receiver did not report holding");
        AddRange(file, offset, length, retransmit);
        session.Stats.Resumed(length);
        CheckpointIfDue(file);
        if (file.Complete) Finish(file);
    }

    private void OnEnd(ulong id, bool retransmit)
    {
        if (Lookup(id, retransmit, "FileEnd") is not { } file) return;
        if ((file.Header.Flags & FileFlags.AwaitsEnd) == 0) ThrowHelper.ThrowProtocol($"FileEnd for file {id}, which was not announced as awaiting one");
        file.EndSeen = true;
        if (file.Complete) Finish(file);
    }

    private void OnAttributes(AttributesFrame attributes, bool retransmit)
    {
        if (Lookup(attributes.FileId, retransmit, "attributes") is not { } file) return;
        if ((file.Header.Flags & FileFlags.HasAttributes) == 0) ThrowHelper.ThrowProtocol($"attributes for file {attributes.FileId}, which was not announced with any");
        file.Attributes = attributes.Attributes;
        if (file.Complete) Finish(file);
    }

    private void Finish(Incoming file)
    {
        _files.Remove(file.Header.FileId);
        session.EndFile();
        List<string>? incomplete = null;
        if (file.Failure is null && session.Range is { Finishes: false } range) CommitRange(file, range);
        else if (file.Failure is null) incomplete = Commit(file);
        if (file.Failure is { } failure)
        {
            Discard(file);
            _coordinator.Tell(new ReceiveEvent.EntryFailed(file.Header.Path, failure, EntryType.File));
            return;
        }
        session.Stats.Done(1, file.Header.Size);
        _committed.Add(file.Header.FileId);
        _committedBytes += file.Header.Size;
        if (incomplete is null) return;
        foreach (string reason in incomplete)
            _coordinator.Tell(new ReceiveEvent.EntryIncomplete(file.Header.Path, reason));
    }

    /// <summary>
    /// Owner first (chown clears setuid bits and file capabilities), then attributes, mode and mtime, all on the
    /// open descriptor; then into place. Returns what could not be applied to a file that was still committed.
    /// </summary>
    private List<string>? Commit(Incoming file)
    {
        var h = file.Header;
        List<string>? incomplete = null;
        // A reused partial may reach past this version's end (something grew it between the runs).
        if (file.Length > h.Size && Libc.Truncate(file.Fd, h.Size) != 0)
        {
            Fail(file, $"cannot cut the file to its size: {Describe(h.Path, Libc.LastErrno)}");
            return null;
        }
        if (session.Owners.ForCreated(h.Uid, h.Gid) is { } owner && Libc.SetOwner(file.Fd, owner.Uid, owner.Gid) != 0)
            (incomplete ??= []).Add($"cannot set owner {h.Uid}:{h.Gid}: {Libc.Describe(Libc.LastErrno)}");
        foreach (var (name, value) in file.Attributes ?? [])
        {
            if (!session.Owners.MaySetAttribute(name)) continue;
            int errno = Libc.WriteAttribute(file.Fd, name, value);
            if (errno != 0) (incomplete ??= []).Add($"cannot set extended attribute {FileNames.Printable(name)}: {Describe(h.Path, errno)}");
        }
        if ((!file.ModeSet && Libc.SetMode(file.Fd, h.Mode & session.Options.ModeMask) != 0) || Libc.SetModificationTime(file.Fd, h.MTime.Seconds, h.MTime.Nanoseconds) != 0)
        {
            Fail(file, $"cannot set mode/mtime: {Libc.Describe(Libc.LastErrno)}");
            return null;
        }
        Libc.Close(file.Fd);
        file.Fd = -1;
        // A shared data file's markers go before it does: a marker never outlives the bytes it vouches for.
        if (file.Shared) SharedRanges.RemoveMarkers(file.DirectoryFd, file.TempName);
        if (MoveIntoPlace(file.DirectoryFd, file.TempName, h.Path) is { } failure)
        {
            Fail(file, failure);
            return null;
        }
        CloseJournal(file, remove: true);
        if (file.Shared) session.Tree.ReleaseSharedRanges();
        return incomplete;
    }

    /// <summary>Renames a finished temporary over its final name (replacing, never following, what is there).</summary>
    private string? MoveIntoPlace(int fromFd, string temp, string path)
    {
        var (parent, name) = RelativePath.Split(path);
        int dirFd = _parents!.Get(parent);
        if (dirFd < 0) return DestinationTree.DescribeOpenFailure(parent, -dirFd);
        if (Libc.Rename(fromFd, temp, dirFd, name) == 0) return null;
        int e = Libc.LastErrno;
        if (e == Libc.EACCES)
        {
            // A directory a finished copy made read-only: opened up for the transfer, which restores its mode at the end.
            session.Tree.MakeWritable(dirFd);
            if (Libc.Rename(fromFd, temp, dirFd, name) == 0) return null;
            e = Libc.LastErrno;
        }
        if (Libc.IsOutOfSpace(e)) throw new DestinationFullException(path, e);
        return e is Libc.EISDIR or Libc.ENOTEMPTY or Libc.EEXIST ? "a directory of that name is in the way" : $"cannot move into place: {Libc.Describe(e)}";
    }

    private static void CloseJournal(Incoming file, bool remove)
    {
        if (file.JournalFd >= 0) Libc.Close(file.JournalFd);
        file.JournalFd = -1;
        if (remove && file.Resumable) Libc.Unlink(file.DirectoryFd, PartialFiles.JournalName(file.TempName));
    }

    private void OnSymlink(SymlinkFrame link)
    {
        RelativePath.Validate(link.Path);
        string temp = NodeName();
        string? failure = null;
        if (Libc.CreateSymlink(link.Target, session.Tree.TempFd, temp) != 0) failure = $"cannot create symlink: {Describe(link.Path, Libc.LastErrno)}";
        else
        {
            if (session.Owners.ForCreated(link.Uid, link.Gid) is { } owner) Libc.SetOwnerAt(session.Tree.TempFd, temp, owner.Uid, owner.Gid);
            Libc.SetModificationTimeAt(session.Tree.TempFd, temp, link.MTime.Seconds, link.MTime.Nanoseconds);
            failure = MoveIntoPlace(session.Tree.TempFd, temp, link.Path);
            if (failure is not null) Libc.Unlink(session.Tree.TempFd, temp);
        }
        Report(link.Path, failure, EntryType.Symlink);
    }

    /// <summary>
    /// A device, FIFO or socket: made in the temporary area (mknod), given owner, mode and mtime by name (it is
    /// never opened: opening a FIFO blocks, a device acts), then renamed into place. Devices need a root receiver.
    /// </summary>
    private void OnSpecial(SpecialFrame node)
    {
        RelativePath.Validate(node.Path);
        int type = (int)node.Mode & Libc.S_IFMT;
        if (type is not (Libc.S_IFCHR or Libc.S_IFBLK or Libc.S_IFIFO or Libc.S_IFSOCK)) ThrowHelper.ThrowProtocol($"special file \"{RelativePath.Printable(node.Path)}\" of type 0x{type:x}");
        string temp = NodeName();
        string? failure = null;
        if (Libc.MakeNode(session.Tree.TempFd, temp, (uint)type | 0x180, node.Major, node.Minor) != 0)
        {
            int e = Libc.LastErrno;
            failure = e == Libc.EPERM && type is Libc.S_IFCHR or Libc.S_IFBLK
                ? "a device node needs a root receiver; not created"
                : $"cannot create {(type == Libc.S_IFIFO ? "FIFO" : type == Libc.S_IFSOCK ? "socket" : "device")}: {Describe(node.Path, e)}";
        }
        else
        {
            if (session.Owners.ForCreated(node.Uid, node.Gid) is { } owner) Libc.SetOwnerAt(session.Tree.TempFd, temp, owner.Uid, owner.Gid);
            if (Libc.SetModeAt(session.Tree.TempFd, temp, node.Mode & session.Options.ModeMask) != 0
                || Libc.SetModificationTimeAt(session.Tree.TempFd, temp, node.MTime.Seconds, node.MTime.Nanoseconds) != 0)
                failure = $"cannot set mode/mtime: {Libc.Describe(Libc.LastErrno)}";
            else failure = MoveIntoPlace(session.Tree.TempFd, temp, node.Path);
            if (failure is not null) Libc.Unlink(session.Tree.TempFd, temp);
        }
        Report(node.Path, failure, EntryType.Special);
    }

    /// <summary>A temporary name for a link or node, unique in this transfer: made and renamed within one message.</summary>
    private string NodeName() => $"{session.TransferId:N}-n{index}-{_nodes++}";

    private void Report(string path, string? failure, EntryType type)
    {
        ReceiveEvent e = failure is null ? new ReceiveEvent.EntryCommitted(type) : new ReceiveEvent.EntryFailed(path, failure, type);
        _coordinator.Tell(e);
    }

    /// <summary>The first abort of a file discards it; another for the same file (a re-sent stream, two ranges
    /// that met the same change) changes nothing and is not counted again.</summary>
    private void OnAbort(ulong id, string reason)
    {
        if (_aborted.Contains(id)) return;
        if (_abortedOrder.Count >= MaxAbortedRemembered) _aborted.Remove(_abortedOrder.Dequeue());
        _aborted.Add(id);
        _abortedOrder.Enqueue(id);
        string what = $"file {id}";
        if (_files.Remove(id, out var file))
        {
            session.EndFile();
            Discard(file);
            what = RelativePath.Printable(file.Header.Path);
        }
        // Else the abort overtook all of the file's ranges: they will be dropped when they come.
        _coordinator.Tell(new ReceiveEvent.FileAborted(id, $"{what}: {reason}"));
    }

    /// <summary>An errno as a reason; out of space throws instead, ending the transfer (see the class summary).
    /// Partials keep their last checkpoint, so the re-run after space is freed resumes them.</summary>
    private static string Describe(string path, int errno)
    {
        if (Libc.IsOutOfSpace(errno)) throw new DestinationFullException(path, errno);
        return Libc.Describe(errno);
    }

    private static void Fail(Incoming file, string reason)
    {
        // Logged once, by the coordinator, when the file is accounted for.
        file.Failure ??= reason;
    }

    private static void Discard(Incoming file)
    {
        if (file.Fd >= 0) Libc.Close(file.Fd);
        file.Fd = -1;
        if (file.Shared) return;   // other units' ranges are in it; a failed finish leaves it for the next attempt
        Libc.Unlink(file.DirectoryFd, file.TempName);
        CloseJournal(file, remove: true);
    }

    /// <summary>
    /// Incomplete files never reach their final name. Temporaries are removed; resumable partials stay, with
    /// their journal, for the next run to verify and carry on.
    /// </summary>
    protected override void PostStop()
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
    }
}
