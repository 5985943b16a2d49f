using System.Globalization;
using System.Net;
using System.Text;

namespace ActorSync.Cluster;

/// <summary>What a node is in the cluster: where it listens, whom it asks to join, what it does.</summary>
public sealed record ClusterNodeSettings
{
    /// <summary>The ActorSystem's name: part of every node's address, so all nodes and clients share it.</summary>
    public const string SystemName = "actorsync";

    public const string SenderRole = "sender";
    public const string ReceiverRole = "receiver";

    /// <summary>The address this node binds and the others reach it at (an IP: nodes compare addresses exactly).</summary>
    public required DnsEndPoint Listen { get; init; }

    /// <summary>Nodes to join through; the first one forms the cluster when none of them is up yet. The same list,
    /// in the same order, on every node.</summary>
    public required IReadOnlyList<DnsEndPoint> Seeds { get; init; }

    public required IReadOnlyList<string> Roles { get; init; }

    public static string Address(DnsEndPoint endpoint) =>
        string.Create(CultureInfo.InvariantCulture, $"akka.ssl.tcp://{SystemName}@{endpoint.Host}:{endpoint.Port}");

    /// <summary>"sender", "receiver" or "both" as the roles a node carries; null for anything else.</summary>
    public static IReadOnlyList<string>? ParseRole(string role) => role switch
    {
        SenderRole => [SenderRole],
        ReceiverRole => [ReceiverRole],
        "both" => [SenderRole, ReceiverRole],
        _ => null,
    };

    /// <summary>The Akka settings that make this process a node: cluster provider, remoting over TLS on the listen
    /// address, seeds and roles. Layered above everything else (they come from the command line); the failure
    /// detector's and the split-brain resolver's timings are in config/akka.hocon, where a --config file may
    /// change them.</summary>
    public string ToHocon()
    {
        var hocon = new StringBuilder();
        hocon.Append("akka.actor.provider = cluster\n");
        hocon.Append(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp.hostname = \"{Listen.Host}\"\n");
        hocon.Append(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp.port = {Listen.Port}\n");
        hocon.Append("akka.remote.dot-netty.tcp.enable-ssl = true\n");
        hocon.Append("akka.cluster.seed-nodes = [").AppendJoin(", ", Seeds.Select(s => $"\"{Address(s)}\"")).Append("]\n");
        hocon.Append("akka.cluster.roles = [").AppendJoin(", ", Roles.Select(r => $"\"{r}\"")).Append("]\n");
        return hocon.ToString();
    }

    /// <summary>The Akka settings of a process that only talks to a cluster (job, cluster status): remoting over TLS
    /// on an ephemeral port of the local address that routes to <paramref name="contact"/>, so replies can reach it.</summary>
    public static string ContactHocon(IPAddress localAddress) =>
        "akka.actor.provider = remote\n" +
        $"akka.remote.dot-netty.tcp.hostname = \"{localAddress}\"\n" +
        "akka.remote.dot-netty.tcp.port = 0\n" +
        "akka.remote.dot-netty.tcp.enable-ssl = true\n";
}
