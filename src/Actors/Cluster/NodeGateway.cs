using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using Microsoft.Extensions.Logging;

namespace ActorSync.Cluster;

/// <summary>
/// A node's door for processes outside the cluster (<c>actorsync cluster status</c>, later <c>actorsync job</c>), at a
/// fixed path on every node so a client needs only one node's address. It also logs what the node sees of the
/// cluster's membership, one line per change.
/// </summary>
internal sealed class NodeGateway : UntypedActor
{
    /// <summary>The gateway's name under /user on every node.</summary>
    public const string Name = "actorsync-node";

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    /// <summary>How long a status waits for the coordinator's job list: it answers at once unless it is moving.</summary>
    private static readonly TimeSpan JobsWait = TimeSpan.FromSeconds(3);

    private readonly ILogger _log;
    private readonly IActorRef _jobs;

    public NodeGateway(ILogger log, IActorRef jobs)
    {
        _log = log;
        _jobs = jobs;
    }

    public static string PathOn(string nodeAddress) => $"{nodeAddress}/user/{Name}";

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ClusterStatusRequest:
                // The members as this node sees them, and the jobs as the coordinator (wherever it runs) has them.
                var report = Report();
                _jobs.Ask<RunningJob[]>(RunningJobsRequest.Instance, JobsWait)
                    .ContinueWith(t => report with { Jobs = t.IsCompletedSuccessfully ? t.Result : null }, TaskScheduler.Default)
                    .PipeTo(Sender);
                break;
            // A client's job requests go to the coordinator, wherever it runs; its answers go straight to the client.
            case SubmitJob or JobStatusRequest:
                _jobs.Forward(message);
                break;
            case ClusterEvent.MemberUp m:
                _log.LogInformation("member up: {Address} ({Roles})", m.Member.Address, string.Join(",", m.Member.Roles));
                break;
            case ClusterEvent.MemberRemoved m:
                _log.LogInformation("member removed: {Address} (was {Status})", m.Member.Address, m.PreviousStatus);
                break;
            case ClusterEvent.UnreachableMember m:
                _log.LogWarning("member unreachable: {Address}", m.Member.Address);
                break;
            case ClusterEvent.ReachableMember m:
                _log.LogInformation("member reachable again: {Address}", m.Member.Address);
                break;
            case ClusterEvent.IMemberEvent:
                break;
            case AssociationErrorEvent e when RefusedForKey(e.Cause):
                _log.LogWarning("refused a connection {Direction} {Peer}: it does not hold this cluster's key",
                    e.IsInbound ? "from" : "to", e.RemoteAddress);
                break;
            case AssociationErrorEvent e when !e.IsInbound && e.Cause?.GetBaseException() is System.Net.Sockets.SocketException connect:
                _log.LogWarning("cannot connect to {Peer}: {Reason}", e.RemoteAddress, connect.Message);
                break;
            case AssociationErrorEvent e:
                _log.LogDebug("connection {Direction} {Peer} ended: {Reason}", e.IsInbound ? "from" : "to", e.RemoteAddress, e.Cause?.GetBaseException().Message);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>A TLS handshake that failed (one side refused the other's key), as opposed to a connection that could
    /// not be made or merely closed. Akka.Remote reports a handshake the peer broke off as an
    /// InvalidAssociationException whose message says so, with no inner exception to tell it by.</summary>
    public static bool RefusedForKey(Exception? cause)
    {
        for (; cause is not null; cause = cause.InnerException)
            if (cause is System.Security.Authentication.AuthenticationException
                || cause.Message.Contains("TLS handshake failed", StringComparison.Ordinal)) return true;
        return false;
    }

    private ClusterStatusReport Report()
    {
        var state = _cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members
            .Select(m => new ClusterMember(m.Address.ToString(), m.Status.ToString(), [.. m.Roles.Order(StringComparer.Ordinal)], !unreachable.Contains(m.Address)))
            .ToArray();
        return new ClusterStatusReport(_cluster.SelfAddress.ToString(), state.Leader?.ToString(), members);
    }
}
