using System.Collections.Concurrent;
using Akka.Actor;

namespace ActorSync.Engine;

/// <summary>
/// A fixed number of equal-sized buffers, created on first use and reused for the whole transfer. Renting
/// waits when all are out: this cap is what bounds the engine's memory, whatever the dataset's size, and
/// the wait is the backpressure that slows readers down to the speed of the network. An actor does not wait: it
/// asks (<see cref="RentOrNotify"/>) and, when none is free, is handed the next one returned in a
/// <see cref="Granted"/> message.
/// </summary>
internal sealed class BufferPool : IDisposable
{
    /// <summary>A buffer handed to an actor that asked for one when none was free: it is the actor's now.</summary>
    public sealed record Granted(byte[] Buffer);

    private readonly ConcurrentStack<byte[]> _free = new();
    private readonly SemaphoreSlim _available;
    /// <summary>Actors owed a buffer, first asked first served. Guarded by itself, and a buffer is released to the
    /// semaphore only under that lock, so a buffer returned while an actor registers is never missed by both.</summary>
    private readonly Queue<IActorRef> _waiters = new();
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
    /// <summary>How many actors are owed a buffer (for tests).</summary>
    public int Waiters
    {
        get { lock (_waiters) return _waiters.Count; }
    }

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

    /// <summary>A buffer if one is free now; otherwise null, and <paramref name="waiter"/> gets the next one returned
    /// as <see cref="Granted"/>. Ask again only after that came (one registration per ask).</summary>
    public byte[]? RentOrNotify(IActorRef waiter)
    {
        if (_available.Wait(0)) return Take();
        lock (_waiters)
        {
            if (_available.Wait(0)) return Take();
            _waiters.Enqueue(waiter);
            return null;
        }
    }

    /// <summary>An actor that stops while owed a buffer gives up its place (a grant already on its way is lost with
    /// its mailbox: only at the end of a transfer, when the pool goes too).</summary>
    public void Forget(IActorRef waiter)
    {
        lock (_waiters)
        {
            if (!_waiters.Contains(waiter)) return;
            var rest = _waiters.Where(w => !w.Equals(waiter)).ToArray();
            _waiters.Clear();
            foreach (var w in rest) _waiters.Enqueue(w);
        }
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
        IActorRef? waiter;
        lock (_waiters)
        {
            if (!_waiters.TryDequeue(out waiter))
            {
                _free.Push(buffer);
                _available.Release();
                return;
            }
        }
        waiter.Tell(new Granted(buffer));
    }

    public void Dispose() => _available.Dispose();
}
