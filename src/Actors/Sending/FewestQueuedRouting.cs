using Akka.Routing;

namespace ActorSync.Sending;

/// <summary>
/// Chunks go to the stream with the fewest waiting for it, so a slow connection gets fewer. Akka's SmallestMailbox
/// would not do: a sender holds what comes while its socket drains in its stash, where the mailbox's count does not
/// see it, so the busiest stream would look idle. Ties go round the streams. Routees are the streams, in order.
/// </summary>
internal sealed class FewestQueuedRouting(StreamState[] streams) : RoutingLogic
{
    private int _next;

    public override Routee Select(object message, Routee[] routees)
    {
        int start = (int)((uint)Interlocked.Increment(ref _next) % (uint)routees.Length);
        int best = start, fewest = int.MaxValue;
        for (int k = 0; k < routees.Length; k++)
        {
            int i = (start + k) % routees.Length;
            int queued = streams[i].Queued;
            if (queued < fewest) { fewest = queued; best = i; }
        }
        if (message is SenderCommand { Chunk.Buffer: not null }) streams[best].ChunkRouted();
        return routees[best];
    }
}
