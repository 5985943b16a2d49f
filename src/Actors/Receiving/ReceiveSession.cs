using ActorSync.Engine;

namespace ActorSync.Receiving;

/// <summary>
/// Where an incoming transfer writes: DEST, and for a cluster job's unit its own work area in DEST (see
/// <see cref="DestinationTree.OpenAsync"/>); null for a plain transfer, which has DEST to itself. A unit carrying a
/// large file's range, or finishing it, names which (<see cref="SharedRanges"/>).
/// </summary>
/// <summary>--delete as the sender asked for it: at most <paramref name="MaxDelete"/> removals (-1: no limit), and what
/// <paramref name="Protect"/> excludes is kept.</summary>
internal sealed record DeletionPolicy(long MaxDelete, Engine.FilterRules Protect);

internal readonly record struct ReceiveTarget(string Destination, string? Scope = null, FileRangeUnit? Range = null);

/// <summary>What the actors of one incoming transfer share. <c>StreamLost</c> hears of each connection lost mid-transfer
/// (a cluster node tells the job's coordinator, which sends the unit again at once instead of waiting for the cluster
/// to down a sender that died).</summary>
internal sealed record ReceiveSession(
    Guid TransferId,
    DestinationTree Tree,
    BufferPool Pool,
    TransferStats Stats,
    TransferOptions Options,
    OwnershipPolicy Owners,
    CancellationToken Abort,
    Action<Guid>? StreamLost = null,
    FileRangeUnit? Range = null,
    DeletionPolicy? Deletion = null)
{
    /// <summary>What this receiver holds of files of an interrupted run, by path: found when answering an Offer (and
    /// reported to the sender), taken by the writer when the file's header comes.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, HeldFile> Resumes { get; } = new(StringComparer.Ordinal);

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

/// <summary>
/// Bytes of a file this receiver holds from an interrupted run and reported in Blocks: in a partial (with its
/// journal), or a finished temporary in the kept area. The sender says in Kept frames which of them to keep; only
/// bytes reported here may be kept.
/// </summary>
internal sealed class HeldFile(Transport.Frames.HeldBlock[] blocks, long durablePrefix, bool inKeptArea)
{
    public Transport.Frames.HeldBlock[] Blocks { get; } = blocks;
    /// <summary>Where the partial's verified prefix ends: its checkpoints carry on from there.</summary>
    public long DurablePrefix { get; } = durablePrefix;
    public bool InKeptArea { get; } = inKeptArea;

    private RangeSet? _reported;

    public bool Reported(long offset, long length)
    {
        if (_reported is null)
        {
            _reported = new RangeSet();
            foreach (var b in Blocks) _reported.AddAllowingOverlap(b.Offset, b.Length);
        }
        return _reported.Covers(offset, length);
    }
}
