using System.Threading.Channels;
using ActorSync.Transport;

namespace ActorSync.Tests.Support;

/// <summary>
/// A secure channel fed by the test: what it is given is received in order, and when it has nothing a receive waits
/// (as a socket's does) until more is fed. What the code under test sends comes out of <see cref="Sent"/>.
/// </summary>
public sealed class ScriptedChannel : ISecureChannel
{
    private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<byte[]> _sent = Channel.CreateUnbounded<byte[]>();

    public string CryptoMode => "test";

    public ChannelReader<byte[]> Sent => _sent.Reader;

    public void Feed(byte[] bytes) => _incoming.Writer.TryWrite(bytes);

    /// <summary>The peer's orderly end (close_notify): once what was fed is received, a receive returns nothing.</summary>
    public void End() => _incoming.Writer.TryComplete();

    public ValueTask SendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken = default)
    {
        _sent.Writer.TryWrite(plaintext.ToArray());
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> SendFileRangeAsync(ReadOnlyMemory<byte> header, int fileFd, long offset, int count, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(false);

    public async ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_incoming.Reader.TryRead(out var now)) return now;
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken)) return ReadOnlyMemory<byte>.Empty;
        }
    }

    public ValueTask CloseAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    public void Abort() { }
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
