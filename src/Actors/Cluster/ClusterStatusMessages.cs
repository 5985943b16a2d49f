namespace ActorSync.Cluster;

/// <summary>Asks a node's <see cref="NodeGateway"/> how the cluster looks from there.</summary>
public sealed record ClusterStatusRequest
{
    public static readonly ClusterStatusRequest Instance = new();
}

/// <summary>One member as the asked node sees it: its address, status (Joining, Up, Leaving, Exiting, Down,
/// Removed), roles, and whether the failure detector currently hears from it.</summary>
public sealed record ClusterMember(string Address, string Status, string[] Roles, bool Reachable);

/// <summary>The answer: the node that answered, the cluster's leader (null while there is none) and its members.</summary>
public sealed record ClusterStatusReport(string Node, string? Leader, ClusterMember[] Members);
