namespace ActorSync.Actors;

/// <summary>The non-generic face of <see cref="ActorCell{T}"/> that <see cref="ActorContext"/> calls.</summary>
internal interface IActorCell : IActorParent
{
    int RestartCount { get; }

    void Watch(IActorRef other);

    void Unwatch(IActorRef other);
}
