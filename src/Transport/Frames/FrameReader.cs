using System.Buffers.Binary;

namespace ActorSync.Transport.Frames;

/// <summary>
/// Pulls frames out of a secure channel's plaintext. Declared lengths are checked against
/// <see cref="FrameLimits"/> before any byte is read into a buffer: metadata bodies go into one fixed buffer,
/// data payloads are streamed into the caller's pooled buffers piece by piece.
/// </summary>
public sealed class FrameReader(ISecureChannel channel)
{
    private readonly byte[] _body = new byte[FrameLimits.MaxMetadataBody];
    private readonly byte[] _header = new byte[FrameLimits.HeaderLength + FrameLimits.DataPrefixLength];
    private ReadOnlyMemory<byte> _segment;

    private long _consumed;

    /// <summary>Plaintext bytes taken from the channel so far.</summary>
    public long Consumed => _consumed;

    /// <summary>Where the current frame starts (after <see cref="ReadNextAsync"/>): the end of the last complete frame.</summary>
    public long FrameStart { get; private set; }

    public FrameType Type { get; private set; }
    public int BodyLength { get; private set; }

    /// <summary>Plaintext of the last record is still unread: the next header needs no receive from the channel.</summary>
    public bool HasBufferedBytes => !_segment.IsEmpty;

    /// <summary>Payload bytes of the current data frame not yet read.</summary>
    public int RemainingPayload { get; private set; }

    /// <summary>Reads the next frame's header. False at an orderly end of stream between frames.</summary>
    public async ValueTask<bool> ReadNextAsync(CancellationToken ct = default)
    {
        if (RemainingPayload != 0) ThrowHelper.ThrowProtocol("internal: previous data frame not fully read");
        FrameStart = _consumed;
        if (_segment.IsEmpty)
        {
            _segment = await channel.ReceiveAsync(ct).ConfigureAwait(false);
            if (_segment.IsEmpty) return false;
        }
        await FillAsync(_header.AsMemory(0, FrameLimits.HeaderLength), ct).ConfigureAwait(false);
        var type = (FrameType)_header[0];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(1));
        CheckLength(type, length);
        Type = type;
        BodyLength = (int)length;
        return true;
    }

    /// <summary>The whole body of a non-data frame, valid until the next read.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync(CancellationToken ct = default)
    {
        var body = _body.AsMemory(0, BodyLength);
        await FillAsync(body, ct).ConfigureAwait(false);
        return body;
    }

    /// <summary>Reads and drops the current frame's body (Padding), piece by piece: nothing is allocated for it.</summary>
    public async ValueTask SkipBodyAsync(CancellationToken ct = default)
    {
        for (int left = BodyLength; left > 0;)
        {
            int n = Math.Min(left, _body.Length);
            await FillAsync(_body.AsMemory(0, n), ct).ConfigureAwait(false);
            left -= n;
        }
    }

    /// <summary>Reads a data frame's file id and offset; the payload follows via <see cref="ReadPayloadAsync"/>.</summary>
    public async ValueTask<(ulong FileId, long Offset)> ReadDataPrefixAsync(CancellationToken ct = default)
    {
        var prefix = _header.AsMemory(FrameLimits.HeaderLength, FrameLimits.DataPrefixLength);
        await FillAsync(prefix, ct).ConfigureAwait(false);
        ulong fileId = BinaryPrimitives.ReadUInt64BigEndian(prefix.Span);
        ulong offset = BinaryPrimitives.ReadUInt64BigEndian(prefix.Span[8..]);
        if (offset > long.MaxValue) ThrowHelper.ThrowProtocol($"data offset {offset} out of range");
        RemainingPayload = BodyLength - FrameLimits.DataPrefixLength;
        return (fileId, (long)offset);
    }

    /// <summary>Copies up to <paramref name="dest"/>.Length payload bytes; returns how many.</summary>
    public async ValueTask<int> ReadPayloadAsync(Memory<byte> dest, CancellationToken ct = default)
    {
        int n = Math.Min(dest.Length, RemainingPayload);
        await FillAsync(dest[..n], ct).ConfigureAwait(false);
        RemainingPayload -= n;
        return n;
    }

    /// <summary>Below this a direct receive is not worth a syscall of its own; the channel's buffer serves it.</summary>
    private const int DirectReceiveThreshold = 4096;

    private async ValueTask FillAsync(Memory<byte> dest, CancellationToken ct)
    {
        while (!dest.IsEmpty)
        {
            if (_segment.IsEmpty && dest.Length >= DirectReceiveThreshold && channel is Kernel.IDirectReceiveChannel direct)
            {
                // kTLS decrypts straight into the destination (a pooled buffer): one copy fewer. A partial record
                // read is fine: the kernel keeps the rest for the next call.
                int got = await direct.ReceiveIntoAsync(dest, ct).ConfigureAwait(false);
                if (got == 0) ThrowHelper.ThrowProtocol("stream ended in the middle of a frame");
                dest = dest[got..];
                _consumed += got;
                continue;
            }
            if (_segment.IsEmpty)
            {
                _segment = await channel.ReceiveAsync(ct).ConfigureAwait(false);
                if (_segment.IsEmpty) ThrowHelper.ThrowProtocol("stream ended in the middle of a frame");
            }
            int n = Math.Min(dest.Length, _segment.Length);
            _consumed += n;
            _segment.Span[..n].CopyTo(dest.Span);
            _segment = _segment[n..];
            dest = dest[n..];
        }
    }

    private static void CheckLength(FrameType type, uint length)
    {
        bool ok = type switch
        {
            FrameType.TransferHeader => length == FrameParser.TransferHeaderBody,
            FrameType.Done => length == FrameParser.DoneBody,
            FrameType.DoneAck => length is >= FrameParser.DoneAckMinBody + FrameParser.DoneAckDeletions and <= FrameLimits.MaxMetadataBody,
            FrameType.StreamAck or FrameType.Resume => length == 8,
            FrameType.Data => length is >= FrameLimits.DataPrefixLength and <= FrameLimits.DataPrefixLength + FrameLimits.MaxDataBody,
            FrameType.Hole or FrameType.Kept => length == 24,
            FrameType.FileEnd => length == 8,
            FrameType.Padding => length <= FrameLimits.MaxPaddingBody,
            FrameType.Directory or FrameType.FileHeader or FrameType.Symlink or FrameType.Ack or FrameType.Error or FrameType.FileAbort
                or FrameType.Offer or FrameType.Need or FrameType.HardLink or FrameType.Special or FrameType.Attributes or FrameType.Skipped or FrameType.Blocks
                or FrameType.DeletePolicy or FrameType.Deleted
                => length <= FrameLimits.MaxMetadataBody,
            _ => throw new ProtocolException($"unknown frame type {(byte)type}"),
        };
        if (!ok) ThrowHelper.ThrowProtocol($"{type} frame with invalid length {length}");
    }
}
