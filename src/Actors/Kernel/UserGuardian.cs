namespace ActorSync.Actors;

/// <summary>The parent of top-level actors: escalations that reach it become ActorSystem.UnhandledFailure.</summary>
internal sealed class UserGuardian(ActorSystem system) : IActorParent
{
    public string Path => "/user";

    public IActorRef? Self => null;

    public IActorRef<TChild> Spawn<TChild>(Props<TChild> props)
    {
        var actor = LocalActorRef<TChild>.Create(system, this, props);
        actor.Start();
        return actor;
    }

    public void ChildEscalated(IActorRef child, Exception reason) => system.RaiseUnhandledFailure(child, reason);

    public void ChildStopped(IActorRef child)
    {
        // The system's registry tracks live actors; there is nothing else to release.
    }
}
