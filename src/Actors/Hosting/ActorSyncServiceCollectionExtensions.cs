using ActorSync.Engine;
using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorSync.Hosting;

/// <summary>Registers the engine and its options in a host's services.</summary>
public static class ActorSyncServiceCollectionExtensions
{
    /// <summary>Binds <see cref="TransferOptions"/> from the "actorsync" section of <paramref name="config"/>
    /// (default: the built-in config/akka.hocon; a host's own HOCON keeps them as its fallback, e.g.
    /// <c>ConfigurationFactory.ParseString(mine).WithFallback(ActorSyncConfig.Default)</c>) and registers
    /// <see cref="ActorSyncEngine"/> as a singleton.</summary>
    public static IServiceCollection AddActorSync(this IServiceCollection services, Config? config = null, Func<TransferOptions, TransferOptions>? adjust = null)
    {
        services.AddSingleton(_ =>
        {
            var options = TransferOptions.FromConfig(config ?? ActorSyncConfig.Default);
            return adjust is null ? options : adjust(options);
        });
        services.AddSingleton(sp => new ActorSyncEngine(sp.GetRequiredService<TransferOptions>(), sp.GetService<ILoggerFactory>()));
        return services;
    }
}
