using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Akka.Routing;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// One of the readers; each pulls batches of work from the walker when it has none (work pulling), so a reader
/// busy with a big file does not hold up the small ones behind it. Small files and metadata are packed, frames and bytes together, into
/// the reader's current pooled buffer, so a hundred small files cost one buffer, one message and one send;
/// a file too big for one buffer becomes ranges, each in its own buffer, each with the file's header in front
/// so whichever stream carries it the receiver knows the file. File bytes are read straight into the buffer
/// behind their frame header: no intermediate copy. Holes of sparse files are sent as Hole frames, never as
/// zeros. Every entry is counted as announced where its first frame is written, so Done says exactly what
/// the receiver will see.
/// A batch is read by a coroutine (an iterator) that runs inside the actor's messages: where it needs a buffer and
/// the pool has none, it yields, the pool hands the next buffer returned to this actor in a message, and that
/// message resumes it where it stopped. Nothing waits on a thread, and the pool's cap is the readers' backpressure.
/// </summary>
internal sealed class ChunkReader : UntypedActor
{
    /// <summary>What the coroutine yields: it waits for a buffer from the pool.</summary>
    private static readonly object WaitingForBuffer = new();

    private readonly BufferPool pool;
    private readonly Router streams;
    private readonly IActorRef _self;
    private readonly IActorRef walker, coordinator;
    private readonly TransferStats stats;
    private readonly SourceTree source;
    private readonly SourceDirectoryCache _directories;
    private readonly bool fileRanges, attributes;
    private readonly ILogger log;
    private byte[]? _batch;
    private int _used;
    private long _batchPayload;
    /// <summary>The batch being read, where it stopped for a buffer; null when idle.</summary>
    private IEnumerator<object>? _run;
    /// <summary>A buffer the pool handed over, not yet taken by the coroutine.</summary>
    private byte[]? _grant;
    private bool _drainAfterRun;

