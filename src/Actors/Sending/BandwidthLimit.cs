using System.Diagnostics;

namespace ActorSync.Sending;

/// <summary>
/// One cap over all the streams of a transfer (--bwlimit): a token bucket the stream senders draw from before each
/// send. A send may overdraw it; the sender then waits (a timer, never a blocked thread) until the debt is paid,
/// so the long-run rate is the cap exactly, whatever the chunk sizes, and many streams share it rather than each
/// getting the whole of it.
/// </summary>
internal sealed class BandwidthLimit
{
    /// <summary>What may go out at once after a quiet spell: 50 ms at the rate, at least one chunk's worth, so a
    /// stream's pause after an idle moment does not turn into a burst that overshoots the cap for long.</summary>
    private static readonly TimeSpan BurstTime = TimeSpan.FromMilliseconds(50);

    private readonly Lock _lock = new();
    private readonly double _bytesPerTick;
    private readonly double _burst;
    private double _tokens;
    private long _last = Stopwatch.GetTimestamp();

    public BandwidthLimit(long bytesPerSecond, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        BytesPerSecond = bytesPerSecond;
        _bytesPerTick = (double)bytesPerSecond / Stopwatch.Frequency;
        _burst = Math.Max(bytesPerSecond * BurstTime.TotalSeconds, chunkSize);
        _tokens = _burst;
    }

    public long BytesPerSecond { get; }

    /// <summary>Takes <paramref name="bytes"/> from the bucket and says how long the caller must wait before sending
    /// them (zero when the bucket had them).</summary>
    public TimeSpan Take(long bytes)
    {
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (now - _last) * _bytesPerTick);
            _last = now;
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / BytesPerSecond);
        }
    }
}
