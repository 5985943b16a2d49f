using ActorSync.Engine;

namespace ActorSync.Cluster;

/// <summary>
/// Copy <paramref name="Source"/> (visible at that path to every sender node) to <paramref name="Destination"/>
/// (visible at that path to every receiver node). Sent to any node's gateway, or inside the cluster to the job
/// coordinator's proxy: the sender gets <see cref="JobAccepted"/>, then a <see cref="JobStatus"/> at once and every second and a
/// final one. <paramref name="Streams"/>: connections per unit (null: the configured streams). With a
/// <paramref name="JobId"/> of the submitter's choosing the submission is idempotent: sent again (its answer was lost,
/// the coordinator moved), it joins the job of that id, running or finished, instead of starting another.
/// </summary>
public sealed record SubmitJob(string Source, string Destination, int? Streams = null, Guid? JobId = null);

public sealed record JobAccepted(Guid JobId);

/// <summary>Asks for a job's status; the asker also gets its further statuses (a client whose coordinator moved
/// asks again, and is heard by the new one).</summary>
public sealed record JobStatusRequest(Guid JobId);

/// <summary>A job's figures so far (final: its outcome). <paramref name="State"/>: running, done, failed, unknown.
/// <paramref name="Waiting"/>: what a running job waits for when it has units and no member to run them.</summary>
public sealed record JobStatus(Guid JobId, string State, bool Final, TransferSummary Summary, long UnitsDone, long UnitsQueued, long UnitsRunning,
    long UnitsRetried, JobNodeFigures[] Nodes, string? Waiting = null)
{
    public const string Running = "running", Done = "done", Failed = "failed", Unknown = "unknown";
}

/// <summary>What one sender node did for a job: units, files and bytes it sent, bytes it put on the wire.</summary>
public sealed record JobNodeFigures(string Node, long Units, long Files, long Bytes, long PayloadBytesSent, long WireBytes);

// The coordinator's protocol with the nodes' workers (not part of the public surface, but remote messages).

/// <summary>A sender node's worker wants <paramref name="Capacity"/> units in all (work pulling; it repeats the ask
/// while it has room, so a coordinator that moved hears it).</summary>
internal sealed record PullUnits(int Capacity);

/// <summary>Send the entries of <paramref name="Directory"/> (relative to <paramref name="Source"/>; "" is SRC itself)
/// to the receiver node's data port, as transfer <paramref name="TransferId"/>. A huge directory goes in
/// <paramref name="Slices"/> units, slice k sending the names that hash to k; then one of slice -1 gives the directory
/// its own mode and mtime (after its slices and its large files). Files above <paramref name="RangesAbove"/> bytes
/// the receiver needs are left to units of <see cref="UnitKind.Range"/> (then one of <see cref="UnitKind.Finish"/>),
/// whose <paramref name="Directory"/> is the file's path: the transfer id tells the receiver which range. A unit of
/// small directories walks <paramref name="Then"/> after <paramref name="Directory"/> while its files stay under
/// <paramref name="ByteBudget"/>, and reports the ones it did not get to.</summary>
internal sealed record RunUnit(Guid JobId, long UnitId, Guid TransferId, string Source, string Directory, string ReceiverHost, int ReceiverPort, int Streams,
    int Slice = 0, int Slices = 1, UnitKind Kind = UnitKind.Directory, long RangesAbove = 0, int RangeIndex = 0, int Ranges = 0,
    string[]? Then = null, long ByteBudget = 0);

internal enum UnitKind : byte { Directory, Range, Finish }

/// <summary>Subdirectories a unit found, and large files it left to ranges (with their sizes), ahead of its
/// <see cref="UnitDone"/>, in batches that keep each message well under Akka.Remote's frame limit (128 KB) whatever the
/// directory's width.</summary>
internal sealed record UnitSubdirectories(Guid JobId, Guid TransferId, string[] Subdirectories, int[] Entries, string[]? LargeFiles = null, long[]? LargeSizes = null);

/// <summary>A unit's transfer ended with the receiver's confirmation (some entries may have failed: see Summary).
/// <paramref name="Deferred"/>: directories of its batch it left to other units.</summary>
internal sealed record UnitDone(Guid JobId, long UnitId, Guid TransferId, TransferSummary Summary, string[] Subdirectories, int[] Entries, string[]? Deferred = null);

/// <summary>A unit's transfer did not complete. <paramref name="ReceiverLost"/>: its connections to the receiver broke
/// or could not be made (the unit goes to another receiver). <paramref name="Fatal"/>: no retry can help.</summary>
internal sealed record UnitFailed(Guid JobId, long UnitId, Guid TransferId, string Reason, bool ReceiverLost, bool Fatal, long WireBytes = 0);

/// <summary>A receiver node lost a connection of this unit's transfer mid-way: its sender may be gone. The coordinator
/// sends the unit again at once, to the same receiver, where the new attempt takes the old one's place.</summary>
internal sealed record UnitInterrupted(Guid TransferId);

/// <summary>A receiver node's worker, and where its data port listens (repeated, so a coordinator that moved hears it).</summary>
internal sealed record ReceiverReady(string DataHost, int DataPort);

/// <summary>Receive units of this job into <paramref name="Destination"/>; its large files go in ranges of
/// <paramref name="RangeBytes"/>.</summary>
internal sealed record PrepareJob(Guid JobId, string Destination, long RangeBytes);

internal sealed record JobPrepared(Guid JobId);

internal sealed record JobRefused(Guid JobId, string Reason);

/// <summary>What the cluster remembers of a job (replicated, so a coordinator that moved starts it again, and a
/// client still learns how a finished job ended).</summary>
internal sealed record JobRecord(Guid JobId, string Source, string Destination, int Streams, JobStatus? Outcome, long RangeBytes);

/// <summary>The coordinator's hand-over key: what a node's workers and gateway talk to.</summary>
public sealed class JobCoordinatorProxy
{
    private JobCoordinatorProxy()
    {
    }
}

internal static class JobActors
{
    /// <summary>Names under /user on every node.</summary>
    public const string Coordinator = "actorsync-jobs", CoordinatorProxy = "actorsync-jobs-proxy", Sender = "actorsync-sender", Receiver = "actorsync-receiver";
}
