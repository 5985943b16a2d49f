namespace ActorSync.Actors;

/// <summary>What a child needs from whoever supervises it: an actor cell, or the system's user guardian.</summary>
internal interface IActorParent
{
    /// <summary>Path children are named under.</summary>
    string Path { get; }

    /// <summary>The parent's own ref; null for the guardian (top-level actors have no parent actor).</summary>
    IActorRef? Self { get; }

    IActorRef<TChild> Spawn<TChild>(Props<TChild> props);

    /// <summary>A child stopped because its supervisor said Escalate: handle it as the parent's own failure.</summary>
    void ChildEscalated(IActorRef child, Exception reason);

    void ChildStopped(IActorRef child);
}
