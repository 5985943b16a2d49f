namespace ActorSync.Actors;

/// <summary>Thrown when a message is sent to an actor that is stopped or no longer accepts messages.</summary>
public sealed class ActorTerminatedException : InvalidOperationException
{
    public ActorTerminatedException(string actorPath)
        : base($"Actor {actorPath} is terminated or no longer accepts messages.")
    {
        ActorPath = actorPath;
    }

    public string ActorPath { get; }
}
