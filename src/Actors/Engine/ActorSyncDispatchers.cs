namespace ActorSync.Engine;

/// <summary>The dispatchers config/akka.hocon declares for blocking work (see the comments there).</summary>
internal static class ActorSyncDispatchers
{
    /// <summary>Dedicated threads shared by the actors doing file I/O.</summary>
    public const string File = "akka.actor.actorsync-file-dispatcher";

    /// <summary>A thread per actor that owns a socket.</summary>
    public const string Socket = "akka.actor.actorsync-socket-dispatcher";
}
