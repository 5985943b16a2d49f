using ActorSync.Actors;
using ActorSync.Engine;

namespace ActorSync.Receiving;

/// <summary>What the actors of one incoming transfer share.</summary>
internal sealed record ReceiveSession(
    Guid TransferId,
    DestinationTree Tree,
    BufferPool Pool,
    TransferStats Stats,
    TransferOptions Options,
    IActorRef<ReceiveEvent> Coordinator,
    CancellationToken Abort)
{
    /// <summary>Verified prefixes of kept partial files, by path: found when answering an Offer, taken by the writer.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (long Offset, System.Security.Cryptography.IncrementalHash Hash)> Resumes { get; } = new(StringComparer.Ordinal);
}
