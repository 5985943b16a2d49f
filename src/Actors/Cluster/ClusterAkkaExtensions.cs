using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.DistributedData;
using ActorSync.Transport.Handshake;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorSync.Cluster;

/// <summary>ActorSync's cluster roles in an Akka.Hosting-built system.</summary>
public static class ClusterAkkaExtensions
{
    /// <summary>
    /// Makes the system a node of an ActorSync cluster: Akka.Cluster over Akka.Remote, with mutual TLS whose key is
    /// derived from <paramref name="secret"/> (only processes holding it can connect), the node's gateway for
    /// `actorsync job` and `cluster status`, and ActorSync's jobs (<see cref="WithActorSyncCluster"/>).
    /// The node settings go above the host's HOCON: they are what the node was asked to be.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorSyncNode(this AkkaConfigurationBuilder builder, ClusterNodeSettings settings, SharedSecret secret,
        Socket? dataListener = null, IPEndPoint? dataAdvertised = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        return builder
            .AddHocon(settings.ToHocon(), HoconAddMode.Prepend)
            .AddSetup(ClusterCredentials.Derive(secret).ToSslSetup())
            .WithActorSyncCluster(secret, dataListener, dataAdvertised)
            .WithActors((system, registry, resolver) =>
            {
                var log = (resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("actorsync.node");
                var proxy = registry.Get<JobCoordinatorProxy>();
                registry.Register<NodeGateway>(system.ActorOf(ActorProps.Of(() => new NodeGateway(log, proxy)), NodeGateway.Name));
            });
    }

    /// <summary>
    /// Adds ActorSync's cluster jobs to a system that is already an Akka.Cluster member, the application's own cluster
    /// with its own name, seeds, transport security and downing. Every member can hold the job coordinator (a cluster
    /// singleton whose job records live in DistributedData) and has a proxy to it, registered as
    /// <see cref="JobCoordinatorProxy"/>: tell it a <see cref="SubmitJob"/> and the sender gets <see cref="JobAccepted"/>,
    /// a <see cref="JobStatus"/> every second and a final one. Members with the cluster role "sender" pull units and
    /// send them; members with the role "receiver" take file data on <paramref name="dataListener"/> (a bound,
    /// listening socket; null: an ephemeral port on the member's cluster address), announced to the coordinator as
    /// <paramref name="dataAdvertised"/> (default: where it is bound). File data never goes through Akka.Remote: it
    /// goes over ActorSync's own TLS 1.3 streams, keyed by <paramref name="secret"/>, which every member must share.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorSyncCluster(this AkkaConfigurationBuilder builder, SharedSecret secret,
        Socket? dataListener = null, IPEndPoint? dataAdvertised = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(secret);
        return builder
            // ActorSync's own defaults (its dispatchers among them) under the host's HOCON, as WithActorSync does.
            .AddHocon(ActorSyncConfig.Default, HoconAddMode.Append)
            // Every node serves the job records' replicas and may hold the singleton: their defaults (serializers among
            // them) must be in every node's config, not only in the one that first uses them.
            .AddHocon(DistributedData.DefaultConfig(), HoconAddMode.Append)
            .AddHocon(ClusterSingleton.DefaultConfig(), HoconAddMode.Append)
            .WithActors((system, registry, resolver) =>
            {
                DistributedData.Get(system);
                var self = Akka.Cluster.Cluster.Get(system);
                var loggers = resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
                var log = loggers.CreateLogger("actorsync.node");
                var options = resolver.GetService<TransferOptions>() ?? TransferOptions.FromConfig(system.Settings.Config);
                system.ActorOf(ClusterSingletonManager.Props(ActorProps.Of(() => new JobCoordinator(options, log)), PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system)), JobActors.Coordinator);
                var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{JobActors.Coordinator}", ClusterSingletonProxySettings.Create(system)),
                    JobActors.CoordinatorProxy);
                registry.Register<JobCoordinatorProxy>(proxy);
                if (self.SelfRoles.Contains(ClusterNodeSettings.SenderRole))
                    system.ActorOf(ActorProps.Of(() => new UnitSender(proxy, secret, options, loggers)), JobActors.Sender);
                if (self.SelfRoles.Contains(ClusterNodeSettings.ReceiverRole))
                {
                    var listener = dataListener ?? ActorSyncEngine.Listen(DataAddress(self.SelfAddress.Host), 0);
                    var advertised = dataAdvertised ?? (IPEndPoint)listener.LocalEndPoint!;
                    system.ActorOf(ActorProps.Of(() => new JobReceiver(proxy, listener, advertised, secret, options, loggers)), JobActors.Receiver);
                }
            });
    }

    /// <summary>Where a receiver's data port listens by default: the cluster address's IP (what the senders already
    /// reach this member at), or the first address its name resolves to.</summary>
    private static IPAddress DataAddress(string? clusterHost) =>
        IPAddress.TryParse(clusterHost, out var ip) ? ip : Dns.GetHostAddresses(clusterHost ?? "localhost")[0];

    /// <summary>Makes the system a client of an ActorSync cluster: remoting only (it never joins), over the cluster's
    /// mutual TLS, on an ephemeral port of <paramref name="localAddress"/>.</summary>
    public static AkkaConfigurationBuilder WithActorSyncContact(this AkkaConfigurationBuilder builder, IPAddress localAddress, SharedSecret secret)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddHocon(ClusterNodeSettings.ContactHocon(localAddress), HoconAddMode.Prepend)
            .AddSetup(ClusterCredentials.Derive(secret).ToSslSetup());
    }
}
