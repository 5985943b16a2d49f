namespace ActorSync.Engine;

/// <summary>The dispatchers config/akka.hocon declares for blocking work (see the comments there).</summary>
internal static class ActorSyncDispatchers
{
    /// <summary>Dedicated threads shared by the actors doing file I/O.</summary>
    public const string File = "akka.actor.actorsync-file-dispatcher";

    /// <summary>Dedicated threads shared by socket actors whose sockets are asynchronous (userspace TLS).</summary>
    public const string Socket = "akka.actor.actorsync-socket-dispatcher";

    /// <summary>A thread per actor whose socket calls block (kernel TLS).</summary>
    public const string BlockingSocket = "akka.actor.actorsync-blocking-socket-dispatcher";

    /// <summary>Where a socket actor runs: on a thread of its own when its calls block.</summary>
    public static string ForSocket(bool blocking) => blocking ? BlockingSocket : Socket;
}
