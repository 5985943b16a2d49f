namespace ActorSync.Actors;

/// <summary>Kernel-created refs: the system can drain or stop them without knowing their message type.</summary>
internal interface IInternalActorRef : IActorRef
{
    void Complete();
}
