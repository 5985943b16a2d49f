using System.Collections.Concurrent;

namespace ActorSync.Engine;

/// <summary>
/// A fixed number of equal-sized buffers, created on first use and reused for the whole transfer. Renting
/// waits when all are out: this cap is what bounds the engine's memory, whatever the dataset's size, and
/// the wait is the backpressure that slows readers down to the speed of the network.
/// </summary>
internal sealed class BufferPool : IDisposable
{
    private readonly ConcurrentStack<byte[]> _free = new();
    private readonly SemaphoreSlim _available;
    private int _created;

    public BufferPool(int bufferSize, int count)
    {
        BufferSize = bufferSize;
        Capacity = count;
        _available = new SemaphoreSlim(count, count);
    }

    public int BufferSize { get; }
    public int Capacity { get; }
    /// <summary>How many buffers were ever allocated (for memory accounting in tests).</summary>
    public int Created => Volatile.Read(ref _created);
    public int InUse => Capacity - _available.CurrentCount;

    public async ValueTask<byte[]> RentAsync(CancellationToken ct = default)
    {
        if (!_available.Wait(0)) await _available.WaitAsync(ct).ConfigureAwait(false);
        return Take();
    }

    /// <summary>A buffer if one is free now.</summary>
    public bool TryRent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? buffer)
    {
        buffer = _available.Wait(0) ? Take() : null;
        return buffer is not null;
    }

    /// <summary>Blocks until a buffer is free: for an actor on a dedicated thread whose waits are rare.</summary>
    public byte[] Rent(CancellationToken ct = default)
    {
        _available.Wait(ct);
        return Take();
    }

    private byte[] Take()
    {
        if (_free.TryPop(out var buffer)) return buffer;
        Interlocked.Increment(ref _created);
        return GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    }

    public void Return(byte[] buffer)
    {
        if (buffer.Length != BufferSize) throw new ArgumentException("buffer does not belong to this pool", nameof(buffer));
        _free.Push(buffer);
        _available.Release();
    }

    public void Dispose() => _available.Dispose();
}
