using System.Threading.Tasks.Sources;

namespace ActorSync.Actors;

/// <summary>
/// Allocation-free wake-up for one idle actor loop. The loop <see cref="Arm"/>s, re-checks for work, then awaits;
/// anyone who produced work (a message, a system message, a stop) calls <see cref="TryRing"/> after a full fence.
/// Because both sides fence between their write and their read (Dekker), either the loop sees the work or the
/// producer sees the loop parked, so no wake-up is lost. Continuations run on the thread pool, never inline in
/// the producer's TryTell.
/// </summary>
internal sealed class Doorbell : IValueTaskSource
{
    private const int Running = 0;
    private const int Parked = 1;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    /// <summary>Consumer: announce the intent to sleep. Must be followed by a re-check for work.</summary>
    public void Arm()
    {
        _core.Reset();
        Interlocked.Exchange(ref _state, Parked); // full fence before the re-check
    }

    /// <summary>Consumer: the re-check found work. False means a producer already rang: await to consume it.</summary>
    public bool TryDisarm() => Interlocked.CompareExchange(ref _state, Running, Parked) == Parked;

    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>Producer (after a full fence): wakes the loop if it is parked. True if this call woke it.</summary>
    public bool TryRing()
    {
        if (Volatile.Read(ref _state) != Parked || Interlocked.CompareExchange(ref _state, Running, Parked) != Parked)
        {
            return false;
        }

        _core.SetResult(true);
        return true;
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
