namespace ActorSync.Cluster;

/// <summary>Asks a node's <see cref="NodeGateway"/> how the cluster looks from there.</summary>
public sealed record ClusterStatusRequest
{
    public static readonly ClusterStatusRequest Instance = new();
}

/// <summary>One member as the asked node sees it: its address, status (Joining, Up, Leaving, Exiting, Down,
/// Removed), roles, and whether the failure detector currently hears from it.</summary>
public sealed record ClusterMember(string Address, string Status, string[] Roles, bool Reachable);

/// <summary>The answer: the node that answered, the cluster's leader (null while there is none), its members, and the
/// jobs its coordinator is running (null when the coordinator did not answer in time: it may be moving).</summary>
public sealed record ClusterStatusReport(string Node, string? Leader, ClusterMember[] Members, RunningJob[]? Jobs = null);

/// <summary>A job the coordinator is running, in a line.</summary>
public sealed record RunningJob(Guid JobId, string Source, string Destination, long UnitsDone, long UnitsQueued, long UnitsRunning, long Files, long Bytes, double ElapsedSeconds);

/// <summary>Asks the coordinator for its running jobs (answered with a <see cref="RunningJob"/> array).</summary>
public sealed record RunningJobsRequest
{
    public static readonly RunningJobsRequest Instance = new();
}
