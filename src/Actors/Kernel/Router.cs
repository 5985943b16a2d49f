namespace ActorSync.Actors;

public static class Router
{
    /// <summary>
    /// Akka's SmallestMailbox: each message goes to the live routee with the fewest queued messages; ties go
    /// round-robin. Complete()/Stop() apply to all routees; Completion is when all have stopped.
    /// </summary>
    public static IActorRef<T> SmallestMailbox<T>(IReadOnlyList<IActorRef<T>> routees, string path)
    {
        ArgumentNullException.ThrowIfNull(routees);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (routees.Count == 0)
        {
            throw new ArgumentException("A router needs at least one routee.", nameof(routees));
        }

        return new SmallestMailboxRouter<T>([.. routees], path);
    }
}
