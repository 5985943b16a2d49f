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
    OwnershipPolicy Owners,
    IActorRef<ReceiveEvent> Coordinator,
    CancellationToken Abort)
{
    /// <summary>Verified prefixes of kept partial files, by path: found when answering an Offer, taken by the writer.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (long Offset, System.Security.Cryptography.IncrementalHash Hash)> Resumes { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Files announced and not yet complete, over all writers. A sender has a file in progress only while some
    /// of its ranges are in flight, so it stays under its pool's chunk count plus its readers: 256 + 4 with the
    /// defaults, 4100 with a 1 GiB pool. Each costs an open descriptor and some state here, so a peer
    /// announcing files it never finishes is stopped at this many.
    /// </summary>
    public const int MaxFilesInProgress = 4096;

    private int _filesInProgress;

    public void BeginFile()
    {
        if (Interlocked.Increment(ref _filesInProgress) > MaxFilesInProgress)
            throw new Transport.ProtocolException($"more than {MaxFilesInProgress} files announced and not finished at once");
    }

    public void EndFile() => Interlocked.Decrement(ref _filesInProgress);
}
