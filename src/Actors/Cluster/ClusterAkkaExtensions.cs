using System.Net;
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
    public static AkkaConfigurationBuilder WithActorSyncNode(this AkkaConfigurationBuilder builder, ClusterNodeSettings settings, SharedSecret secret)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        return builder
            .AddHocon(settings.ToHocon(), HoconAddMode.Prepend)
            .AddSetup(ClusterCredentials.Derive(secret).ToSslSetup())
            .WithActors((system, registry, resolver) =>
            {
                var log = resolver.GetService<ILoggerFactory>()?.CreateLogger("actorsync.node") ?? NullLogger.Instance;
                registry.Register<NodeGateway>(system.ActorOf(Engine.ActorProps.Of(() => new NodeGateway(log)), NodeGateway.Name));
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
