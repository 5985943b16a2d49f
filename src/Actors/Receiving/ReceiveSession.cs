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
    CancellationToken Abort);
