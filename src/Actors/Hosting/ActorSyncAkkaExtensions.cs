using ActorSync.Engine;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorSync.Hosting;

/// <summary>ActorSync inside an application's own Akka.NET system (Akka.Hosting).</summary>
public static class ActorSyncAkkaExtensions
{
    /// <summary>The actor's default name under /user; a host running two engines names them apart.</summary>
    public const string DefaultActorName = "actorsync";

    /// <summary>
    /// Adds ActorSync to the system <paramref name="builder"/> makes: config/akka.hocon goes in as the fallback
    /// (the host's HOCON wins, and its actorsync section is validated like a --config file), and the actor that
    /// runs transfers is registered as <see cref="ActorSyncCoordinator"/> (<c>IRequiredActor&lt;ActorSyncCoordinator&gt;</c>).
    /// The engine logs through the host's ILoggerFactory when it has one.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorSync(this AkkaConfigurationBuilder builder, string actorName = DefaultActorName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddHocon(ActorSyncConfig.Default, HoconAddMode.Append)
            .WithActors((system, registry, resolver) =>
            {
                var options = TransferOptions.FromConfig(system.Settings.Config);
                var engine = new ActorSyncEngine(options, resolver.GetService<ILoggerFactory>(), system);
                registry.Register<ActorSyncCoordinator>(system.ActorOf(ActorProps.Of(() => new TransferHost(engine)), actorName));
            });
    }
}