    public ChunkReader(BufferPool pool, Router streams, IActorRef walker, TransferStats stats, SourceTree source,
        bool fileRanges, bool attributes, ILogger log)
    {
        this.pool = pool;
        _self = Self;
        this.streams = streams;
        this.walker = walker;
        this.stats = stats;
        this.source = source;
        _directories = new SourceDirectoryCache(source);
        this.fileRanges = fileRanges;
        this.attributes = attributes;
        this.log = log;
        coordinator = Context.Parent;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ReadProtocol.Work work:
                _run = Read(work.Items).GetEnumerator();
                Resume();
                break;
            case BufferPool.Granted granted:
                _grant = granted.Buffer;
                Resume();
                break;
            case ReadProtocol.Flush:
                Flush();
                break;
            case ReadProtocol.Drain:
                if (_run is not null) _drainAfterRun = true;
                else Drain();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected override void PreStart() => walker.Tell(ReadProtocol.Pull.Instance, _self);

    /// <summary>Runs the batch on until it waits for a buffer or is done; done, the reader asks for more work.</summary>
    private void Resume()
    {
        if (_run is null) return;
        if (_run.MoveNext()) return;   // it waits for a Granted
        _run.Dispose();
        _run = null;
        if (_drainAfterRun) Drain();
        else walker.Tell(ReadProtocol.Pull.Instance, _self);
    }

    private void Drain()
    {
        _drainAfterRun = false;
        Flush();
        walker.Tell(ReadProtocol.Drained.Instance, _self);
    }

    /// <summary>A buffer now (one the pool handed over, or a free one), or null: then the pool owes this reader one,
    /// and the batch it was packing goes off first. A reader waits holding nothing: were every buffer a half-full
    /// batch of a waiting reader, none would ever come back.</summary>
    private byte[]? TakeBuffer()
    {
        if (_grant is { } granted)
        {
            _grant = null;
            return granted;
        }
        var buffer = pool.RentOrNotify(_self);
        if (buffer is null) Flush();
        return buffer;
    }

    /// <summary>Whether the current batch has <paramref name="bytes"/> free; if not it is sent off, and the caller
    /// waits for a fresh one: <c>while (!Refilled()) yield return WaitingForBuffer;</c>.</summary>
    private bool HasSpace(int bytes)
    {
        if (_batch is not null && pool.BufferSize - _used >= bytes) return true;
        Flush();
        return false;
    }

    private bool Refilled() => (_batch = TakeBuffer()) is not null;

    private IEnumerable<object> Read(ReadWork[] items)
    {
        foreach (var work in items)
        {
            switch (work.Kind)
            {
                case EntryKind.Directory:
                    // The attributes travel right behind the directory, in the same buffer: the receiver sets them once it exists.
                    var (attributeFrame, problem) = AttributeFrame(work, 0, work.Attributes, directory: true);
                    if (problem is not null) foreach (var wait in Problem(work, problem, sentIncomplete: true)) yield return wait;
                    if (!HasSpace(FrameWriter.DirectoryLength(work.RelativePath) + (attributeFrame?.Length ?? 0))) while (!Refilled()) yield return WaitingForBuffer;
                    _used += FrameWriter.Directory(_batch.AsSpan(_used), new DirectoryFrame(work.RelativePath, work.Mode, work.MTime, work.Uid, work.Gid));
                    if (attributeFrame is not null) Append(attributeFrame);
                    stats.AnnouncedDirectory();
                    break;
                case EntryKind.Symlink:
                    if (!HasSpace(FrameWriter.SymlinkLength(work.RelativePath, work.LinkTarget!))) while (!Refilled()) yield return WaitingForBuffer;
                    _used += FrameWriter.Symlink(_batch.AsSpan(_used), new SymlinkFrame(work.RelativePath, work.LinkTarget!, work.MTime, work.Uid, work.Gid));
                    stats.AnnouncedSymlink();
                    break;
                case EntryKind.HardLink:
                    if (!HasSpace(FrameWriter.HardLinkLength(work.RelativePath, work.LinkTarget!))) while (!Refilled()) yield return WaitingForBuffer;
                    _used += FrameWriter.HardLink(_batch.AsSpan(_used), new HardLinkFrame(work.RelativePath, work.LinkTarget!, work.Size, work.MTime));
                    stats.AnnouncedHardLink();
                    break;
                case EntryKind.Skipped:
                    foreach (var wait in AppendSkipped(work.RelativePath, work.LinkTarget!, directory: work.Mode == SkipMode.UnlistedDirectory, sentIncomplete: work.Mode == SkipMode.SentIncomplete))
                        yield return wait;
                    break;
                case EntryKind.Special:
                    if (!HasSpace(FrameWriter.SpecialLength(work.RelativePath))) while (!Refilled()) yield return WaitingForBuffer;
                    _used += FrameWriter.Special(_batch.AsSpan(_used), new SpecialFrame(work.RelativePath, work.Mode, work.Major, work.Minor, work.MTime, work.Uid, work.Gid));
                    stats.AnnouncedSpecial();
                    break;
                default:
                    foreach (var wait in SendFile(work)) yield return wait;
                    break;
            }
        }
    }

    /// <summary>A reader stopped before its drain (the transfer failed or was cancelled): its buffers go back, the
    /// batch's open file is closed (the coroutine's finally blocks), and the pool owes it nothing any more.</summary>
    protected override void PostStop()
    {
        pool.Forget(_self);
        _run?.Dispose();
        _run = null;
        _directories.Dispose();
        if (_batch is not null) { pool.Return(_batch); _batch = null; }
        if (_grant is not null) { pool.Return(_grant); _grant = null; }
    }

    private IEnumerable<object> SendFile(ReadWork work)
    {
        int fd = _directories.OpenFile(work, out int errno);
        if (fd < 0)
        {
            foreach (var wait in Problem(work, OpenFailure(errno))) yield return wait;
            yield break;
        }
        // The descriptor is this method's until one of the senders below takes it (each closes it).
        bool handedOn = false;
        try
        {
            byte[]? attributeFrame = null;
            if (attributes)
            {
                var read = Libc.ReadAttributes(fd, out int attributeErrno);
                if (read is null)
                    foreach (var wait in Problem(work, $"cannot read extended attributes: {Libc.Describe(attributeErrno)}", sentIncomplete: true)) yield return wait;
                (attributeFrame, string? problem) = AttributeFrame(work, work.FileId, SendableAttributes.Of(read), directory: false);
                if (problem is not null) foreach (var wait in Problem(work, problem, sentIncomplete: true)) yield return wait;
            }
            List<(long Start, long End)>? kept = null;
            if (work.Held is { } held)
            {
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                kept = VerifyHeld(fd, work, held, out long keptBytes);
                stats.Resumed(keptBytes);
                var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                long hashed = held.Where(b => b.Hash is not null).Sum(b => (long)b.Length);
                log.LogDebug("{Path}: the receiver holds {Held} blocks; hashed {MiB:F1} MiB of them here in {Ms:F0} ms ({Rate:F0} MB/s); {Kept:F1} MiB kept",
                    RelativePath.Printable(work.RelativePath), held.Length, hashed / 1048576.0, took.TotalMilliseconds, hashed / 1e6 / Math.Max(took.TotalSeconds, 1e-6), keptBytes / 1048576.0);
            }
            handedOn = true;
            int overhead = FrameWriter.FileHeaderLength(work.RelativePath) + (attributeFrame?.Length ?? 0) + FrameWriter.DataHeaderLength;
            var rest = kept is null && work.Size + overhead <= pool.BufferSize ? ReadSmall(work, fd, overhead, attributeFrame)
                : kept is not null && kept.Count == 1 && kept[0] == (0, work.Size) ? AllKept(work, fd, attributeFrame)
                : SendLarge(work, fd, attributeFrame, kept ?? []);
            foreach (var wait in rest) yield return wait;
        }
        finally
        {
            if (!handedOn) Libc.Close(fd);
        }
    }

    /// <summary>
    /// What the receiver holds of a file, checked against the source: blocks it verified itself (against its journal)
    /// are kept; blocks it hashed are kept where the source's bytes hash the same. A local read, far cheaper than
    /// sending them. Returns the kept ranges, merged and in order.
    /// </summary>
    private static List<(long Start, long End)> VerifyHeld(int fd, in ReadWork work, HeldBlock[] held, out long keptBytes)
    {
        var kept = new List<(long Start, long End)>(held.Length);
        byte[]? buffer = null;
        long previousEnd = 0;
        try
        {
            // Disjoint (and hashed pieces are small, see FrameLimits.MaxHashedBlock): what a hostile receiver can make
            // this side read is then at most the file, once.
            foreach (var block in held.OrderBy(b => b.Offset))
            {
                if (block.Offset < previousEnd || block.Length <= 0 || block.Offset > work.Size - block.Length)
                    ThrowHelper.ThrowProtocol($"the receiver holds {block.Offset}+{block.Length} of \"{RelativePath.Printable(work.RelativePath)}\" ({work.Size} bytes), overlapping or out of bounds");
                previousEnd = block.Offset + block.Length;
                if (block.Hash is not null)
                {
                    buffer ??= System.Buffers.ArrayPool<byte>.Shared.Rent(FrameLimits.MaxHashedBlock);
                    int n = Libc.ReadFully(fd, buffer.AsSpan(0, block.Length), block.Offset);
                    if (n != block.Length || !System.Security.Cryptography.SHA256.HashData(buffer.AsSpan(0, n)).AsSpan().SequenceEqual(block.Hash)) continue;
                }
                kept.Add((block.Offset, block.Offset + block.Length));
            }
        }
        finally
        {
            if (buffer is not null) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        kept.Sort();
        var merged = new List<(long Start, long End)>(kept.Count);
        foreach (var (start, end) in kept)
        {
            if (merged.Count > 0 && start <= merged[^1].End) merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, end));
            else merged.Add((start, end));
        }
        keptBytes = merged.Sum(r => r.End - r.Start);
        return merged;
    }

