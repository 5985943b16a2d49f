using ActorSync.Actors;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// One per incoming connection: decodes the frames of its stream and hands them on, data into pooled buffers
/// to the FileWriter that owns the file, metadata to the coordinator. Every path is validated here before
/// anything is created from it.
/// </summary>
internal sealed class ConnectionReceiver(ReceiveSession session, int stream, ISecureChannel channel, FrameReader reader, IReadOnlyList<IActorRef<WriteCommand>> writers,
    StreamProgress progress) : Actor<ConnectionReceiver.Run>
{
    public readonly record struct Run;

    /// <summary>How much the sender may have to keep for a possible re-send: it gets a StreamAck per this many
    /// bytes taken in. Two chunks: small against the pool, frequent enough that senders never wait on it.</summary>
    private const long AckEvery = 512 << 10;

    // Stream offsets count the sender's frames only: the TransferHeader this connection began with is not part
    // of the stream, so offsets are taken relative to where the reader stood when this actor took over.
    private long _base, _lastAck, _readerStart;

    private readonly List<OfferEntry> _offer = [];
    private readonly NeedEntry[] _needs = new NeedEntry[FrameLimits.MaxOfferEntries];
    private readonly byte[] _needFrame = new byte[FrameLimits.HeaderLength + 4 + 17 * FrameLimits.MaxOfferEntries];
    private DirectoryCache? _lookups;
    private readonly byte[] _ackFrame = new byte[FrameLimits.HeaderLength + 8];

    protected internal override async ValueTask ReceiveAsync(Run message)
    {
        // A stream that says nothing for the idle timeout is dead or hostile (slow loris): the timer is re-armed
        // per frame, and dropped after Done, when waiting for the other streams is expected.
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(session.Abort);
        idle.CancelAfter(session.Options.IdleTimeout);
        var ct = idle.Token;
        _lookups = new DirectoryCache(session.Tree);
        try
        {
            await ReadFramesAsync(idle, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !session.Abort.IsCancellationRequested)
        {
            throw new TimeoutException($"stream {stream} sent nothing for {session.Options.IdleTimeout.TotalSeconds:0.#} s");
        }
        // The transfer is already ending for a reason reported elsewhere (a writer hit a full disk, another
        // stream broke the protocol): stopping quietly keeps that one reason the only one the user reads.
        catch (OperationCanceledException) when (session.Abort.IsCancellationRequested) { }
        catch (ActorTerminatedException) { }
    }

    private async ValueTask ReadFramesAsync(CancellationTokenSource idle, CancellationToken ct)
    {
        bool done = progress.Done;
        _base = progress.Consumed;
        _lastAck = _base;
        _readerStart = reader.Consumed;
        while (await reader.ReadNextAsync(ct).ConfigureAwait(false))
        {
            if (!done) idle.CancelAfter(session.Options.IdleTimeout);
            if (done) ThrowHelper.ThrowProtocol($"{reader.Type} frame after Done on stream {stream}");
            if (reader.Type == FrameType.Data)
            {
                await ReceiveDataAsync(reader, ct).ConfigureAwait(false);
                await FrameTakenAsync(ct).ConfigureAwait(false);
                continue;
            }
            if (reader.Type == FrameType.Padding)
            {
                await reader.SkipBodyAsync(ct).ConfigureAwait(false);
                await FrameTakenAsync(ct).ConfigureAwait(false);
                continue;
            }
            // Frames re-sent after a rejoin may repeat what the writers already have: they tolerate that.
            bool retransmit = StreamOffset(reader.FrameStart) < progress.RetransmitBelow;
            var body = await reader.ReadBodyAsync(ct).ConfigureAwait(false);
            switch (reader.Type)
            {
                case FrameType.FileHeader:
                    var header = FrameParser.FileHeader(body.Span);
                    RelativePath.Validate(header.Path);
                    await WriterOf(header.FileId).TellAsync(WriteCommand.ForHeader(header), ct).ConfigureAwait(false);
                    break;
                case FrameType.Hole:
                    var hole = FrameParser.Hole(body.Span);
                    await WriterOf(hole.FileId).TellAsync(WriteCommand.ForHole(hole, retransmit), ct).ConfigureAwait(false);
                    break;
                case FrameType.Kept:
                    var kept = FrameParser.Kept(body.Span);
                    await WriterOf(kept.FileId).TellAsync(WriteCommand.ForKept(kept, retransmit), ct).ConfigureAwait(false);
                    break;
                case FrameType.FileEnd:
                    ulong ended = FrameParser.FileEnd(body.Span);
                    await WriterOf(ended).TellAsync(WriteCommand.ForEnd(ended, retransmit), ct).ConfigureAwait(false);
                    break;
                case FrameType.Attributes:
                    var attributes = FrameParser.Attributes(body.Span);
                    if (attributes.DirectoryPath is { } directory)
                    {
                        RelativePath.Validate(directory);
                        await session.Coordinator.TellAsync(new ReceiveEvent.DirectoryAttributes(attributes), ct).ConfigureAwait(false);
                    }
                    else await WriterOf(attributes.FileId).TellAsync(WriteCommand.ForAttributes(attributes, retransmit), ct).ConfigureAwait(false);
                    break;
                case FrameType.Directory:
                    var dir = FrameParser.Directory(body.Span);
                    RelativePath.Validate(dir.Path);
                    await session.Coordinator.TellAsync(new ReceiveEvent.DirectorySeen(dir), ct).ConfigureAwait(false);
                    break;
                case FrameType.Symlink:
                    var link = FrameParser.Symlink(body.Span);
                    RelativePath.Validate(link.Path);
                    await WriterOf(link.Path).TellAsync(WriteCommand.ForSymlink(link), ct).ConfigureAwait(false);
                    break;
                case FrameType.Special:
                    var node = FrameParser.Special(body.Span);
                    RelativePath.Validate(node.Path);
                    await WriterOf(node.Path).TellAsync(WriteCommand.ForSpecial(node), ct).ConfigureAwait(false);
                    break;
                case FrameType.HardLink:
                    var hardLink = FrameParser.HardLink(body.Span);
                    RelativePath.Validate(hardLink.Path);
                    RelativePath.Validate(hardLink.Target);
                    await session.Coordinator.TellAsync(new ReceiveEvent.HardLinkSeen(hardLink), ct).ConfigureAwait(false);
                    break;
                case FrameType.Offer:
                    // Hashing what it holds (a resume, --checksum) can take longer than the idle timeout: the sender is
                    // not silent then, this side is busy.
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    await AnswerOfferAsync(body, ct).ConfigureAwait(false);
                    idle.CancelAfter(session.Options.IdleTimeout);
                    break;
                case FrameType.Skipped:
                    var skipped = FrameParser.Skipped(body.Span);
                    RelativePath.Validate(skipped.Path);
                    await session.Coordinator.TellAsync(new ReceiveEvent.SenderSkipped(skipped), ct).ConfigureAwait(false);
                    break;
                case FrameType.FileAbort:
                    var abort = FrameParser.FileAbort(body.Span);
                    await WriterOf(abort.FileId).TellAsync(WriteCommand.ForAbort(abort), ct).ConfigureAwait(false);
                    break;
                case FrameType.Done:
                    done = true;
                    progress.Done = true;
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    await session.Coordinator.TellAsync(new ReceiveEvent.StreamDone(stream, FrameParser.Done(body.Span)), ct).ConfigureAwait(false);
                    break;
                case FrameType.Error:
                    var error = FrameParser.Error(body.Span);
                    throw new TransferAbortedByPeerException(error.Message);
                default:
                    ThrowHelper.ThrowProtocol($"unexpected {reader.Type} frame from the sender");
                    break;
            }
            await FrameTakenAsync(ct).ConfigureAwait(false);
        }
        // close_notify before Done: the sender went away cleanly but early; the stream may still be re-established.
        if (!done) ThrowHelper.ThrowConnectionLost($"stream {stream} closed before its Done");
    }

    private long StreamOffset(long readerPosition) => _base + readerPosition - _readerStart;

    /// <summary>A whole frame is taken in: it counts for a resume point, and now and then for the sender's StreamAck.</summary>
    private async ValueTask FrameTakenAsync(CancellationToken ct)
    {
        long consumed = StreamOffset(reader.Consumed);
        progress.Consumed = consumed;
        if (consumed - _lastAck < AckEvery) return;
        _lastAck = consumed;
        int n = FrameWriter.StreamOffset(_ackFrame, FrameType.StreamAck, consumed);
        await channel.SendAsync(_ackFrame.AsMemory(0, n), ct).ConfigureAwait(false);
    }

    protected internal override ValueTask PostStopAsync()
    {
        _lookups?.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The quick check, for a whole Offer at once, answered on this stream: up to date, send, or (for a file this
    /// receiver holds part of, from an interrupted run) resume, with a Blocks frame saying what it holds.
    /// </summary>
    private async ValueTask AnswerOfferAsync(ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        _offer.Clear();
        FrameParser.Offer(body.Span, _offer);
        int upToDate = 0;
        List<(ulong Id, HeldFile Held)>? held = null;
        for (int i = 0; i < _offer.Count; i++)
        {
            var entry = _offer[i];
            RelativePath.Validate(entry.Path);
            bool have = UpToDateCheck.IsUpToDate(session, _lookups!, entry);
            if (have) upToDate++;
            var hold = have ? null : Held(entry);
            if (hold is not null) (held ??= []).Add((entry.FileId, hold));
            _needs[i] = new NeedEntry(entry.FileId, have ? NeedStatus.UpToDate : hold is not null ? NeedStatus.Resume : NeedStatus.Send, 0);
        }
        int n = FrameWriter.Need(_needFrame, _needs.AsSpan(0, _offer.Count));
        if (held is null) await channel.SendAsync(_needFrame.AsMemory(0, n), ct).ConfigureAwait(false);
        else
        {
            // The Blocks frames go in the same send as their Need: nothing else sent on this channel (the coordinator's
            // acks) may come between them.
            var answer = new System.Buffers.ArrayBufferWriter<byte>(n + held.Count * FrameLimits.HeaderLength);
            System.Buffers.BuffersExtensions.Write(answer, _needFrame.AsSpan(0, n));
            foreach (var (id, hold) in held)
            {
                for (int from = 0; from < hold.Blocks.Length;)
                {
                    var span = answer.GetSpan(FrameLimits.HeaderLength + FrameLimits.MaxMetadataBody);
                    answer.Advance(FrameWriter.Blocks(span, id, hold.Blocks.AsSpan(from), out int taken));
                    from += taken;
                }
            }
            await channel.SendAsync(answer.WrittenMemory, ct).ConfigureAwait(false);
        }
        if (upToDate > 0) await session.Coordinator.TellAsync(new ReceiveEvent.AlreadyThere(upToDate), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// What this receiver holds of a file an interrupted run left unfinished: a partial (large files), or a finished
    /// temporary in the kept area (its size and mtime are the offered ones, set only once all its bytes were in).
    /// </summary>
    private HeldFile? Held(OfferEntry entry)
    {
        HeldFile? held = null;
        if (entry.Size >= session.Options.ResumeThreshold)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (PartialFiles.Inspect(session.Tree.PartialFd, entry) is { } partial)
            {
                held = new HeldFile([.. partial.Blocks], partial.DurablePrefix, inKeptArea: false);
                var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                long bytes = held.Blocks.Sum(b => (long)b.Length);
                Context.Log.LogDebug("{Path}: checked the {MiB:F1} MiB held from an interrupted run in {Ms:F0} ms ({Rate:F0} MB/s)",
                    RelativePath.Printable(entry.Path), bytes / 1048576.0, took.TotalMilliseconds, bytes / 1e6 / Math.Max(took.TotalSeconds, 1e-6));
            }
        }
        else if (session.Tree.AnyKept && entry.Size > 0 && session.Tree.HasKept(DestinationTree.TemporaryOf(entry.Path)))
        {
            string name = DestinationTree.TemporaryOf(entry.Path);
            if (Libc.StatNoFollow(session.Tree.KeptFd, name, out var st) == 0 && (st.Mode & Libc.S_IFMT) == Libc.S_IFREG && (long)st.Size == entry.Size
                && st.Mtime.Sec == entry.MTime.Seconds && st.Mtime.Nsec == entry.MTime.Nanoseconds
                && PartialFiles.HashWhole(session.Tree.KeptFd, name, entry.Size) is { } blocks)
                held = new HeldFile(blocks, 0, inKeptArea: true);
        }
        if (held is null) return null;
        session.Resumes[entry.Path] = held;
        return held;
    }

    /// <summary>Streams a data frame's payload into pooled buffers, one writer message per buffer.</summary>
    private async ValueTask ReceiveDataAsync(FrameReader reader, CancellationToken ct)
    {
        var (fileId, offset) = await reader.ReadDataPrefixAsync(ct).ConfigureAwait(false);
        var writer = WriterOf(fileId);
        // Re-sent after a rejoin, part of this frame may already be with the writer: it tolerates the overlap.
        bool retransmit = StreamOffset(reader.FrameStart) < progress.RetransmitBelow;
        while (reader.RemainingPayload > 0)
        {
            byte[] buffer = await session.Pool.RentAsync(ct).ConfigureAwait(false);
            int n;
            try { n = await reader.ReadPayloadAsync(buffer, ct).ConfigureAwait(false); }
            catch { session.Pool.Return(buffer); throw; }
            await writer.TellAsync(WriteCommand.ForData(fileId, offset, buffer, n, retransmit), ct).ConfigureAwait(false);
            offset += n;
            progress.HandedOut = Math.Max(progress.HandedOut, StreamOffset(reader.Consumed));
        }
    }

    private IActorRef<WriteCommand> WriterOf(ulong fileId) => writers[(int)(fileId % (ulong)writers.Count)];

    /// <summary>Links and nodes by path: one writer handles all that come for a name. string.GetHashCode is randomised
    /// per process, which would do, but a stable hash keeps routing reproducible in tests.</summary>
    private IActorRef<WriteCommand> WriterOf(string path)
    {
        uint h = 2166136261;
        foreach (char c in path) h = (h ^ c) * 16777619;
        return writers[(int)(h % (uint)writers.Count)];
    }
}

/// <summary>
/// Where a stream stands, across its connections: <see cref="Consumed"/> is the end of the last frame taken in
/// (where a rejoined connection resumes), <see cref="HandedOut"/> how far data went to the writers (a data
/// frame may be handed out in pieces), and data re-sent below <see cref="RetransmitBelow"/> may overlap.
/// Written by the stream's current connection actor only; read when it has stopped.
/// </summary>
internal sealed class StreamProgress
{
    private long _consumed, _handedOut;
    public long Consumed { get => Volatile.Read(ref _consumed); set => Volatile.Write(ref _consumed, value); }
    public long HandedOut { get => Volatile.Read(ref _handedOut); set => Volatile.Write(ref _handedOut, value); }
    public long RetransmitBelow { get; set; }
    public volatile bool Done;
    public IActorRef? Connection { get; set; }
    public ISecureChannel? Channel { get; set; }
    public int Epoch { get; set; }
}

/// <summary>The sender aborted the transfer and said why.</summary>
public sealed class TransferAbortedByPeerException(string message) : Exception($"the sender aborted: {message}");
