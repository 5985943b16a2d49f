using ActorSync.Engine;
using ActorSync.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace ActorSync.Host.Cli;

/// <summary>
/// Builds the Generic Host a command runs in: configuration layered as built-in config/akka.hocon, then
/// --config FILE or $ACTORSYNC_CONFIG, then command-line overrides; Serilog to stderr; the engine from
/// AddActorSync.
/// </summary>
internal static class EngineHost
{
    public static IHost Build(string? configFile, bool verbose, bool quiet, IReadOnlyDictionary<string, string> overrides)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        string? file = configFile ?? Environment.GetEnvironmentVariable("ACTORSYNC_CONFIG");
        var config = ActorSyncConfig.Load(file, overrides);

        var level = verbose ? LogEventLevel.Debug : quiet ? LogEventLevel.Warning : LogEventLevel.Information;
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        // Every actor's start and stop is kernel bookkeeping, not news: shown with -v only.
        builder.Logging.AddFilter("ActorSync.Actors.ActorSystem", verbose ? LogLevel.Debug : LogLevel.Warning);
        builder.Services.AddActorSync(config);
        return builder.Build();
    }

    /// <summary>Validates the options up front so a bad config file is a usage error, not a crash mid-transfer.</summary>
    public static TransferOptions Options(IHost host) => host.Services.GetRequiredService<TransferOptions>();

    public static ActorSyncEngine Engine(IHost host) => host.Services.GetRequiredService<ActorSyncEngine>();

    public static ILoggerFactory Loggers(IHost host) => host.Services.GetRequiredService<ILoggerFactory>();
}