    /// <summary>The receiver already holds the whole file, verified: its header and a Kept frame let it commit.</summary>
    private IEnumerable<object> AllKept(ReadWork work, int fd, byte[]? attributeFrame)
    {
        string? changed = SourceChecks.ChangedSinceWalk(fd, work.Size, work.MTime);
        Libc.Close(fd);
        if (changed is not null)
        {
            foreach (var wait in Problem(work, changed)) yield return wait;
            yield break;
        }
        if (!HasSpace(FrameWriter.FileHeaderLength(work.RelativePath) + (attributeFrame?.Length ?? 0) + FrameWriter.KeptLength)) while (!Refilled()) yield return WaitingForBuffer;
        _used += FrameWriter.FileHeader(_batch.AsSpan(_used), Header(work, Flags(attributeFrame, awaitsEnd: false)));
        if (attributeFrame is not null) Append(attributeFrame);
        _used += FrameWriter.Kept(_batch.AsSpan(_used), work.FileId, 0, work.Size);
        stats.AnnouncedFile();
    }

    private static FileFlags Flags(byte[]? attributeFrame, bool awaitsEnd) =>
        (attributeFrame is null ? FileFlags.None : FileFlags.HasAttributes) | (awaitsEnd ? FileFlags.AwaitsEnd : FileFlags.None);

