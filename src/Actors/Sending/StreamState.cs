using System.Buffers;
using ActorSync.Engine;
using ActorSync.Transport.Frames;

namespace ActorSync.Sending;

/// <summary>
/// One stream's bookkeeping that outlives its StreamSender: every chunk is kept, with its place in the stream,
/// until the receiver acknowledges having taken it in (StreamAck). When the connection breaks, the restarted
/// sender rejoins and re-sends from where the receiver says it stopped (Resume), so nothing in flight is lost.
/// Kept chunks are pooled buffers, so the pool's cap also bounds what waits for acknowledgement.
/// Touched by the stream's actor (its reply reader tells it what the receiver acknowledged, and when the connection
/// is lost), but for <see cref="Queued"/>, which the router counts up as it routes chunks here.
/// </summary>
internal sealed class StreamState
{
    internal readonly record struct Kept(Chunk Chunk, byte[]? Control, long Start, long Length)
    {
        public long End => Start + Length;
    }

    private readonly Queue<Kept> _kept = new();
    private long _acked;
    private volatile bool _lost;
    private int _queued;

    /// <summary>Chunks routed to this stream and not yet taken up by its sender (in its mailbox or stash).</summary>
    public int Queued => Volatile.Read(ref _queued);

    public void ChunkRouted() => Interlocked.Increment(ref _queued);

    public void ChunkTaken() => Interlocked.Decrement(ref _queued);

    /// <summary>Stream offset of the next byte to send.</summary>
    public long Position { get; private set; }

    public bool EverConnected { get; set; }

    /// <summary>The last connection's close, under way once its sender stopped: the transfer waits for it.</summary>
    public Task? Closing { get; set; }

    /// <summary>Restarts of the stream's sender so far: how long the next reconnect waits.</summary>
    public int Restarts { get; set; }

    public long Acked => Volatile.Read(ref _acked);

    /// <summary>The connection died (the reply reader saw it); the actor restarts at its next message.</summary>
    public bool Lost { get => _lost; set => _lost = value; }

    public IEnumerable<Kept> Unacknowledged => _kept;

    public void Acknowledge(long offset)
    {
        long seen;
        do { seen = Volatile.Read(ref _acked); }
        while (offset > seen && Interlocked.CompareExchange(ref _acked, offset, seen) != seen);
    }

    /// <summary>Records a chunk (or a control frame) as about to be sent at the current position.</summary>
    public void Keep(Chunk chunk, byte[]? control, long length)
    {
        _kept.Enqueue(new Kept(chunk, control, Position, length));
        Position += length;
    }

    /// <summary>Gives back what the receiver has acknowledged.</summary>
    public void ReleaseAcknowledged(BufferPool pool)
    {
        long acked = Acked;
        while (_kept.TryPeek(out var k) && k.End <= acked) Release(_kept.Dequeue(), pool);
    }

    public void ReleaseAll(BufferPool pool)
    {
        while (_kept.TryDequeue(out var k)) Release(k, pool);
    }

    private static void Release(Kept k, BufferPool pool)
    {
        if (k.Control is not null) return;
        k.Chunk.File?.Release();
        if (k.Chunk.Rented) ArrayPool<byte>.Shared.Return(k.Chunk.Buffer);
        else pool.Return(k.Chunk.Buffer);
    }

    /// <summary>
    /// A chunk with less than <see cref="FrameLimits.QuietAckBytes"/> in its buffer (a batch sent off half-full, an
    /// offer, a sendfile range's headers) is kept for re-sending in a copy of the right size, and its pooled buffer goes
    /// back at once. Kept pooled buffers then each cover at least that much of the stream, and a receiver that has
    /// caught up acknowledges all but the last of them: the pool cannot run dry on tiny chunks no acknowledgement is
    /// due for. From ArrayPool, so no allocation in steady state.
    /// </summary>
    public static Chunk CopyOutSmall(Chunk chunk, BufferPool pool)
    {
        if (chunk.Rented || chunk.Length >= FrameLimits.QuietAckBytes) return chunk;
        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(chunk.Length, 1));
        chunk.Buffer.AsSpan(0, chunk.Length).CopyTo(copy);
        pool.Return(chunk.Buffer);
        return chunk with { Buffer = copy, Rented = true };
    }
}
