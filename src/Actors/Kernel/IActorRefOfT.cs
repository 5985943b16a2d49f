namespace ActorSync.Actors;

/// <summary>A typed handle to an actor with a bounded mailbox.</summary>
public interface IActorRef<in T> : IActorRef
{
    /// <summary>Enqueues <paramref name="message"/>, waiting while the mailbox is full (backpressure).</summary>
    /// <exception cref="ActorTerminatedException">The actor is stopped or completing.</exception>
    ValueTask TellAsync(T message, CancellationToken cancellationToken = default);

    /// <summary>Enqueues without waiting; false when the mailbox is full or the actor no longer accepts messages.</summary>
    bool TryTell(T message);

    /// <summary>Messages queued and not yet taken by the actor.</summary>
    int MailboxCount { get; }

    /// <summary>Orderly shutdown: no new messages are accepted; the actor drains what is queued, then stops.</summary>
    void Complete();
}