    private static FileHeaderFrame Header(in ReadWork work, FileFlags flags) =>
        new(work.FileId, work.RelativePath, work.Size, work.Mode, work.MTime, work.Uid, work.Gid, flags);

    private IEnumerable<object> ReadSmall(ReadWork work, int fd, int overhead, byte[]? attributeFrame)
    {
        int size = (int)work.Size;
        string? changed;
        try
        {
            if (!HasSpace(overhead + size)) while (!Refilled()) yield return WaitingForBuffer;
            int n = Libc.ReadFully(fd, _batch.AsSpan(_used + overhead, size), 0);
            // A short read with an unchanged size and mtime (a file that shrank and grew back, a filesystem that
            // reports sizes it does not have, like sysfs) would leave stale pool bytes in the file's place.
            changed = n < 0 ? Libc.Describe(-n)
                : n != size ? $"{SourceChecks.ChangedWhileRead}: read {n} of the {size} bytes it had"
                : SourceChecks.ChangedSinceWalk(fd, work.Size, work.MTime);
        }
        finally
        {
            Libc.Close(fd);
        }
        if (changed is not null)
        {
            foreach (var wait in Problem(work, changed)) yield return wait;
            yield break;
        }
        int h = FrameWriter.FileHeader(_batch.AsSpan(_used), Header(work, Flags(attributeFrame, awaitsEnd: false)));
        attributeFrame?.CopyTo(_batch.AsSpan(_used + h));
        FrameWriter.DataHeader(_batch.AsSpan(_used + h + (attributeFrame?.Length ?? 0)), work.FileId, 0, size);
        _used += overhead + size;
        _batchPayload += size;
        stats.AnnouncedFile();
    }

