using ActorSync.Engine;
using Akka.Actor;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace ActorSync.Host.Cli;

/// <summary>
/// Builds the Generic Host a command runs in: configuration layered as built-in config/akka.hocon, then
/// --config FILE or $ACTORSYNC_CONFIG, then command-line overrides; Serilog to stderr, for ActorSync's log and
/// (through Akka.Logger.Serilog) Akka's; the process's one ActorSystem from Akka.Hosting, made from that same
/// configuration, and the engine on it.
/// </summary>
internal static class EngineHost
{
    /// <param name="akka">What else the command's ActorSystem needs (a cluster node's remoting, say), made with the
    /// command's log before the host is built.</param>
    public static IHost Build(string? configFile, bool verbose, bool quiet, IReadOnlyDictionary<string, string> overrides,
        Func<Microsoft.Extensions.Logging.ILogger, Action<AkkaConfigurationBuilder>>? akka = null)
    {
        // ActorSystem.Create(name, setup), which Akka.Hosting calls, evaluates ConfigurationFactory.Load() even when
        // the setup has a config: System.Configuration looking for an app.config, ~55 ms of cold code here. It is
        // cached, so it runs now on another core while this thread builds the host (Akka 1.5.74).
        _ = Task.Run(Akka.Configuration.ConfigurationFactory.Load);
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        string? file = configFile ?? Environment.GetEnvironmentVariable("ACTORSYNC_CONFIG");
        var config = ActorSyncConfig.Load(file, overrides);

        var level = verbose ? LogEventLevel.Debug : quiet ? LogEventLevel.Warning : LogEventLevel.Information;
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            // Akka.Remote reports every refused TLS handshake (a port scan, a process without the cluster's key) as an
            // error of twenty lines with its own troubleshooting text, and every failed outbound connection as a
            // warning with a stack trace; its one-line warning beside the first, and the node's own lines
            // (NodeGateway), say what happened. The details stay for -v.
            .Filter.ByExcluding(e => !verbose && IsAkkaRemoteDetail(e))
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        Serilog.Log.Logger = logger;
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        var configureAkka = akka?.Invoke(new Serilog.Extensions.Logging.SerilogLoggerFactory(logger).CreateLogger("actorsync"));
        // The command owns Ctrl+C and the exit status (Program); the default console lifetime would also take SIGINT
        // and SIGTERM and print "Application started. Press Ctrl+C to shut down." on every run.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddSingleton(_ => TransferOptions.FromConfig(config));
        builder.Services.AddAkka("actorsync", akka =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend)
            // The command owns SIGINT and SIGTERM (Program.Interruption) and the end of the process: Akka's own hook would
            // terminate the actor system on SIGTERM under a transfer that is still telling its peer why it stops.
            .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
            .ConfigureLoggers(l =>
            {
                // Akka's own news (dead letters, lifecycle) is for -v; ActorSync's log says what matters.
                l.LogLevel = verbose ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.WarningLevel;
                l.ClearLoggers();
                l.AddLogger<SerilogLogger>();
            });
            configureAkka?.Invoke(akka);
        });
        builder.Services.AddSingleton(sp => new ActorSyncEngine(sp.GetRequiredService<TransferOptions>(), sp.GetService<ILoggerFactory>(), sp.GetRequiredService<ActorSystem>()));
        return builder.Build();
    }

    /// <summary>Validates the options up front so a bad config file is a usage error, not a crash mid-transfer.</summary>
    public static TransferOptions Options(IHost host) => host.Services.GetRequiredService<TransferOptions>();

    /// <summary>Starts the host (its ActorSystem) and hands out the engine on it.</summary>
    public static ActorSyncEngine Engine(IHost host)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        host.Start();
        var engine = host.Services.GetRequiredService<ActorSyncEngine>();
        Loggers(host).CreateLogger("actorsync").LogDebug("actor system started in {Ms:F0} ms", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return engine;
    }

    /// <summary>Akka's lines that the node's own say better (or that mean nothing to a user): refused handshakes, a
    /// client that disconnected (every `cluster status` and `job` does), the singleton proxy's start-up notice.</summary>
    private static bool IsAkkaRemoteDetail(LogEvent e) =>
        e.Level == LogEventLevel.Error && (e.MessageTemplate.Text.StartsWith("TLS handshake failed", StringComparison.Ordinal)
                                           || e.MessageTemplate.Text.StartsWith("Disassociated", StringComparison.Ordinal))
        || e.Level == LogEventLevel.Warning && (e.MessageTemplate.Text.StartsWith("Tried to associate with unreachable remote address", StringComparison.Ordinal)
                                                || e.MessageTemplate.Text.StartsWith("Association with remote system", StringComparison.Ordinal)
                                                || e.MessageTemplate.Text.StartsWith("ClusterSingletonProxy failed to find", StringComparison.Ordinal));

    public static ILoggerFactory Loggers(IHost host) => host.Services.GetRequiredService<ILoggerFactory>();
}

/// <summary>A host lifetime that leaves signals and messages to the command: it starts and stops when told.</summary>
internal sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
