namespace ActorSync.Actors;

internal sealed class SmallestMailboxRouter<T>(IActorRef<T>[] routees, string path) : IActorRef<T>
{
    private int _next;

    public string Path { get; } = path;

    public Task Completion { get; } = Task.WhenAll(routees.Select(static r => r.Completion));

    public bool IsTerminated => Completion.IsCompleted;

    public int MailboxCount
    {
        get
        {
            var total = 0;
            foreach (var routee in routees)
            {
                total += routee.MailboxCount;
            }

            return total;
        }
    }

    public bool TryTell(T message) => Pick() is { } routee && routee.TryTell(message);

    public async ValueTask TellAsync(T message, CancellationToken cancellationToken = default)
    {
        // A routee can stop or start completing between the pick and the send; then try another, once each.
        for (var attempt = 1; ; attempt++)
        {
            var routee = Pick() ?? throw new ActorTerminatedException(Path);
            try
            {
                await routee.TellAsync(message, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ActorTerminatedException) when (attempt < routees.Length)
            {
            }
        }
    }

    public void Complete()
    {
        foreach (var routee in routees)
        {
            routee.Complete();
        }
    }

    public void Stop()
    {
        foreach (var routee in routees)
        {
            routee.Stop();
        }
    }

    /// <summary>The live routee with the smallest mailbox; the scan starts one further each call, so ties rotate.</summary>
    private IActorRef<T>? Pick()
    {
        var count = routees.Length;
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)count);
        IActorRef<T>? best = null;
        var bestCount = int.MaxValue;
        for (var i = 0; i < count; i++)
        {
            var routee = routees[(start + i) % count];
            if (routee.IsTerminated)
            {
                continue;
            }

            var queued = routee.MailboxCount;
            if (queued < bestCount)
            {
                (best, bestCount) = (routee, queued);
                if (queued == 0)
                {
                    break;
                }
            }
        }

        return best;
    }

    public override string ToString() => Path;
}