    /// <summary>
    /// A file in ranges of a buffer each: read here into the buffer behind its headers (userspace streams), or on
    /// kernel-TLS streams sent by reference, the stream's sendfile(2) taking the bytes straight from the page
    /// cache. The buffer rented per range then holds only the headers but still counts against the pool, which
    /// keeps the ranges in flight bounded. Holes (SEEK_DATA/SEEK_HOLE, looked for only when the walk saw fewer
    /// blocks than bytes) go as Hole frames in front of the next data, so they cost nothing on the wire or on
    /// the receiver's disk.
    /// Measured in the kTLS VM (Debian 6.1, qemu TCG, so only the ratio means anything), 64 MiB in 4 files
    /// kernel->kernel, 4 streams, best of 2: sendfile 3.16 s wall / 6.24 s CPU, read()+send() 3.30 s / 6.51 s.
    /// sendfile wins by ~4-5% there, and it saves two user-space copies per byte on real hardware, so it
    /// stays (config transfer.sendfile = false turns it off). The seed's splice() stalled on ACKs; sendfile
    /// into kTLS did not.
    /// </summary>
    private IEnumerable<object> SendLarge(ReadWork work, int fd, byte[]? attributeFrame, List<(long Start, long End)> kept)
    {
        // By reference, the bytes are read when a stream sends them, so the file is judged then (see SourceFile).
        var file = fileRanges ? new SourceFile(fd, work.RelativePath, work.FileId, work.Size, work.MTime) : null;
        var header = Header(work, Flags(attributeFrame, awaitsEnd: file is not null));
        bool first = true, readerHolds = true;
        try
        {
            // What the receiver keeps first, in frames behind the header; then the gaps between, in ranges.
            for (int k = 0; k < kept.Count;)
            {
                byte[]? buffer;
                while ((buffer = TakeBuffer()) is null) yield return WaitingForBuffer;
                int used = StartChunk(buffer, header, first ? attributeFrame : null);
                for (; k < kept.Count && pool.BufferSize - used >= FrameWriter.KeptLength; k++)
                    used += FrameWriter.Kept(buffer.AsSpan(used), work.FileId, kept[k].Start, kept[k].End - kept[k].Start);
                file?.Queued();
                first = Queue(new Chunk(buffer, used, 0, file?.AddReference()), first);
            }
            var gaps = Gaps(kept, work.Size);
            for (int g = 0; g < gaps.Count && file?.Aborted != true; g++)
            {
                var (gapStart, gapEnd) = gaps[g];
                for (long offset = gapStart; offset < gapEnd && file?.Aborted != true;)
                {
                    var (dataStart, dataEnd) = work.Sparse ? Libc.NextData(fd, offset, work.Size) ?? (gapEnd, gapEnd) : (offset, gapEnd);
                    dataStart = Math.Min(dataStart, gapEnd);
                    dataEnd = Math.Min(dataEnd, gapEnd);
                    byte[]? buffer;
                    while ((buffer = TakeBuffer()) is null) yield return WaitingForBuffer;
                    int used = StartChunk(buffer, header, first ? attributeFrame : null);
                    if (dataStart > offset)
                    {
                        used += FrameWriter.Hole(buffer.AsSpan(used), new HoleFrame(work.FileId, offset, dataStart - offset));
                        offset = dataStart;
                    }
                    int n = (int)Math.Min(pool.BufferSize - used - FrameWriter.DataHeaderLength, dataEnd - offset);   // 0: a hole to the gap's end
                    bool last = g == gaps.Count - 1 && offset + n == gapEnd;
                    Chunk chunk;
                    if (file is not null)
                    {
                        if (n > 0) used += FrameWriter.DataHeader(buffer.AsSpan(used), work.FileId, offset, n);
                        chunk = new Chunk(buffer, used, n, file.AddReference(), offset, n);
                        file.Queued();
                        if (last)
                        {
                            // Let go before the last range: the verdict then always comes from a stream, behind a
                            // range of this file on that same stream, so the receiver knows the file when it reads it.
                            readerHolds = false;
                            file.Sent();
                        }
                    }
                    else
                    {
                        int read = n == 0 ? 0 : Libc.ReadFully(fd, buffer.AsSpan(used + FrameWriter.DataHeaderLength, n), offset);
                        string? failure = read < 0 ? Libc.Describe(-read)
                            : read != n ? $"{SourceChecks.ChangedWhileRead}: shrank to {offset + read} bytes"
                            : last ? SourceChecks.ChangedSinceWalk(fd, work.Size, work.MTime)   // after the last read: the copy is consistent
                            : null;
                        if (failure is not null)
                        {
                            pool.Return(buffer);
                            foreach (var wait in AbortFile(work, failure, announced: !first)) yield return wait;
                            yield break;
                        }
                        if (n > 0) used += FrameWriter.DataHeader(buffer.AsSpan(used), work.FileId, offset, n) + n;
                        chunk = new Chunk(buffer, used, n);
                    }
                    first = Queue(chunk, first);
                    offset += n;
                }
            }
        }
        finally
        {
            if (file is null) Libc.Close(fd);
            else
            {
                if (readerHolds) file.Sent();   // stopped early: the file was aborted by a stream
                file.Release();
            }
        }
    }

    /// <summary>A range chunk begins with the file's header (and, in its first chunk, its attributes).</summary>
    private static int StartChunk(byte[] buffer, in FileHeaderFrame header, byte[]? attributeFrame)
    {
        int used = FrameWriter.FileHeader(buffer, header);
        attributeFrame?.CopyTo(buffer.AsSpan(used));
        return used + (attributeFrame?.Length ?? 0);
    }

