using Microsoft.Extensions.Logging;

namespace ActorSync.Actors;

/// <summary>An actor's view of the kernel. One per actor instance slot; it survives restarts.</summary>
public sealed class ActorContext
{
    private readonly IActorCell _cell;

    internal ActorContext(IActorCell cell, IActorRef self, ActorSystem system, IActorRef? parent, ILogger log)
    {
        _cell = cell;
        Self = self;
        System = system;
        Parent = parent;
        Log = log;
    }

    public IActorRef Self { get; }

    public ActorSystem System { get; }

    /// <summary>The parent actor; null for a top-level actor.</summary>
    public IActorRef? Parent { get; }

    public ILogger Log { get; }

    /// <summary>Restarts so far of this actor (of this instance slot, in a pool).</summary>
    public int RestartCount => _cell.RestartCount;

    /// <summary>OnTerminatedAsync is called once <paramref name="other"/> stops (queued at once if it already has).
    /// Watching the same actor twice still notifies once.</summary>
    public void Watch(IActorRef other) => _cell.Watch(other);

    public void Unwatch(IActorRef other) => _cell.Unwatch(other);

    /// <summary>Spawns a child. Its escalations fail this actor; it is stopped when this actor stops or restarts.</summary>
    public IActorRef<TChild> Spawn<TChild>(Props<TChild> props) => _cell.Spawn(props);
}
