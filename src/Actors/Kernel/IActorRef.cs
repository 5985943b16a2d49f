namespace ActorSync.Actors;

/// <summary>An untyped handle to an actor: enough to watch it or stop it.</summary>
public interface IActorRef
{
    /// <summary>Hierarchical path, e.g. "/user/sender-3".</summary>
    string Path { get; }

    /// <summary>Completes when the actor has stopped; faulted with the reason if it stopped because of a failure.</summary>
    Task Completion { get; }

    bool IsTerminated { get; }

    /// <summary>Stops now: queued messages are dropped; the message being handled finishes, then PostStopAsync runs.</summary>
    void Stop();
}
