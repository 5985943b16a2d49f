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
/// A local failure (disk full, a directory in the way) fails that entry, not the transfer; a peer breaking
/// the protocol (overlapping or out-of-bounds ranges, data for an unknown file) is thrown to the supervisor.
/// </summary>
internal sealed class FileWriter(ReceiveSession session) : Actor<WriteCommand>
{
    private sealed class Incoming(FileHeaderFrame header, int fd, string tempName)
    {
        public readonly FileHeaderFrame Header = header;
        public int Fd = fd;
        public readonly string TempName = tempName;
        public readonly RangeSet Ranges = new();
        public string? Failure;
    }

    // Only files in progress are kept: memory follows the files in flight, not the size of the tree. A header
    // repeated after its file completed opens an entry that can never count towards the totals (the
    // coordinator checks them), so completed ids need not be remembered.
    private readonly Dictionary<ulong, Incoming> _files = [];
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
        session.Stats.Found(header.Size);
        string temp = DestinationTree.TempName(session.TransferId, header.FileId);
        int fd = Libc.CreateExclusive(session.Tree.TempFd, temp);
        var file = new Incoming(header, fd, temp);
        _files.Add(header.FileId, file);
        if (fd < 0) file.Failure = $"cannot create temporary file: {Libc.Describe(Libc.LastErrno)}";
        return header.Size == 0 ? FinishAsync(file) : ValueTask.CompletedTask;
    }

    private ValueTask OnData(ulong id, long offset, ReadOnlySpan<byte> data, bool retransmit)
    {
        if (!_files.TryGetValue(id, out var file))
        {
            // A retransmitted range of a file that completed meanwhile: already committed, nothing to do.
            if (retransmit) return ValueTask.CompletedTask;
            ThrowHelper.ThrowProtocol($"data for file {id}, which was never announced (or is already complete)");
        }
        if (offset > file.Header.Size - data.Length) ThrowHelper.ThrowProtocol($"data at {offset}+{data.Length} lies past the end of \"{RelativePath.Printable(file.Header.Path)}\" ({file.Header.Size} bytes)");
        if (retransmit) file.Ranges.AddAllowingOverlap(offset, data.Length);
        else if (!file.Ranges.TryAdd(offset, data.Length)) ThrowHelper.ThrowProtocol($"data at {offset}+{data.Length} of \"{RelativePath.Printable(file.Header.Path)}\" overlaps bytes already received");
        if (file.Failure is null)
        {
            int errno = Libc.WriteFully(file.Fd, data, offset);
            if (errno != 0) Fail(file, $"write failed: {Libc.Describe(errno)}");
        }
        return file.Ranges.Covered == file.Header.Size ? FinishAsync(file) : ValueTask.CompletedTask;
    }

    private async ValueTask FinishAsync(Incoming file)
    {
        _files.Remove(file.Header.FileId);
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
        if (Libc.Rename(session.Tree.TempFd, file.TempName, dirFd, name) != 0)
        {
            int e = Libc.LastErrno;
            Fail(file, e is Libc.EISDIR or Libc.ENOTEMPTY or Libc.EEXIST ? "a directory of that name is in the way" : $"cannot move into place: {Libc.Describe(e)}");
        }
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
        if (Libc.CreateSymlink(link.Target, session.Tree.TempFd, temp) != 0) return $"cannot create symlink: {Libc.Describe(Libc.LastErrno)}";
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
        if (!_files.Remove(id, out var file)) ThrowHelper.ThrowProtocol($"abort for file {id}, which is not in progress");
        Discard(file);
        await session.Coordinator.TellAsync(new ReceiveEvent.FileAborted(id, $"{file.Header.Path}: {reason}")).ConfigureAwait(false);
    }

    private void Fail(Incoming file, string reason)
    {
        file.Failure ??= reason;
        Context.Log.LogWarning("cannot write {Path}: {Reason}", file.Header.Path, reason);
    }

    private void Discard(Incoming file)
    {
        if (file.Fd >= 0) Libc.Close(file.Fd);
        file.Fd = -1;
        Libc.Unlink(session.Tree.TempFd, file.TempName);
    }

    /// <summary>Incomplete files never reach their final name: their temporaries are removed.</summary>
    protected internal override ValueTask PostStopAsync()
    {
        foreach (var file in _files.Values) Discard(file);
        _files.Clear();
        _parents?.Dispose();
        _parents = null;
        return ValueTask.CompletedTask;
    }
}
