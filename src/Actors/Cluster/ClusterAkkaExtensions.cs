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
    /// derived from <paramref name="secret"/> (only processes holding it can connect), and the node's gateway.
    /// The node settings go above the host's HOCON: they are what the node was asked to be.
    /// </summary>
    /// <remarks>Every node can hold the job coordinator (a cluster singleton) and has a proxy to it, registered as
    /// <see cref="JobCoordinatorProxy"/>: tell it a <see cref="SubmitJob"/>. A sender node pulls units; a receiver node
    /// serves its data port on <paramref name="dataListener"/> (a bound, listening socket; null: an ephemeral port on
    /// the cluster address), announced to the coordinator as <paramref name="dataAdvertised"/> (default: where it is bound).</remarks>
    public static AkkaConfigurationBuilder WithActorSyncNode(this AkkaConfigurationBuilder builder, ClusterNodeSettings settings, SharedSecret secret,
        Socket? dataListener = null, IPEndPoint? dataAdvertised = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        return builder
            .AddHocon(settings.ToHocon(), HoconAddMode.Prepend)
            // Every node serves the job records' replicas and may hold the singleton: their defaults (serializers among
            // them) must be in every node's config, not only in the one that first uses them.
            .AddHocon(DistributedData.DefaultConfig(), HoconAddMode.Append)
            .AddHocon(ClusterSingleton.DefaultConfig(), HoconAddMode.Append)
            .AddSetup(ClusterCredentials.Derive(secret).ToSslSetup())
            .WithActors((system, registry, resolver) =>
            {
                DistributedData.Get(system);
                var loggers = resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
                var log = loggers.CreateLogger("actorsync.node");
                var options = resolver.GetService<TransferOptions>() ?? TransferOptions.FromConfig(system.Settings.Config);
                system.ActorOf(ClusterSingletonManager.Props(ActorProps.Of(() => new JobCoordinator(options, log)), PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system)), JobActors.Coordinator);
                var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{JobActors.Coordinator}", ClusterSingletonProxySettings.Create(system)),
                    JobActors.CoordinatorProxy);
                registry.Register<JobCoordinatorProxy>(proxy);
                registry.Register<NodeGateway>(system.ActorOf(ActorProps.Of(() => new NodeGateway(log, proxy)), NodeGateway.Name));
                if (settings.Roles.Contains(ClusterNodeSettings.SenderRole))
                    system.ActorOf(ActorProps.Of(() => new UnitSender(proxy, secret, options, loggers)), JobActors.Sender);
                if (settings.Roles.Contains(ClusterNodeSettings.ReceiverRole))
                {
                    var listener = dataListener ?? ActorSyncEngine.Listen(IPAddress.Parse(settings.Listen.Host), 0);
                    var advertised = dataAdvertised ?? (IPEndPoint)listener.LocalEndPoint!;
                    system.ActorOf(ActorProps.Of(() => new JobReceiver(proxy, listener, advertised, secret, options, loggers)), JobActors.Receiver);
                }
            });
    }

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
