namespace ActorSync.Actors;

/// <summary>
/// Decides what happens to an actor whose ReceiveAsync (or PreStartAsync, or a child's escalation) threw,
/// and bounds restarts with a retry budget and exponential backoff.
/// </summary>
public sealed class SupervisorStrategy
{
    /// <summary>Default restart budget: enough to ride out a burst of transient faults, few enough that a
    /// deterministic bug gives up in seconds rather than looping forever.</summary>
    private const int DefaultMaxRetries = 10;

    /// <summary>Default first backoff: long enough that a failing peer or disk is not hammered in a hot loop,
    /// short enough that a one-off fault costs almost nothing.</summary>
    private static readonly TimeSpan DefaultMinBackoff = TimeSpan.FromMilliseconds(50);

    /// <summary>Default backoff cap: keeps recovery within a few seconds once the cause clears.</summary>
    private static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromSeconds(5);

    private SupervisorStrategy(
        Func<Exception, Directive> decider, int maxRetries, TimeSpan? within,
        TimeSpan minBackoff, TimeSpan maxBackoff, double factor)
    {
        ArgumentNullException.ThrowIfNull(decider);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        ArgumentOutOfRangeException.ThrowIfLessThan(minBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBackoff, minBackoff);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1.0);
        if (within is { } w)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(w, TimeSpan.Zero, nameof(within));
        }

        Decider = decider;
        MaxRetries = maxRetries;
        Within = within;
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff;
        Factor = factor;
    }

    public Func<Exception, Directive> Decider { get; }

    /// <summary>Restart budget; one more failure that asks for a restart stops the actor with that exception.</summary>
    public int MaxRetries { get; }

    /// <summary>Window the budget counts restarts in; null counts over the actor's lifetime.</summary>
    public TimeSpan? Within { get; }

    /// <summary>Delay before the first restart; each further restart in the window multiplies it by <see cref="Factor"/>.</summary>
    public TimeSpan MinBackoff { get; }

    public TimeSpan MaxBackoff { get; }

    public double Factor { get; }

    /// <summary>Any failure stops the actor.</summary>
    public static SupervisorStrategy StoppingStrategy { get; } =
        new(static _ => Directive.Stop, 0, null, TimeSpan.Zero, TimeSpan.Zero, 2.0);

    /// <summary>Any failure stops the actor and fails its parent (or raises ActorSystem.UnhandledFailure).</summary>
    public static SupervisorStrategy EscalatingStrategy { get; } =
        new(static _ => Directive.Escalate, 0, null, TimeSpan.Zero, TimeSpan.Zero, 2.0);

    public static SupervisorStrategy Restart(
        int maxRetries = DefaultMaxRetries, TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null,
        double factor = 2.0, TimeSpan? within = null, Func<Exception, Directive>? decider = null)
    {
        var min = minBackoff ?? DefaultMinBackoff;
        return new(decider ?? (static _ => Directive.Restart), maxRetries, within,
            min, maxBackoff ?? Max(min, DefaultMaxBackoff), factor);
    }

    public static SupervisorStrategy Decide(
        Func<Exception, Directive> decider, int maxRetries = DefaultMaxRetries,
        TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null)
    {
        var min = minBackoff ?? DefaultMinBackoff;
        return new(decider, maxRetries, null, min, maxBackoff ?? Max(min, DefaultMaxBackoff), 2.0);
    }

    /// <summary>Backoff before a restart when <paramref name="restartsInWindow"/> restarts already happened.</summary>
    internal TimeSpan BackoffFor(int restartsInWindow)
    {
        var ticks = MinBackoff.Ticks * Math.Pow(Factor, restartsInWindow);
        return ticks >= MaxBackoff.Ticks ? MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
