using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// One per incoming connection: decodes the frames of its stream and hands them on, data into pooled buffers
/// to the FileWriter that owns the file, metadata to the coordinator (its parent). Every path is validated here
/// before anything is created from it. It reads a turn of frames per message while every writer has credits
/// for it left; a writer that falls behind holds the stream (and through TCP the sender) until it grants more.
/// The connection's end, clean or not, stops the actor; its parent decides what a failure means.
/// </summary>
internal sealed class ConnectionReceiver : UntypedActor
{
    private sealed record ReadTurn
    {
        public static readonly ReadTurn Instance = new();
    }

    /// <summary>How much the sender may have to keep for a possible re-send: it gets a StreamAck per this many
    /// bytes taken in. Two chunks: small against the pool, frequent enough that senders never wait on it.</summary>
    private const long AckEvery = FrameLimits.AckEvery;

    /// <summary>Frames per message: enough to amortise the message, few enough that credits are looked at often.</summary>
    private const int FramesPerTurn = 64;

    private readonly ReceiveSession session;
    private readonly int stream;
    private readonly ISecureChannel channel;
    private readonly FrameReader reader;
    private readonly IReadOnlyList<IActorRef> writers;
    private readonly StreamProgress progress;
    private readonly ILogger _log;
    private readonly IActorRef _coordinator;
    private readonly int[] _credits;
    private readonly List<WriteCommand>?[] _pending;
    private readonly bool _blockingChannel;
    /// <summary>Self, for use after an await that left the actor's context.</summary>
    private readonly IActorRef _self;
    private bool _waitingForCredits;
    /// <summary>A turn is running in the background; credits granted meanwhile wait in <see cref="_creditsArrived"/>.</summary>
    private bool _inTurn;
    private readonly int[] _creditsArrived;

    // Stream offsets count the sender's frames only: the TransferHeader this connection began with is not part
    // of the stream, so offsets are taken relative to where the reader stood when this actor took over.
    private long _base, _lastAck, _readerStart;
    private bool _done;

    private readonly List<OfferEntry> _offer = [];
    private readonly NeedEntry[] _needs = new NeedEntry[FrameLimits.MaxOfferEntries];
    private readonly byte[] _needFrame = new byte[FrameLimits.HeaderLength + 4 + 17 * FrameLimits.MaxOfferEntries];
    private DirectoryCache? _lookups;
    private readonly byte[] _ackFrame = new byte[FrameLimits.HeaderLength + 8];
    private CancellationTokenSource? _idle;
    /// <summary>The buffer small payloads are packed into, and how far it is filled.</summary>
    private SharedBuffer? _pack;
    private int _packUsed;

    /// <summary>Payloads of up to half a buffer are packed: a turn's worth of small files shares one buffer, and files of
    /// 100 KiB (a photo, an image crop) go two to a buffer rather than one.</summary>
    private const int PackedShare = 2;

    public ConnectionReceiver(ReceiveSession session, int stream, ISecureChannel channel, FrameReader reader, IReadOnlyList<IActorRef> writers,
        StreamProgress progress, ILogger log)
    {
        this.session = session;
        this.stream = stream;
        this.channel = channel;
        this.reader = reader;
        this.writers = writers;
        this.progress = progress;
        _log = log;
        _coordinator = Context.Parent;
        _self = Self;
        // One slot per writer, and the last for the coordinator (directories, links, skips), which grants the same way.
        _pending = new List<WriteCommand>?[writers.Count];
        _blockingChannel = channel is Transport.Kernel.KernelTlsChannel;
        _credits = [.. Enumerable.Repeat(session.Options.WriterCredits, writers.Count), ReceiveCoordinator.Credits];
        _creditsArrived = new int[_credits.Length];
    }

