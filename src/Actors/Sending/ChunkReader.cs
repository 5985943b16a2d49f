using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Sending;

/// <summary>
/// One of a balancing pool of readers. Small files and metadata are packed, frames and bytes together, into
/// the reader's current pooled buffer, so a hundred small files cost one buffer, one message and one send;
/// a file too big for one buffer becomes ranges, each in its own buffer, each with the file's header in front
/// so whichever stream carries it the receiver knows the file. File bytes are read straight into the buffer
/// behind their frame header: no intermediate copy.
/// </summary>
internal sealed class ChunkReader(BufferPool pool, IActorRef<SenderCommand> streams, IActorRef<SendEvent> coordinator, TransferStats stats, bool fileRanges, CancellationToken abort)
    : Actor<ReadWork>
{
    private byte[]? _batch;
    private int _used;
    private long _batchPayload;

    protected internal override async ValueTask ReceiveAsync(ReadWork work)
    {
        switch (work.Kind)
        {
            case EntryKind.Directory:
                await AppendAsync(new DirectoryFrame(work.RelativePath, work.Mode, work.MTime)).ConfigureAwait(false);
                break;
            case EntryKind.Symlink:
                await AppendAsync(new SymlinkFrame(work.RelativePath, work.LinkTarget!, work.MTime)).ConfigureAwait(false);
                break;
            default:
                int overhead = FrameWriter.FileHeaderLength(work.RelativePath) + FrameWriter.DataHeaderLength;
                if (work.Size + overhead <= pool.BufferSize)
                    await ReadSmallAsync(work, overhead).ConfigureAwait(false);
                else if (work.Start >= work.Size)
                    await AppendAsync(new FileHeaderFrame(work.FileId, work.RelativePath, work.Size, work.Mode, work.MTime)).ConfigureAwait(false);
                else if (fileRanges)
                    await SendLargeAsFileRangesAsync(work, overhead).ConfigureAwait(false);
                else
                    await ReadLargeAsync(work, overhead).ConfigureAwait(false);
                break;
        }
    }

    protected internal override async ValueTask PostStopAsync()
    {
        if (!abort.IsCancellationRequested) await FlushAsync().ConfigureAwait(false);
        else if (_batch is not null) { pool.Return(_batch); _batch = null; }
    }

    private async ValueTask ReadSmallAsync(ReadWork work, int overhead)
    {
        await EnsureSpaceAsync(overhead + (int)work.Size).ConfigureAwait(false);
        int fd = Libc.OpenForRead(work.FullPath);
        if (fd < 0)
        {
            await ProblemAsync(work, OpenFailure(Libc.LastErrno), announced: false).ConfigureAwait(false);
            return;
        }
        string? changed;
        try
        {
            int n = Libc.ReadFully(fd, _batch.AsSpan(_used + overhead, (int)work.Size), 0);
            changed = n < 0 ? Libc.Describe(-n) : ChangedSinceWalk(fd, work);
        }
        finally
        {
            Libc.Close(fd);
        }
        if (changed is not null)
        {
            await ProblemAsync(work, changed, announced: false).ConfigureAwait(false);
            return;
        }
        int size = (int)work.Size;
        var header = new FileHeaderFrame(work.FileId, work.RelativePath, size, work.Mode, work.MTime);
        int h = FrameWriter.FileHeader(_batch.AsSpan(_used), header);
        FrameWriter.DataHeader(_batch.AsSpan(_used + h), work.FileId, 0, size);
        _used += overhead + size;
        _batchPayload += size;
    }

    private async ValueTask ReadLargeAsync(ReadWork work, int overhead)
    {
        int fd = Libc.OpenForRead(work.FullPath);
        if (fd < 0)
        {
            await ProblemAsync(work, OpenFailure(Libc.LastErrno), announced: false).ConfigureAwait(false);
            return;
        }
        try
        {
            var header = new FileHeaderFrame(work.FileId, work.RelativePath, work.Size, work.Mode, work.MTime);
            int rangeCapacity = pool.BufferSize - overhead;
            for (long offset = work.Start; offset < work.Size;)
            {
                byte[] buffer = await pool.RentAsync(abort).ConfigureAwait(false);
                int want = (int)Math.Min(rangeCapacity, work.Size - offset);
                int n = Libc.ReadFully(fd, buffer.AsSpan(overhead, want), offset);
                string? failure = n < 0 ? Libc.Describe(-n)
                    : n != want ? $"{ChangedWhileRead}: shrank to {offset + n} bytes"
                    : offset + n == work.Size ? ChangedSinceWalk(fd, work)   // after the last read: the copy is consistent
                    : null;
                if (failure is not null)
                {
                    pool.Return(buffer);
                    await AbortFileAsync(work, failure, announced: offset > work.Start).ConfigureAwait(false);
                    return;
                }
                int h = FrameWriter.FileHeader(buffer, header);
                FrameWriter.DataHeader(buffer.AsSpan(h), work.FileId, offset, n);
                await streams.TellAsync(SenderCommand.Send(new Chunk(buffer, overhead + n, n)), abort).ConfigureAwait(false);
                offset += n;
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>
    /// Kernel-TLS path for large files: each range is just its frame headers plus a reference to the open file;
    /// the stream sends the bytes with sendfile(2) straight from the page cache (or, on a userspace stream,
    /// reads them itself). The buffer rented per range only holds the headers but still counts against the
    /// pool, which keeps the number of ranges in flight bounded.
    /// Measured in the kTLS VM (Debian 6.1, qemu TCG, so only the ratio means anything), 64 MiB in 4 files
    /// kernel->kernel, 4 streams, best of 2: sendfile 3.16 s wall / 6.24 s CPU, read()+send() 3.30 s / 6.51 s.
    /// sendfile wins by ~4-5% there, and it saves two user-space copies per byte on real hardware, so it
    /// stays (config transfer.sendfile = false turns it off). The seed's splice() stalled on ACKs; sendfile
    /// into kTLS did not.
    /// </summary>
    private async ValueTask SendLargeAsFileRangesAsync(ReadWork work, int overhead)
    {
        int fd = Libc.OpenForRead(work.FullPath);
        if (fd < 0)
        {
            await ProblemAsync(work, OpenFailure(Libc.LastErrno), announced: false).ConfigureAwait(false);
            return;
        }
        var file = new SourceFile(fd, work.RelativePath, work.FileId);
        try
        {
            var header = new FileHeaderFrame(work.FileId, work.RelativePath, work.Size, work.Mode, work.MTime);
            int rangeCapacity = pool.BufferSize - overhead;
            for (long offset = work.Start; offset < work.Size;)
            {
                int n = (int)Math.Min(rangeCapacity, work.Size - offset);
                // The stream reads these bytes later, so this check cannot follow the last read as the other
                // paths' does; made before the last range is queued, it catches a change during all the others.
                if (offset + n == work.Size && ChangedSinceWalk(fd, work) is { } changed)
                {
                    await AbortFileAsync(work, changed, announced: offset > work.Start).ConfigureAwait(false);
                    return;
                }
                byte[] buffer = await pool.RentAsync(abort).ConfigureAwait(false);
                int h = FrameWriter.FileHeader(buffer, header);
                FrameWriter.DataHeader(buffer.AsSpan(h), work.FileId, offset, n);
                var chunk = new Chunk(buffer, overhead, n, file.AddReference(), offset, n);
                await streams.TellAsync(SenderCommand.Send(chunk), abort).ConfigureAwait(false);
                offset += n;
            }
        }
        finally
        {
            file.Release();
        }
    }

    private const string ChangedWhileRead = "changed while being read, not copied (a re-run copies it)";

    private static string OpenFailure(int errno) => errno == Libc.ENOENT ? "vanished since the directory walk" : Libc.Describe(errno);

    /// <summary>
    /// Like tar's "file changed as we read it": a file whose size or mtime moved since the walk may have been
    /// read half old, half new. It is not committed (the receiver keeps whatever it had), and it is reported;
    /// one statx per file, on the descriptor already open.
    /// </summary>
    private static string? ChangedSinceWalk(int fd, in ReadWork work)
    {
        if (Libc.StatOpen(fd, out var st) != 0) return Libc.Describe(Libc.LastErrno);
        if ((long)st.Size == work.Size && st.Mtime.Sec == work.MTime.Seconds && st.Mtime.Nsec == work.MTime.Nanoseconds) return null;
        return (long)st.Size == work.Size ? $"{ChangedWhileRead}: modified in place" : $"{ChangedWhileRead}: {work.Size} -> {st.Size} bytes";
    }

    /// <summary>A file whose header may already be out: tell the receiver to drop it (it never commits it).</summary>
    private async ValueTask AbortFileAsync(ReadWork work, string reason, bool announced)
    {
        if (announced)
        {
            var frame = new FileAbortFrame(work.FileId, reason);
            await EnsureSpaceAsync(FrameLimits.HeaderLength + 8 + 2 + 1100).ConfigureAwait(false);
            _used += FrameWriter.FileAbort(_batch.AsSpan(_used), frame);
        }
        await ProblemAsync(work, reason, announced).ConfigureAwait(false);
    }

    private ValueTask ProblemAsync(ReadWork work, string reason, bool announced)
    {
        stats.Skip();
        return coordinator.TellAsync(new SendEvent.Problem(work.RelativePath, reason, announced), abort);
    }

    private async ValueTask AppendAsync(DirectoryFrame frame)
    {
        await EnsureSpaceAsync(FrameLimits.HeaderLength + 32 + System.Text.Encoding.UTF8.GetByteCount(frame.Path)).ConfigureAwait(false);
        _used += FrameWriter.Directory(_batch.AsSpan(_used), frame);
    }

    /// <summary>A file the receiver already holds whole in a verified partial: its header alone lets it commit.</summary>
    private async ValueTask AppendAsync(FileHeaderFrame frame)
    {
        await EnsureSpaceAsync(FrameWriter.FileHeaderLength(frame.Path)).ConfigureAwait(false);
        _used += FrameWriter.FileHeader(_batch.AsSpan(_used), frame);
    }

    private async ValueTask AppendAsync(SymlinkFrame frame)
    {
        await EnsureSpaceAsync(FrameLimits.HeaderLength + 32 + System.Text.Encoding.UTF8.GetByteCount(frame.Path) + System.Text.Encoding.UTF8.GetByteCount(frame.Target)).ConfigureAwait(false);
        _used += FrameWriter.Symlink(_batch.AsSpan(_used), frame);
    }

    /// <summary>Makes sure the current batch has <paramref name="bytes"/> free, sending it off first if not.</summary>
    private async ValueTask EnsureSpaceAsync(int bytes)
    {
        if (_batch is not null && pool.BufferSize - _used >= bytes) return;
        await FlushAsync().ConfigureAwait(false);
        _batch = await pool.RentAsync(abort).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync()
    {
        if (_batch is null) return;
        var chunk = new Chunk(_batch, _used, _batchPayload);
        _batch = null;
        _used = 0;
        _batchPayload = 0;
        if (chunk.Length == 0) { pool.Return(chunk.Buffer); return; }
        await streams.TellAsync(SenderCommand.Send(chunk), abort).ConfigureAwait(false);
    }
}
