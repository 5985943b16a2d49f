using ActorSync.Transport;

namespace ActorSync.Tests.Support;

/// <summary>A secure channel that replays fixed plaintext in segments of given sizes: drives the frame
/// decoder with arbitrary input without sockets or crypto.</summary>
public sealed class BytesChannel(byte[] data, int[] segmentSizes) : ISecureChannel
{
    private int _position, _segment;

    public string CryptoMode => "test";

    public ValueTask SendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<bool> SendFileRangeAsync(ReadOnlyMemory<byte> header, int fileFd, long offset, int count, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(false);

    public ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        if (_position >= data.Length) return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        int size = segmentSizes.Length == 0 ? data.Length : Math.Max(1, Math.Abs(segmentSizes[_segment++ % segmentSizes.Length]) % 20000);
        int n = Math.Min(size, data.Length - _position);
        var seg = new ReadOnlyMemory<byte>(data, _position, n);
        _position += n;
        return ValueTask.FromResult(seg);
    }

    public ValueTask CloseAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    public void Abort() { }
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
