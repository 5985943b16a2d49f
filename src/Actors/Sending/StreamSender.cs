using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Owns one encrypted connection of the transfer. Connects and authenticates in PreStart; sends the chunks
/// routed to it, keeping each in its <see cref="StreamState"/> until the receiver acknowledges it. When the
/// connection breaks, the actor fails, its supervisor restarts it with backoff, and the new instance rejoins
/// the same stream (new handshake, new keys), learns from the receiver's Resume frame where to carry on, and
/// re-sends what the receiver did not take in; the other streams keep going. A child, <see cref="ReplyReader"/>, reads
/// what the receiver says on this connection (acks, answers to offers, the final DoneAck, errors).
/// </summary>
internal sealed class StreamSender : UntypedActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Connect (again); sent to self at start, after a restart once the backoff has passed.</summary>
    private sealed record Connect
    {
        public static readonly Connect Instance = new();
    }

    /// <summary>How far a reconnect's delay is spread either way, so streams that broke together do not come back
    /// in lockstep (and hit a recovering receiver all at once).</summary>
    private const double BackoffJitter = 0.2;

    private readonly SenderSetup setup;
    private readonly int index;
    private readonly IActorRef _coordinator;
    /// <summary>Self, for use after an await that left the actor's context.</summary>
    private readonly IActorRef _self;
    private readonly ILogger _log;
    private ISecureChannel? _channel;
    /// <summary>The connection's frames from the receiver, read by <see cref="_replyReader"/> once connected.</summary>
    private FrameReader? _replyFrames;
    private IActorRef? _replyReader;
    /// <summary>Completes when the reply reader has stopped: the receiver's side of the connection is done.</summary>
    private Task? _replies;
    private readonly byte[] _control = new byte[FrameLimits.HeaderLength + FrameLimits.MaxMetadataBody];

    public StreamSender(SenderSetup setup, int index)
    {
        this.setup = setup;
        this.index = index;
        _coordinator = Context.Parent;
        _self = Self;
        _log = setup.Log;
    }

    /// <summary>Connecting: once connected, <see cref="Connected"/>.</summary>
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Connect:
                Completion.TellWhenDone(ConnectAsync(), _self);
                break;
            case Completion.Done connected:
                connected.ThrowIfFailed();
                StartReplyReader();
                Become(Connected);
                Stash.UnstashAll();
                break;
            default:
                // Chunks that come while connecting wait here; a restart puts them back in the mailbox.
                Stash.Stash();
                break;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    private StreamState State => setup.Streams[index];

    protected override void PreStart()
    {
        if (State.Restarts == 0) Self.Tell(Connect.Instance);
        else Timers.StartSingleTimer(nameof(Connect), Connect.Instance, Backoff(State.Restarts));
    }

    protected override void PreRestart(Exception reason, object message)
    {
        State.Restarts++;
        base.PreRestart(reason, message);
    }

    /// <summary>min-backoff doubling per restart up to max-backoff, spread by <see cref="BackoffJitter"/>.</summary>
    private TimeSpan Backoff(int restarts)
    {
        var o = setup.Options;
        double ms = Math.Min(o.MaxBackoff.TotalMilliseconds, o.MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(restarts - 1, 30)));
        return TimeSpan.FromMilliseconds(ms * (1 - BackoffJitter + 2 * BackoffJitter * Random.Shared.NextDouble()));
    }

    private async Task ConnectAsync()
    {
        var channel = await SecureConnection.ConnectAsync(setup.Endpoint, setup.Secret, setup.Options.Cipher, setup.Options.HandshakeTimeout, setup.Abort,
            setup.Options.ConnectTimeout, setup.Options.Tls, setup.Options.SocketBuffer).ConfigureAwait(false);
        try
        {
            bool rejoin = State.EverConnected;
            var o = setup.Options;
            var header = new TransferHeaderFrame(setup.TransferId, (ushort)index, (ushort)o.Streams, (ushort)o.Cipher,
                (rejoin ? FrameLimits.RejoinFlag : 0) | (o.Fsync ? FrameLimits.FsyncFlag : 0) | (o.Delete ? FrameLimits.DeleteFlag : 0) | (o.DryRun ? FrameLimits.DryRunFlag : 0));
            int n = FrameWriter.TransferHeader(_control, header);
            // The deletion policy is part of every connection's preamble: whichever stream joins first brings it.
            if (o.Delete) n += FrameWriter.DeletePolicy(_control.AsSpan(n), new DeletePolicyFrame(o.MaxDelete, [.. o.Filter?.Describe() ?? []]));
            await channel.SendAsync(_control.AsMemory(0, n), setup.Abort).ConfigureAwait(false);
            var reader = new FrameReader(channel);
            if (rejoin) await ResumeAsync(channel, reader).ConfigureAwait(false);
            if (!State.EverConnected) setup.Stats.StreamJoined();
            State.EverConnected = true;
            State.Lost = false;
            _channel = channel;
            _replyFrames = reader;
            setup.CryptoModes[index] = channel.CryptoMode;
        }
        catch
        {
            channel.Abort();
            throw;
        }
        if (State.Restarts > 0) _log.LogInformation("stream {Index} (re)connected after {Restarts} restarts", index, State.Restarts);
    }

    /// <summary>
    /// Connected: each command is sent in its message; when the socket cannot take it all at once (userspace TLS, a
    /// full send buffer) the send goes on in the background, the commands that come meanwhile are stashed, and its
    /// completion, a message, lets them through (or fails the actor with the send's error). Nothing else touches the
    /// stream's state meanwhile; a kernel-TLS stream's sends always complete in the message.
    /// </summary>
    private void Connected(object message)
    {
        switch (message)
        {
            case SenderCommand command:
                if (_interrupt is not null) Drop(command.Chunk);
                else if (_sending) Stash.Stash();
                else if (MustWait(command) is { } wait)
                {
                    // Over the cap: the chunk is sent when the bucket has refilled, and what comes meanwhile waits.
                    _sending = true;
                    Timers.StartSingleTimer(nameof(Throttled), new Throttled(command), wait);
                }
                else Send(command);
                break;
            case Throttled throttled:
                _sending = false;
                if (_interrupt is { } stopping)
                {
                    Drop(throttled.Command.Chunk);
                    Notice(stopping);
                }
                else
                {
                    Send(throttled.Command);
                    // What came while it waited goes next (at once when this send is done already, else after it).
                    if (!_sending) Stash.UnstashAll();
                }
                break;
            case Completion.Done sent:
                _sending = false;
                sent.ThrowIfFailed();
                if (_interrupt is { } reason) Notice(reason);
                else Stash.UnstashAll();
                break;
            case TransferCoordinator.Interrupt interrupt:
                // Between two sends only: a record half-written by a send still running would garble the notice.
                if (_sending || _interrupt is not null) _interrupt ??= interrupt.Reason;
                else Notice(_interrupt = interrupt.Reason);
                break;
            case Completion.Done<bool>:
                Context.Stop(Self);
                break;
            // From this connection's reader only: one of a connection before a restart may still be stopping.
            case ReplyReader.Acknowledged ack when Sender.Equals(_replyReader):
                State.Acknowledge(ack.Offset);
                Connected(SenderCommand.Wake);   // an idle sender gives the buffers back now
                break;
            case ReplyReader.Lost when Sender.Equals(_replyReader):
                State.Lost = true;
                Connected(SenderCommand.Wake);   // fails, and the supervisor restarts the stream
                break;
            case ReplyReader.Acknowledged or ReplyReader.Lost:
                break;
            case Connect:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>A send is completing in the background, or waiting for the bandwidth cap.</summary>
    private bool _sending;

    private void Send(SenderCommand command)
    {
        if (command.Chunk.Buffer is not null) State.ChunkTaken();
        _sending = !Completion.RanToCompletion(OnCommandAsync(command), _self);
    }

    /// <summary>How long a chunk must wait for the transfer's bandwidth cap; null to send it now. Its bytes are
    /// taken from the bucket here, once, whether it waits or not.</summary>
    private TimeSpan? MustWait(SenderCommand command)
    {
        if (setup.Limit is not { } limit || command.Chunk.Buffer is null) return null;
        var wait = limit.Take(command.Chunk.Length + command.Chunk.FileCount);
        return wait > MinimumWait ? wait : null;
    }

    /// <summary>Shorter waits are not worth a timer (Akka's scheduler ticks every 10 ms): the debt they leave is
    /// paid by the next chunk's wait, so the long-run rate stays the cap.</summary>
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(5);

    /// <summary>A chunk held back by the bandwidth cap, due now.</summary>
    private sealed record Throttled(SenderCommand Command);

    /// <summary>Why the transfer is being stopped, once it is: nothing more is sent but that.</summary>
    private string? _interrupt;

    /// <summary>A chunk that will not be sent: its buffer and its hold on the source file go back.</summary>
    private void Drop(Chunk chunk)
    {
        if (chunk.Buffer is null) return;
        State.ChunkTaken();
        chunk.File?.Release();
        setup.Pool.Return(chunk.Buffer);
    }

    /// <summary>The receiver learns why the transfer stops (best effort, bounded); the actor then stops and closes.</summary>
    private void Notice(string reason)
    {
        if (Completion.RanToCompletion(NoticeAsync(reason), _self, out _)) Context.Stop(Self);
    }

    private async ValueTask<bool> NoticeAsync(string reason)
    {
        if (State.Lost || _channel is not { } channel)
        {
            _log.LogDebug("stream {Index}: lost, the receiver is not told why the transfer stops", index);
            return false;
        }
        byte[] frame = new byte[FrameWriter.MaxErrorLength];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(setup.Abort);
        limit.CancelAfter(NoticeLimit);
        try
        {
            int n = FrameWriter.Error(frame, new ErrorFrame(ErrorCode.Failed, reason));
            await channel.SendAsync(frame.AsMemory(0, n), limit.Token).ConfigureAwait(false);
            await channel.CloseAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            State.Lost = true;   // half-sent, perhaps: no polite close after it
            return false;
        }
        // The receiver comes to the notice after what is still in flight, and closes its side then, which ends the reply
        // loop. Closing first would reset the connection, and the notice would be lost with the data before it.
        if (_replies is { } replies) await replies.WaitAsync(ReceiverCloseLimit).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _log.LogDebug("stream {Index}: told the receiver \"{Reason}\"{Closed}", index, reason, _replies?.IsCompleted == false ? "; it did not close in time" : "");
        _channel = null;
        await channel.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>How long a noticed receiver has to read what was in flight and close: a few MiB per stream on a LAN.</summary>
    private static readonly TimeSpan ReceiverCloseLimit = TimeSpan.FromSeconds(2);

    /// <summary>Long enough for a live connection's send buffer to take a small frame, short enough not to hold up a
    /// user who pressed Ctrl+C behind a peer that stopped reading.</summary>
    private static readonly TimeSpan NoticeLimit = TimeSpan.FromMilliseconds(500);

    /// <summary>What the receiver says on this connection is read by a child of its own, on this stream's dispatcher
    /// (on kernel TLS, where its receive blocks, a thread of its own).</summary>
    private void StartReplyReader()
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _replies = ended.Task;
        var (channel, frames, coordinator, abort, stream) = (_channel!, _replyFrames!, _coordinator, setup.Abort, index);
        _replyReader = Context.ActorOf(ActorProps.Of(() => new ReplyReader(channel, frames, stream, coordinator, abort, ended))
            .WithDispatcher(Context.Props.Dispatcher), $"replies-{State.Restarts}");
    }

    /// <summary>
    /// Rejoin: the receiver says where it stopped; everything kept from there on goes again. A range that was sent
    /// by reference is read again here, into a buffer, and goes only if the source still is as the walk saw it
    /// after that read; otherwise filler of the same length keeps the stream's offsets, and the file's FileAbort
    /// reaches the receiver before anything that could let it commit the file: this stream's FileEnd for it and its
    /// Done are replaced by filler, the Done going again behind the aborts.
    /// </summary>
    private async ValueTask ResumeAsync(ISecureChannel channel, FrameReader reader)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(setup.Abort);
        timeout.CancelAfter(setup.Options.HandshakeTimeout);
        if (!await reader.ReadNextAsync(timeout.Token).ConfigureAwait(false))
            ThrowHelper.ThrowProtocol($"stream {index}: the receiver did not answer the rejoin with Resume");
        // Refused (the transfer failed there, or it never ran: a first connection refused with a reason the reset lost).
        if (reader.Type == FrameType.Error) throw ReplyReader.ReceiverError(FrameParser.Error((await reader.ReadBodyAsync(timeout.Token).ConfigureAwait(false)).Span));
        if (reader.Type != FrameType.Resume) ThrowHelper.ThrowProtocol($"stream {index}: the receiver did not answer the rejoin with Resume");
        long resume = FrameParser.StreamOffset((await reader.ReadBodyAsync(timeout.Token).ConfigureAwait(false)).Span);
        if (resume < State.Acked || resume > State.Position)
            ThrowHelper.ThrowProtocol($"stream {index}: Resume at {resume}, outside what was sent ({State.Acked}..{State.Position})");
        var answersLost = OffersTakenBefore(resume);
        State.Acknowledge(resume);
        State.ReleaseAcknowledged(setup.Pool);
        long resent = 0;
        List<SourceFile>? changed = null;
        byte[]? done = null;
        byte[]? reread = null;
        try
        {
            foreach (var kept in State.Unacknowledged)
            {
                int skip = (int)Math.Max(0, resume - kept.Start);
                if (kept.Control is { } control)
                {
                    if (skip == 0 && changed is not null && HeldBack(control, changed))
                    {
                        if ((FrameType)control[0] == FrameType.Done) done = control;
                        await SendFillerAsync(channel, control.Length).ConfigureAwait(false);
                    }
                    else await channel.SendAsync(control.AsMemory(skip), setup.Abort).ConfigureAwait(false);
                    continue;
                }
                var chunk = kept.Chunk;
                if (chunk.File is { } file && chunk.FileCount > 0)
                {
                    // The buffer holds the file's header (and hole) frames, then the data frame's header.
                    int dataFrame = chunk.Length - FrameWriter.DataHeaderLength;
                    if (skip > dataFrame) ThrowHelper.ThrowProtocol($"stream {index}: Resume at {resume} falls inside a data frame");
                    reread ??= System.Buffers.ArrayPool<byte>.Shared.Rent(setup.Pool.BufferSize);
                    int n = Libc.ReadFully(file.Fd, reread.AsSpan(0, chunk.FileCount), chunk.FileOffset);
                    if (n == chunk.FileCount && file.ChangedSinceWalk() is null)
                    {
                        await channel.SendAsync(chunk.Buffer.AsMemory(skip, chunk.Length - skip), setup.Abort).ConfigureAwait(false);
                        await channel.SendAsync(reread.AsMemory(0, n), setup.Abort).ConfigureAwait(false);
                    }
                    else
                    {
                        if (dataFrame > skip) await channel.SendAsync(chunk.Buffer.AsMemory(skip, dataFrame - skip), setup.Abort).ConfigureAwait(false);
                        await SendFillerAsync(channel, FrameWriter.DataHeaderLength + chunk.FileCount).ConfigureAwait(false);
                        if (changed?.Contains(file) != true) (changed ??= []).Add(file);
                    }
                }
                else if (chunk.Length > skip)
                    await channel.SendAsync(chunk.Buffer.AsMemory(skip, chunk.Length - skip), setup.Abort).ConfigureAwait(false);
                setup.Stats.Sent(chunk.PayloadBytes, kept.Length - skip, index);
                resent += kept.Length - skip;
            }
        }
        finally
        {
            if (reread is not null) System.Buffers.ArrayPool<byte>.Shared.Return(reread);
        }
        foreach (var file in changed ?? [])
            await AbortFileAsync(channel, file, $"{SourceChecks.ChangedWhileRead}: changed before a lost stream re-sent it").ConfigureAwait(false);
        if (done is not null) await SendKeptAsync(channel, default, done).ConfigureAwait(false);
        _log.LogInformation("stream {Index} rejoined at offset {Offset}; re-sent {Bytes} bytes that were in flight", index, resume, resent);
        if (answersLost is not null) _coordinator.Tell(new ManifestMessage.Reoffer(answersLost));
    }

    /// <summary>A FileEnd of a file found changed, or the Done: they wait until its FileAbort went.</summary>
    private static bool HeldBack(byte[] control, List<SourceFile> changed) => (FrameType)control[0] switch
    {
        FrameType.Done => true,
        FrameType.FileEnd => changed.Exists(f => f.FileId == FrameParser.FileEnd(control.AsSpan(FrameLimits.HeaderLength))),
        _ => false,
    };

    private async ValueTask SendFillerAsync(ISecureChannel channel, int length)
    {
        byte[] filler = new byte[length];
        FrameWriter.Padding(filler, length);
        await channel.SendAsync(filler, setup.Abort).ConfigureAwait(false);
    }

    /// <summary>
    /// The files of Offers the receiver took in on the lost connection but whose acknowledgement did not come back:
    /// their answers (sent before the acknowledgement) may have died with it, so they are offered again. Offers past
    /// the receiver's offset go again with the rest; acknowledged ones were answered.
    /// </summary>
    private ulong[]? OffersTakenBefore(long resume)
    {
        List<ulong>? ids = null;
        var entries = new List<OfferEntry>();
        foreach (var kept in State.Unacknowledged)
        {
            if (kept.End > resume) break;
            if (kept.Control is not null || kept.Chunk.Length <= FrameLimits.HeaderLength || (FrameType)kept.Chunk.Buffer[0] != FrameType.Offer) continue;
            entries.Clear();
            FrameParser.Offer(kept.Chunk.Buffer.AsSpan(FrameLimits.HeaderLength, kept.Chunk.Length - FrameLimits.HeaderLength), entries);
            foreach (var entry in entries) (ids ??= []).Add(entry.FileId);
        }
        return ids?.ToArray();
    }

    private async ValueTask OnCommandAsync(SenderCommand command)
    {
        State.ReleaseAcknowledged(setup.Pool);
        if (State.Lost)
        {
            // Keep what arrived for the dead connection before failing: the supervisor drops the failed message,
            // the rejoin re-sends everything kept.
            if (command.Finish is { } end) State.Keep(default, DoneFrame(end), DoneFrame(end).Length);
            else if (!command.Poke)
            {
                State.Keep(StreamState.CopyOutSmall(command.Chunk, setup.Pool), null, command.Chunk.Length + command.Chunk.FileCount);
                await FileSentAsync(null, command.Chunk).ConfigureAwait(false);
            }
            throw new StreamBrokenException(index, null);
        }
        if (command.Poke) return;
        var channel = _channel!;
        if (command.Finish is { } totals)
        {
            await SendKeptAsync(channel, default, DoneFrame(totals)).ConfigureAwait(false);
            _log.LogDebug("stream {Index}: Done sent at offset {Position} ({Totals})", index, State.Position, totals);
            return;
        }
        await SendChunkAsync(channel, command.Chunk).ConfigureAwait(false);
    }

    private static byte[] DoneFrame(TransferTotals totals)
    {
        byte[] done = new byte[FrameWriter.DoneLength];
        FrameWriter.Done(done, totals);
        return done;
    }

    /// <summary>
    /// Sends a chunk. A range sent by reference (sendfile) counts towards its file's verdict: the stream whose
    /// send is the file's last writes the FileEnd (or the FileAbort) behind it, on this same stream.
    /// </summary>
    private async ValueTask SendChunkAsync(ISecureChannel channel, Chunk chunk)
    {
        bool broken = false;
        try
        {
            await SendKeptAsync(channel, chunk, null).ConfigureAwait(false);
        }
        catch (StreamBrokenException)
        {
            broken = true;
            throw;
        }
        finally
        {
            await FileSentAsync(broken ? null : channel, chunk).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A range's first send is over (or, on a lost connection, it is kept for the rejoin): if it was its file's
    /// last, the verdict goes behind it. Without a channel it is kept, and the rejoin sends it after the range.
    /// </summary>
    private async ValueTask FileSentAsync(ISecureChannel? channel, Chunk chunk)
    {
        if (chunk.File is not { } file || !file.Sent() || file.Verdict() is not { } verdict) return;
        await SendOrKeepAsync(channel, verdict.Frame).ConfigureAwait(false);
        if (verdict.Problem is { } problem) await ReportAbortAsync(channel, file, problem).ConfigureAwait(false);
    }

    /// <summary>Sends a control frame, or on a lost connection keeps it for the rejoin to send in its place.</summary>
    private ValueTask SendOrKeepAsync(ISecureChannel? channel, byte[] frame)
    {
        if (channel is not null) return SendKeptAsync(channel, default, frame);
        State.Keep(default, frame, frame.Length);
        return ValueTask.CompletedTask;
    }

    /// <summary>Kept before it is sent: if the send fails half-way, the rejoin sends it (again) from the receiver's offset.</summary>
    private async ValueTask SendKeptAsync(ISecureChannel channel, Chunk chunk, byte[]? control)
    {
        if (control is null) chunk = StreamState.CopyOutSmall(chunk, setup.Pool);
        long length = control?.Length ?? chunk.Length + chunk.FileCount;
        State.Keep(chunk, control, length);
        try
        {
            if (control is not null) await channel.SendAsync(control, setup.Abort).ConfigureAwait(false);
            else if (chunk.File is { } file && chunk.FileCount > 0)
            {
                bool bySendfile;
                try
                {
                    bySendfile = await channel.SendFileRangeAsync(chunk.Buffer.AsMemory(0, chunk.Length), file.Fd, chunk.FileOffset, chunk.FileCount, setup.Abort).ConfigureAwait(false);
                }
                catch (SourceTruncatedException e)
                {
                    // The frame was completed with zeros; the receiver must drop the file, never commit it. Other
                    // ranges of it meet the same end: only the first says so.
                    await AbortFileAsync(channel, file, e.Message).ConfigureAwait(false);
                    return;
                }
                if (bySendfile) setup.Stats.SentByFile(chunk.FileCount);
            }
            else await channel.SendAsync(chunk.Buffer.AsMemory(0, chunk.Length), setup.Abort).ConfigureAwait(false);
            if (control is null) setup.Stats.Sent(chunk.PayloadBytes, length, index);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException && e is not SourceTruncatedException)
        {
            throw new StreamBrokenException(index, e);
        }
    }

    /// <summary>One FileAbort per file, whichever range or re-send meets the change first.</summary>
    private async ValueTask AbortFileAsync(ISecureChannel channel, SourceFile file, string reason)
    {
        if (!file.TryAbort()) return;
        await SendKeptAsync(channel, default, file.AbortFrame(reason)).ConfigureAwait(false);
        await ReportAbortAsync(channel, file, reason).ConfigureAwait(false);
    }

    /// <summary>An aborted file, reported here and to the receiver (which then names it).</summary>
    private async ValueTask ReportAbortAsync(ISecureChannel? channel, SourceFile file, string reason)
    {
        setup.Stats.EntryFailed();
        setup.Stats.AbortedFile();
        _coordinator.Tell(new SendEvent.Problem(file.RelativePath, reason));
        var skipped = new SkippedFrame(file.RelativePath, reason, Directory: false);
        byte[] frame = new byte[FrameWriter.SkippedLength(skipped)];
        FrameWriter.Skipped(frame, skipped);
        await SendOrKeepAsync(channel, frame).ConfigureAwait(false);
    }

    /// <summary>Closes the connection politely (close_notify, then a moment for the receiver's own) unless the
    /// transfer is aborting or the connection is already lost. On a restart too: the old instance lets go first.
    /// The close runs on its own (this thread may serve other actors); the transfer waits for it at the end.</summary>
    protected override void PostStop()
    {
        Timers.CancelAll();
        if (_channel is not { } channel) return;
        _channel = null;
        State.Closing = CloseAsync(channel, _replies, polite: !setup.Abort.IsCancellationRequested && !State.Lost);
    }

    private static async Task CloseAsync(ISecureChannel channel, Task? replies, bool polite)
    {
        if (!polite) channel.Abort();
        else
        {
            try { await channel.CloseAsync().AsTask().WaitAsync(CloseGrace).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or TimeoutException) { channel.Abort(); }
        }
        if (replies is not null) await replies.WaitAsync(CloseGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await channel.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>How long a stopping sender waits for the close to go through: enough for a loopback or LAN
    /// peer, short enough that a dead peer does not hold up the end of the transfer.</summary>
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    /// <summary>Network trouble is worth a reconnect; anything about secrets or protocol is not.</summary>
    public static Directive Decide(Exception e) => e switch
    {
        AuthenticationException or ProtocolException or KernelTlsUnavailableException => Directive.Escalate,
        StreamBrokenException or SocketException or TimeoutException or IOException => Directive.Restart,
        _ => Directive.Escalate,
    };
}

/// <summary>Everything the stream senders of one transfer share.</summary>
internal sealed record SenderSetup(
    EndPoint Endpoint,
    SharedSecret Secret,
    TransferOptions Options,
    Guid TransferId,
    BufferPool Pool,
    TransferStats Stats,
    StreamState[] Streams,
    string[] CryptoModes,
    ILogger Log,
    CancellationToken Abort,
    BandwidthLimit? SharedLimit = null)
{
    /// <summary>The cap on the bytes its streams send (--bwlimit): the transfer's own, or a cluster node's over all its
    /// units; null when there is none.</summary>
    public BandwidthLimit? Limit { get; } = SharedLimit ?? (Options.BandwidthLimit > 0 ? new BandwidthLimit(Options.BandwidthLimit, Options.ChunkSize) : null);
}

/// <summary>A connection broke after data went over it.</summary>
internal sealed class StreamBrokenException(int stream, Exception? inner)
    : IOException(inner is null ? $"stream {stream}: the connection was lost" : $"stream {stream} broke: {inner.Message}", inner);

/// <summary>The transfer cannot complete (not an auth or protocol matter): exit status 1.</summary>
public sealed class TransferFailedException(string message) : Exception(message);

/// <summary>A transfer's actors stopped before it had an outcome: nothing a retry changes.</summary>
internal sealed class PipelineStoppedException(string message) : Exception(message);