    /// <summary>A turn runs in its message; one that has to wait for the socket (or the pool) goes on in the background and
    /// says when it is done. Meanwhile the turn alone touches this actor's state: credits that come are set aside.</summary>
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ReadTurn:
                if (Completion.RanToCompletion(TurnAsync(), _self, out var end)) After(end);
                else _inTurn = true;
                break;
            case Completion.Done<TurnEnd> done:
                _inTurn = false;
                for (int w = 0; w < _creditsArrived.Length; w++) { _credits[w] += _creditsArrived[w]; _creditsArrived[w] = 0; }
                After(done.ResultOrThrow());
                break;
            case WriterCredits c when _inTurn:
                _creditsArrived[c.Writer] += c.Count;
                break;
            case WriterCredits c:
                _credits[c.Writer] += c.Count;
                if (_waitingForCredits && HasCredits)
                {
                    _waitingForCredits = false;
                    Self.Tell(ReadTurn.Instance);
                }
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void After(TurnEnd end)
    {
        switch (end)
        {
            case TurnEnd.More: Self.Tell(ReadTurn.Instance); break;
            case TurnEnd.Stop: Context.Stop(Self); break;
            default:
                // Credits that came during a background turn may already cover it.
                _waitingForCredits = !HasCredits;
                if (!_waitingForCredits) Self.Tell(ReadTurn.Instance);
                break;
        }
    }

    protected override void PreStart()
    {
        // A stream that says nothing for the idle timeout is dead or hostile (slow loris): the timer is re-armed
        // per frame, and dropped after Done, when waiting for the other streams is expected.
        _idle = CancellationTokenSource.CreateLinkedTokenSource(session.Abort);
        _idle.CancelAfter(session.Options.IdleTimeout);
        _lookups = new DirectoryCache(session.Tree);
        _done = progress.Done;
        _base = progress.Consumed;
        _lastAck = _base;
        _readerStart = reader.Consumed;
        Self.Tell(ReadTurn.Instance);
    }

    private bool HasCredits => Array.TrueForAll(_credits, c => c > 0);

    private enum TurnEnd { More, WaitForCredits, Stop }

    private async ValueTask<TurnEnd> TurnAsync()
    {
        var idle = _idle!;
        try
        {
            for (int n = 0; n < FramesPerTurn; n++)
            {
                if (!HasCredits) return TurnEnd.WaitForCredits;
                // A kernel-TLS channel's receive blocks instead of returning an incomplete task: what is pending goes
                // before any receive that may wait (at the end of the stream, the last of it is what the sender waits for).
                if (_blockingChannel && !reader.HasBufferedBytes)
                {
                    SendPending();
                    if (QuietAckDue && !channel.InputWaiting) await AcknowledgeAsync(ct: idle.Token).ConfigureAwait(false);
                }
                var next = reader.ReadNextAsync(idle.Token);
                if (!next.IsCompleted)
                {
                    SendPending();
                    // Caught up: the sender may be waiting for its buffers back (see FrameLimits.QuietAckBytes).
                    if (QuietAckDue) await AcknowledgeAsync(ct: idle.Token).ConfigureAwait(false);
                }
                if (!await next.ConfigureAwait(false))
                {
                    // close_notify before Done: the sender went away cleanly but early; the stream may still be re-established.
                    if (!_done) ThrowHelper.ThrowConnectionLost($"stream {stream} closed before its Done");
                    return TurnEnd.Stop;
                }
                await OnFrameAsync(idle, idle.Token).ConfigureAwait(false);
            }
            return TurnEnd.More;
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !session.Abort.IsCancellationRequested)
        {
            throw new TimeoutException($"stream {stream} sent nothing for {session.Options.IdleTimeout.TotalSeconds:0.#} s");
        }
        // The transfer is already ending for a reason reported elsewhere (a writer hit a full disk, another
        // stream broke the protocol): stopping quietly keeps that one reason the only one the user reads.
        catch (OperationCanceledException) when (session.Abort.IsCancellationRequested)
        {
            return TurnEnd.Stop;
        }
        finally
        {
            // Also when the connection failed: the frames taken count for the resume point, so their commands must go.
            SendPending();
        }
    }