    /// <summary>Hands a chunk of a file to the streams; the first one announces the file. Returns "still first": false.</summary>
    private bool Queue(Chunk chunk, bool first)
    {
        if (first) stats.AnnouncedFile();
        streams.Route(SenderCommand.Send(chunk), _self);
        return false;
    }

    /// <summary>[0, size) less the kept ranges (merged, in order).</summary>
    private static List<(long Start, long End)> Gaps(List<(long Start, long End)> kept, long size)
    {
        var gaps = new List<(long, long)>(kept.Count + 1);
        long cursor = 0;
        foreach (var (start, end) in kept)
        {
            if (start > cursor) gaps.Add((cursor, start));
            cursor = Math.Max(cursor, end);
        }
        if (cursor < size) gaps.Add((cursor, size));
        return gaps;
    }

    private static string OpenFailure(int errno) => errno == Libc.ENOENT ? "vanished since the directory walk" : Libc.Describe(errno);

    /// <summary>An entry's Attributes frame, or null when it has none, or when they do not fit one frame: then
    /// with the problem to report.</summary>
    private static (byte[]? Frame, string? Problem) AttributeFrame(ReadWork work, ulong fileId, IReadOnlyList<(string Name, byte[] Value)>? list, bool directory)
    {
        if (list is null) return (null, null);
        var frame = new AttributesFrame(fileId, directory ? work.RelativePath : null, list);
        int length = FrameWriter.AttributesLength(frame.DirectoryPath, list);
        byte[] bytes = new byte[length];
        if (FrameWriter.Attributes(bytes, frame) == 0)
            return (null, $"extended attributes not copied: {length} bytes of them, at most {FrameLimits.MaxMetadataBody} per entry");
        return (bytes, null);
    }

    /// <summary>A file whose header may already be out: tell the receiver to drop it (it never commits it).</summary>
    private IEnumerable<object> AbortFile(ReadWork work, string reason, bool announced)
    {
        if (announced)
        {
            var frame = new FileAbortFrame(work.FileId, reason);
            if (!HasSpace(FrameWriter.FileAbortLength(reason))) while (!Refilled()) yield return WaitingForBuffer;
            _used += FrameWriter.FileAbort(_batch.AsSpan(_used), frame);
            stats.AbortedFile();
        }
        foreach (var wait in Problem(work, reason)) yield return wait;
    }

    /// <summary>An entry not sent, or (<paramref name="sentIncomplete"/>) sent without part of its metadata: a failure
    /// either way, reported here and to the receiver.</summary>
    private IEnumerable<object> Problem(ReadWork work, string reason, bool sentIncomplete = false)
    {
        stats.EntryFailed();
        coordinator.Tell(new SendEvent.Problem(work.RelativePath, reason));
        return AppendSkipped(work.RelativePath, reason, directory: false, sentIncomplete);
    }

    /// <summary>Tells the receiver, in band, which entry did not come (or came incomplete) and why (a path no receiver
    /// would accept is not sent).</summary>
    private IEnumerable<object> AppendSkipped(string path, string reason, bool directory, bool sentIncomplete = false)
    {
        if (!RelativePath.IsValid(path, out _)) yield break;
        var frame = new SkippedFrame(path, reason, directory, sentIncomplete);
        if (!HasSpace(FrameWriter.SkippedLength(frame))) while (!Refilled()) yield return WaitingForBuffer;
        _used += FrameWriter.Skipped(_batch.AsSpan(_used), frame);
    }

    private void Append(byte[] frame)
    {
        frame.CopyTo(_batch.AsSpan(_used));
        _used += frame.Length;
    }

    private void Flush()
    {
        if (_batch is null) return;
        var chunk = new Chunk(_batch, _used, _batchPayload);
        _batch = null;
        _used = 0;
        _batchPayload = 0;
        if (chunk.Length == 0) { pool.Return(chunk.Buffer); return; }
        streams.Route(SenderCommand.Send(chunk), _self);
    }
}
