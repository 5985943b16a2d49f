namespace ActorSync.Actors;

/// <summary>How to create and run an actor.</summary>
public sealed record Props<T>
{
    /// <summary>Creates an instance; called at start and again on every restart.</summary>
    public required Func<Actor<T>> Factory { get; init; }

    /// <summary>Last path segment; a unique "$n" name is generated when null.</summary>
    public string? Name { get; init; }

    /// <summary>Bounded: a full mailbox makes TellAsync wait (backpressure).</summary>
    public int MailboxCapacity { get; init; } = 1024;

    public SupervisorStrategy Supervisor { get; init; } = SupervisorStrategy.Restart();

    /// <summary>At-least-once: after a Restart the failed message is delivered again, first, to the new instance
    /// (otherwise it is dropped, as in Akka).</summary>
    public bool RedeliverOnRestart { get; init; }

    /// <summary>Balancing pool: this many instances share one mailbox, an idle one takes the next message; each is
    /// supervised on its own; the actor completes when all have stopped.</summary>
    public int PoolSize { get; init; } = 1;
}

public static class Props
{
    public static Props<T> Create<T>(Func<Actor<T>> factory, string? name = null) =>
        new() { Factory = factory, Name = name };
}
