using System.Net;
using System.Net.Sockets;
using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Handshake;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Owns one encrypted connection. Connects and authenticates in PreStart (a failed connect is retried by its
/// supervisor with backoff), sends the chunks routed to it, and returns their buffers to the pool. A
/// background loop reads what the receiver says on this connection (acks, the final DoneAck, errors) and
/// forwards it to the coordinator.
/// </summary>
internal sealed class StreamSender(SenderSetup setup, int index) : Actor<SenderCommand>
{
    private ISecureChannel? _channel;
    private Task? _replies;
    private readonly byte[] _control = new byte[2048];

    protected internal override async ValueTask PreStartAsync()
    {
        var channel = await SecureConnection.ConnectAsync(setup.Endpoint, setup.Secret, setup.Options.Cipher, setup.Options.HandshakeTimeout, setup.Abort,
            setup.Options.ConnectTimeout, setup.Options.Tls).ConfigureAwait(false);
        var header = new TransferHeaderFrame(setup.TransferId, (ushort)index, (ushort)setup.Options.Streams, (ushort)setup.Options.Cipher, 0);
        int n = FrameWriter.TransferHeader(_control, header);
        await channel.SendAsync(_control.AsMemory(0, n), setup.Abort).ConfigureAwait(false);
        _channel = channel;
        setup.CryptoModes[index] = channel.CryptoMode;
        _replies = Task.Run(() => ReadRepliesAsync(channel));
        if (Context.RestartCount > 0) Context.Log.LogInformation("stream {Index} connected after {Restarts} retries", index, Context.RestartCount);
    }

    protected internal override async ValueTask ReceiveAsync(SenderCommand command)
    {
        var channel = _channel!;
        if (command.Finish is { } totals)
        {
            int n = FrameWriter.Done(_control, totals);
            await SendAsync(channel, _control.AsMemory(0, n)).ConfigureAwait(false);
            return;
        }
        var chunk = command.Chunk;
        if (chunk.File is { } file)
        {
            await SendFileRangeAsync(channel, chunk, file).ConfigureAwait(false);
            return;
        }
        await SendAsync(channel, chunk.Buffer.AsMemory(0, chunk.Length)).ConfigureAwait(false);
        setup.Pool.Return(chunk.Buffer);
        setup.Stats.Sent(chunk.PayloadBytes, chunk.Length);
    }

    private async ValueTask SendFileRangeAsync(ISecureChannel channel, Chunk chunk, SourceFile file)
    {
        try
        {
            bool bySendfile = await channel.SendFileRangeAsync(chunk.Buffer.AsMemory(0, chunk.Length), file.Fd, chunk.FileOffset, chunk.FileCount, setup.Abort).ConfigureAwait(false);
            setup.Stats.Sent(chunk.PayloadBytes, chunk.Length + chunk.FileCount);
            if (bySendfile) setup.Stats.SentByFile(chunk.FileCount);
        }
        catch (SourceTruncatedException e)
        {
            // The frame was completed with zeros; the receiver must drop the file, never commit it.
            int n = FrameWriter.FileAbort(_control, new FileAbortFrame(file.FileId, e.Message));
            await SendAsync(channel, _control.AsMemory(0, n)).ConfigureAwait(false);
            setup.Stats.Skip();
            await setup.Coordinator.TellAsync(new SendEvent.Problem(file.RelativePath, e.Message, Announced: true), setup.Abort).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new StreamBrokenException(index, e);
        }
        finally
        {
            file.Release();
            setup.Pool.Return(chunk.Buffer);
        }
    }

    private async ValueTask SendAsync(ISecureChannel channel, ReadOnlyMemory<byte> data)
    {
        try
        {
            await channel.SendAsync(data, setup.Abort).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new StreamBrokenException(index, e);
        }
    }

    private async Task ReadRepliesAsync(ISecureChannel channel)
    {
        var reader = new FrameReader(channel);
        var ids = new ulong[FrameLimits.MaxAcksPerFrame];
        var needs = new NeedEntry[FrameLimits.MaxOfferEntries];
        try
        {
            while (await reader.ReadNextAsync(setup.Abort).ConfigureAwait(false))
            {
                var body = await reader.ReadBodyAsync(setup.Abort).ConfigureAwait(false);
                switch (reader.Type)
                {
                    case FrameType.Ack:
                        int count = FrameParser.Ack(body.Span, ids);
                        await setup.Coordinator.TellAsync(new SendEvent.Acked(count), setup.Abort).ConfigureAwait(false);
                        break;
                    case FrameType.Need:
                        int n = FrameParser.Need(body.Span, needs);
                        await setup.Manifest.Value!.TellAsync(new ManifestMessage.Answer(needs[..n]), setup.Abort).ConfigureAwait(false);
                        break;
                    case FrameType.DoneAck:
                        await setup.Coordinator.TellAsync(new SendEvent.StreamFinished(index, FrameParser.DoneAck(body.Span)), setup.Abort).ConfigureAwait(false);
                        return;
                    case FrameType.Error:
                        var error = FrameParser.Error(body.Span);
                        Exception failure = error.Code == ErrorCode.Protocol
                            ? new ProtocolException($"the receiver reports: {error.Message}")
                            : new TransferFailedException($"the receiver reports: {error.Message}");
                        await setup.Coordinator.TellAsync(new SendEvent.StreamFailed(index, failure), setup.Abort).ConfigureAwait(false);
                        return;
                    default:
                        throw new ProtocolException($"unexpected {reader.Type} frame from the receiver");
                }
            }
            await setup.Coordinator.TellAsync(new SendEvent.StreamFailed(index, new StreamBrokenException(index, null)), setup.Abort).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            if (!setup.Abort.IsCancellationRequested)
                setup.Coordinator.TryTell(new SendEvent.StreamFailed(index, new StreamBrokenException(index, e)));
        }
        catch (Exception e)
        {
            setup.Coordinator.TryTell(new SendEvent.StreamFailed(index, e));
        }
    }

    protected internal override async ValueTask PostStopAsync()
    {
        if (_channel is null) return;
        if (setup.Abort.IsCancellationRequested) _channel.Abort();
        else await _channel.CloseAsync().ConfigureAwait(false);
        if (_replies is not null) await Task.WhenAny(_replies, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        await _channel.DisposeAsync().ConfigureAwait(false);
        _channel = null;
    }

    /// <summary>Connect-time trouble is worth retrying; anything about secrets or protocol is not.</summary>
    public static Directive Decide(Exception e) => e switch
    {
        AuthenticationException or ProtocolException => Directive.Escalate,
        StreamBrokenException => Directive.Escalate,
        SocketException or TimeoutException or IOException => Directive.Restart,
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
    IActorRef<SendEvent> Coordinator,
    System.Runtime.CompilerServices.StrongBox<IActorRef<ManifestMessage>?> Manifest,
    string[] CryptoModes,
    CancellationToken Abort);

/// <summary>A connection broke after data went over it.</summary>
internal sealed class StreamBrokenException(int stream, Exception? inner)
    : IOException(inner is null ? $"stream {stream}: the receiver closed the connection" : $"stream {stream} broke: {inner.Message}", inner);

/// <summary>The transfer cannot complete (not an auth or protocol matter): exit status 1.</summary>
public sealed class TransferFailedException(string message) : Exception(message);
