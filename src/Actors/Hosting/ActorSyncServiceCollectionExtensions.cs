using ActorSync.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorSync.Hosting;

/// <summary>Akka.Hosting's role, played by the Generic Host: registers the engine and its options.</summary>
public static class ActorSyncServiceCollectionExtensions
{
    /// <summary>Binds <see cref="TransferOptions"/> from the "actorsync" section (e.g. config/akka.hocon via
    /// AddHoconFile) and registers <see cref="ActorSyncEngine"/> as a singleton.</summary>
    public static IServiceCollection AddActorSync(this IServiceCollection services, IConfiguration configuration, Func<TransferOptions, TransferOptions>? adjust = null)
    {
        services.AddSingleton(_ =>
        {
            var options = TransferOptions.FromConfiguration(configuration);
            return adjust is null ? options : adjust(options);
        });
        services.AddSingleton(sp => new ActorSyncEngine(sp.GetRequiredService<TransferOptions>(), sp.GetService<ILoggerFactory>()));
        return services;
    }
}