    /// <summary>The frame the reader stands on.</summary>
    private async ValueTask OnFrameAsync(CancellationTokenSource idle, CancellationToken ct)
    {
        {
            if (!_done) idle.CancelAfter(session.Options.IdleTimeout);
            if (_done) ThrowHelper.ThrowProtocol($"{reader.Type} frame after Done on stream {stream}");
            if (reader.Type == FrameType.Data)
            {
                if (session.Tree.DryRun) ThrowHelper.ThrowProtocol("file data in a dry run");
                await ReceiveDataAsync(reader, ct).ConfigureAwait(false);
                await FrameTakenAsync(ct).ConfigureAwait(false);
                return;
            }
            if (reader.Type == FrameType.Padding)
            {
                await reader.SkipBodyAsync(ct).ConfigureAwait(false);
                await FrameTakenAsync(ct).ConfigureAwait(false);
                return;
            }
            // Frames re-sent after a rejoin may repeat what the writers already have: they tolerate that.
            bool retransmit = StreamOffset(reader.FrameStart) < progress.RetransmitBelow;
            var body = await reader.ReadBodyAsync(ct).ConfigureAwait(false);
            if (session.Tree.DryRun && reader.Type is FrameType.FileHeader or FrameType.Hole or FrameType.Kept or FrameType.FileEnd or FrameType.FileAbort)
                ThrowHelper.ThrowProtocol($"{reader.Type} frame in a dry run");
            switch (reader.Type)
            {
                case FrameType.FileHeader:
                    var header = FrameParser.FileHeader(body.Span);
                    RelativePath.Validate(header.Path);
                    Hand(WriterOf(header.FileId), WriteCommand.ForHeader(header));
                    break;
                case FrameType.Hole:
                    var hole = FrameParser.Hole(body.Span);
                    Hand(WriterOf(hole.FileId), WriteCommand.ForHole(hole, retransmit));
                    break;
                case FrameType.Kept:
                    var kept = FrameParser.Kept(body.Span);
                    Hand(WriterOf(kept.FileId), WriteCommand.ForKept(kept, retransmit));
                    break;
                case FrameType.FileEnd:
                    ulong ended = FrameParser.FileEnd(body.Span);
                    Hand(WriterOf(ended), WriteCommand.ForEnd(ended, retransmit));
                    break;
                case FrameType.Attributes:
                    var attributes = FrameParser.Attributes(body.Span);
                    if (attributes.DirectoryPath is { } directory)
                    {
                        RelativePath.Validate(directory);
                        Report(new ReceiveEvent.DirectoryAttributes(attributes));
                    }
                    else if (session.Tree.DryRun) ThrowHelper.ThrowProtocol("a file's attributes in a dry run");
                    else Hand(WriterOf(attributes.FileId), WriteCommand.ForAttributes(attributes, retransmit));
                    break;
                case FrameType.Directory:
                    var dir = FrameParser.Directory(body.Span);
                    RelativePath.Validate(dir.Path);
                    Report(new ReceiveEvent.DirectorySeen(dir));
                    break;
                case FrameType.Symlink:
                    var link = FrameParser.Symlink(body.Span);
                    RelativePath.Validate(link.Path);
                    if (session.Deletion is not null) Report(new ReceiveEvent.NamesSeen([link.Path]));
                    if (session.Tree.DryRun) Report(new ReceiveEvent.EntryCommitted(EntryType.Symlink));
                    else Hand(WriterOf(link.Path), WriteCommand.ForSymlink(link));
                    break;
                case FrameType.Special:
                    var node = FrameParser.Special(body.Span);
                    RelativePath.Validate(node.Path);
                    if (session.Deletion is not null) Report(new ReceiveEvent.NamesSeen([node.Path]));
                    if (session.Tree.DryRun) Report(new ReceiveEvent.EntryCommitted(EntryType.Special));
                    else Hand(WriterOf(node.Path), WriteCommand.ForSpecial(node));
                    break;
                case FrameType.HardLink:
                    var hardLink = FrameParser.HardLink(body.Span);
                    RelativePath.Validate(hardLink.Path);
                    RelativePath.Validate(hardLink.Target);
                    Report(new ReceiveEvent.HardLinkSeen(hardLink));
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
                    Report(new ReceiveEvent.SenderSkipped(skipped));
                    break;
                case FrameType.FileAbort:
                    var abort = FrameParser.FileAbort(body.Span);
                    Hand(WriterOf(abort.FileId), WriteCommand.ForAbort(abort));
                    break;
                case FrameType.Done:
                    _done = true;
                    progress.Done = true;
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                    Report(new ReceiveEvent.StreamDone(stream, FrameParser.Done(body.Span)));
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
    }

    private long StreamOffset(long readerPosition) => _base + readerPosition - _readerStart;

    /// <summary>A whole frame is taken in: it counts for a resume point, and now and then for the sender's StreamAck.</summary>
    private ValueTask FrameTakenAsync(CancellationToken ct)
    {
        long consumed = StreamOffset(reader.Consumed);
        progress.Consumed = consumed;
        return consumed - _lastAck < AckEvery ? ValueTask.CompletedTask : AcknowledgeAsync(ct);
    }

    /// <summary>Enough taken in since the last StreamAck that a sender could be holding a pooled buffer for it.</summary>
    private bool QuietAckDue => progress.Consumed - _lastAck >= FrameLimits.QuietAckBytes;

    private async ValueTask AcknowledgeAsync(CancellationToken ct)
    {
        long consumed = progress.Consumed;
        _lastAck = consumed;
        int n = FrameWriter.StreamOffset(_ackFrame, FrameType.StreamAck, consumed);
        await channel.SendAsync(_ackFrame.AsMemory(0, n), ct).ConfigureAwait(false);
    }

    protected override void PostStop()
    {
        // Stopped mid-turn (a failure): data never handed to a writer goes back to the pool.
        foreach (var list in _pending)
            foreach (var c in list ?? [])
                c.ReleaseBuffer(session.Pool);
        _pack?.Release(session.Pool);
        _pack = null;
        _lookups?.Dispose();
        _idle?.Dispose();
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
            // A unit of a large file's range or finish does not ask again: its directory's unit found the file needed.
            bool have = session.Range is null && UpToDateCheck.IsUpToDate(session, _lookups!, entry);
            if (have) upToDate++;
            var hold = have || session.Tree.DryRun ? null : Held(entry);
            if (hold is not null) (held ??= []).Add((entry.FileId, hold));
            _needs[i] = new NeedEntry(entry.FileId, have ? NeedStatus.UpToDate : hold is not null ? NeedStatus.Resume : NeedStatus.Send, 0);
        }
        // --delete: the names are the coordinator's before the answer goes out; once answered, a stream's Done may follow
        // on any other stream, and an up-to-date file the coordinator had not heard of would look extraneous.
        if (session.Deletion is not null) Report(new ReceiveEvent.NamesSeen([.. _offer.Select(o => o.Path)]));
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
        if (upToDate > 0) Report(new ReceiveEvent.AlreadyThere(upToDate));
    }

    /// <summary>
    /// What this receiver holds of a file an interrupted run left unfinished: a partial (large files), or a finished
    /// temporary in the kept area (its size and mtime are the offered ones, set only once all its bytes were in).
    /// </summary>
    private HeldFile? Held(OfferEntry entry)
    {
        HeldFile? held = null;
        if (session.Range is { } range) held = HeldOfRange(entry, range);
        else if (entry.Size >= session.Options.ResumeThreshold)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (PartialFiles.Inspect(session.Tree.PartialFd, entry) is { } partial)
            {
                held = new HeldFile([.. partial.Blocks], partial.DurablePrefix, inKeptArea: false);
                var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                long bytes = held.Blocks.Sum(b => (long)b.Length);
                _log.LogDebug("{Path}: checked the {MiB:F1} MiB held from an interrupted run in {Ms:F0} ms ({Rate:F0} MB/s)",
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

    /// <summary>
    /// A unit carrying one range of a large file "holds" all of the file but its range, so its sender sends that range
    /// alone; and both it and the finishing unit hold what the markers of this version vouch for in the shared data
    /// file (a range sent again after a coordinator moved costs nothing; the finishing unit sends only what no range
    /// confirmed). Null: everything is to be sent.
    /// </summary>
    private HeldFile? HeldOfRange(OfferEntry entry, FileRangeUnit range)
    {
        int dir = session.Tree.SharedRangesFd();
        var held = dir >= 0 ? SharedRanges.Confirmed(dir, PartialFiles.Key(entry.Path), entry.Size, entry.MTime) : new RangeSet();
        if (!range.Finishes)
        {
            var (start, end) = range.Of(entry.Size);
            if (start > 0) held.AddAllowingOverlap(0, start);
            if (end < entry.Size) held.AddAllowingOverlap(end, entry.Size - end);
        }
        return held.Covered == 0 ? null : new HeldFile(SharedRanges.Blocks(held), 0, inKeptArea: false);
    }

    /// <summary>
    /// Streams a data frame's payload into pooled buffers, one writer command per buffer; a small payload is packed
    /// behind the previous ones in a buffer they share (<see cref="SharedBuffer"/>).
    /// </summary>
    private async ValueTask ReceiveDataAsync(FrameReader reader, CancellationToken ct)
    {
        var (fileId, offset) = await reader.ReadDataPrefixAsync(ct).ConfigureAwait(false);
        var writer = WriterOf(fileId);
        // Re-sent after a rejoin, part of this frame may already be with the writer: it tolerates the overlap.
        bool retransmit = StreamOffset(reader.FrameStart) < progress.RetransmitBelow;
        int payload = reader.RemainingPayload;
        if (payload > 0 && payload <= session.Pool.BufferSize / PackedShare)
        {
            if (_pack is null || session.Pool.BufferSize - _packUsed < payload)
            {
                _pack?.Release(session.Pool);
                _pack = null;
                _pack = new SharedBuffer(await RentAsync(ct).ConfigureAwait(false));
                _packUsed = 0;
            }
            int got = await reader.ReadPayloadAsync(_pack.Buffer.AsMemory(_packUsed, payload), ct).ConfigureAwait(false);
            _pack.AddReference();
            Hand(writer, WriteCommand.ForPackedData(fileId, offset, _pack, _packUsed, got, retransmit));
            _packUsed += got;
            progress.HandedOut = Math.Max(progress.HandedOut, StreamOffset(reader.Consumed));
            return;
        }
        while (reader.RemainingPayload > 0)
        {
            byte[] buffer = await RentAsync(ct).ConfigureAwait(false);
            int n;
            try { n = await reader.ReadPayloadAsync(buffer, ct).ConfigureAwait(false); }
            catch { session.Pool.Return(buffer); throw; }
            Hand(writer, WriteCommand.ForData(fileId, offset, buffer, n, retransmit));
            offset += n;
            progress.HandedOut = Math.Max(progress.HandedOut, StreamOffset(reader.Consumed));
        }
    }

    private async ValueTask<byte[]> RentAsync(CancellationToken ct)
    {
        if (session.Pool.TryRent(out byte[]? buffer)) return buffer;
        SendPending();   // the buffers they hold may be the ones this waits for
        return await session.Pool.RentAsync(ct).ConfigureAwait(false);
    }

    private int WriterOf(ulong fileId) => (int)(fileId % (ulong)writers.Count);

    /// <summary>An entry for the coordinator, paid for with one of its credits.</summary>
    private void Report(ReceiveEvent e)
    {
        _credits[^1]--;
        _coordinator.Tell(e, _self);
    }

    /// <summary>A command for writer <paramref name="writer"/>, paid for with one of its credits; it goes with the
    /// others of this turn (<see cref="SendPending"/>).</summary>
    private void Hand(int writer, in WriteCommand command)
    {
        _credits[writer]--;
        (_pending[writer] ??= new List<WriteCommand>(FramesPerTurn)).Add(command);
    }

    /// <summary>What this turn has for each writer, one message each. Called at the end of a turn and before any
    /// wait, so nothing sits here while the stream is idle or the buffer pool is empty.</summary>
    private void SendPending()
    {
        for (int w = 0; w < _pending.Length; w++)
        {
            if (_pending[w] is not { Count: > 0 } list) continue;
            writers[w].Tell(new WriteBatch([.. list]), _self);
            list.Clear();
        }
    }

    /// <summary>Links and nodes by path: one writer handles all that come for a name. string.GetHashCode is randomised
    /// per process, which would do, but a stable hash keeps routing reproducible in tests.</summary>
    private int WriterOf(string path)
    {
        uint h = 2166136261;
        foreach (char c in path) h = (h ^ c) * 16777619;
        return (int)(h % (uint)writers.Count);
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
public sealed class TransferAbortedByPeerException(string message) : Exception($"the sender stopped: {message}");
