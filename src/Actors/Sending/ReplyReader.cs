using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using Akka.Actor;

namespace ActorSync.Sending;

/// <summary>
/// Reads what the receiver says on one connection of a <see cref="StreamSender"/> (its parent): stream
/// acknowledgements go to the sender, answers to offers, file acknowledgements, the DoneAck and errors to the
/// transfer's coordinator. A turn of frames per message: one that has to wait for the socket goes on in the
/// background and says so in a message, so the actor holds no thread while the receiver is quiet (on kernel TLS its
/// receive blocks, on the stream's own thread). The connection's end, or the receiver's last word, stops it. What it
/// tells goes with itself as the sender, also from a read that completed off the actor's thread.
/// </summary>
internal sealed class ReplyReader : UntypedActor
{
    /// <summary>The receiver has taken in the stream up to <paramref name="Offset"/>: what was kept before it can go.</summary>
    public sealed record Acknowledged(long Offset);

    /// <summary>The connection is gone (closed or broken) without the receiver's last word.</summary>
    public sealed record Lost
    {
        public static readonly Lost Instance = new();
    }

    private sealed record ReadTurn
    {
        public static readonly ReadTurn Instance = new();
    }

    /// <summary>Frames per message: acknowledgements are small and few, so a turn rarely ends before the socket waits.</summary>
    private const int FramesPerTurn = 64;

    private readonly ISecureChannel _channel;
    private readonly FrameReader _reader;
    private readonly int _index;
    private readonly IActorRef _coordinator;
    private readonly IActorRef _stream;
    private readonly IActorRef _self;
    private readonly CancellationToken _abort;
    private readonly TaskCompletionSource _ended;
    private readonly ulong[] _ids = new ulong[FrameLimits.MaxAcksPerFrame];
    private readonly NeedEntry[] _needs = new NeedEntry[FrameLimits.MaxOfferEntries];

    /// <param name="ended">Completed when the actor stops: whoever closes the connection waits for the receiver's side of it.</param>
    public ReplyReader(ISecureChannel channel, FrameReader reader, int index, IActorRef coordinator, CancellationToken abort, TaskCompletionSource ended)
    {
        _channel = channel;
        _reader = reader;
        _index = index;
        _coordinator = coordinator;
        _abort = abort;
        _ended = ended;
        _stream = Context.Parent;
        _self = Self;
    }

    protected override void PreStart() => _self.Tell(ReadTurn.Instance);

    protected override void PostStop() => _ended.TrySetResult();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ReadTurn:
                if (Completion.RanToCompletion(TurnAsync(), _self, out bool more)) After(more);
                break;
            case Completion.Done<bool> done:
                After(done.ResultOrThrow());
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void After(bool more)
    {
        if (more) _self.Tell(ReadTurn.Instance);
        else Context.Stop(_self);
    }

    /// <summary>Up to <see cref="FramesPerTurn"/> frames; false once the connection has nothing more to say.</summary>
    private async ValueTask<bool> TurnAsync()
    {
        try
        {
            for (int n = 0; n < FramesPerTurn; n++)
            {
                if (!await _reader.ReadNextAsync(_abort).ConfigureAwait(false))
                {
                    _stream.Tell(Lost.Instance, _self);
                    return false;
                }
                if (!await OnFrameAsync().ConfigureAwait(false)) return false;
            }
            return true;
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            if (!_abort.IsCancellationRequested) _stream.Tell(Lost.Instance, _self);
            return false;
        }
        catch (Exception e)
        {
            _coordinator.Tell(new SendEvent.StreamFailed(_index, e), _self);
            return false;
        }
    }

    /// <summary>The frame the reader stands on; false after the receiver's last word.</summary>
    private async ValueTask<bool> OnFrameAsync()
    {
        var body = await _reader.ReadBodyAsync(_abort).ConfigureAwait(false);
        switch (_reader.Type)
        {
            case FrameType.StreamAck:
                _stream.Tell(new Acknowledged(FrameParser.StreamOffset(body.Span)), _self);
                return true;
            case FrameType.Ack:
                _coordinator.Tell(new SendEvent.Acked(FrameParser.Ack(body.Span, _ids)), _self);
                return true;
            case FrameType.Need:
                var entries = _needs[..FrameParser.Need(body.Span, _needs)];
                var held = await HeldBlocksAsync(entries).ConfigureAwait(false);
                _coordinator.Tell(new ManifestMessage.Answer(entries, held), _self);
                return true;
            case FrameType.Deleted:
                var (dryRun, paths) = FrameParser.Deleted(body.Span);
                _coordinator.Tell(new SendEvent.Deleted(paths, dryRun), _self);
                return true;
            case FrameType.DoneAck:
                _coordinator.Tell(new SendEvent.StreamFinished(_index, FrameParser.DoneAck(body.Span)), _self);
                return false;
            case FrameType.Error:
                _coordinator.Tell(new SendEvent.StreamFailed(_index, ReceiverError(FrameParser.Error(body.Span))), _self);
                return false;
            default:
                throw new ProtocolException($"unexpected {_reader.Type} frame from the receiver");
        }
    }

    /// <summary>The receiver's Error frame as the failure the sender reports: a protocol violation, or one that ends the transfer.</summary>
    public static Exception ReceiverError(ErrorFrame error) => error.Code == ErrorCode.Protocol
        ? new ProtocolException($"the receiver reports: {error.Message}")
        : new TransferFailedException($"the receiver reports: {error.Message}");

    /// <summary>
    /// For each entry of a Need answered Resume, in order, the Blocks frames that follow it on this stream: what the
    /// receiver holds of that file. Bounded by the receiver's per-file cap, checked here too.
    /// </summary>
    private async ValueTask<HeldBlock[]?[]?> HeldBlocksAsync(NeedEntry[] entries)
    {
        HeldBlock[]?[]? held = null;
        var blocks = new List<HeldBlock>();
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Status != NeedStatus.Resume) continue;
            blocks.Clear();
            bool last;
            do
            {
                if (!await _reader.ReadNextAsync(_abort).ConfigureAwait(false) || _reader.Type != FrameType.Blocks)
                    throw new ProtocolException($"the receiver answered resume for file {entries[i].FileId} without saying what it holds");
                (ulong id, last) = FrameParser.Blocks((await _reader.ReadBodyAsync(_abort).ConfigureAwait(false)).Span, blocks);
                if (id != entries[i].FileId || blocks.Count > FrameLimits.MaxBlocksPerFile)
                    throw new ProtocolException($"blocks for file {id} where those of file {entries[i].FileId} were due, or too many");
            }
            while (!last);
            (held ??= new HeldBlock[]?[entries.Length])[i] = [.. blocks];
        }
        return held;
    }
}
