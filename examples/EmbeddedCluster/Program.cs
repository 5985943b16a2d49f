// An application with its own Akka.NET cluster that adds ActorSync's cluster jobs to it:
//   EmbeddedCluster --port P --seed SEEDPORT --roles sender|receiver|both --secret-file KEY [--job SRC DEST]
// Each process is a member of the application's cluster "DatasetFarm" on 127.0.0.1 (its own name, seeds, roles and
// split-brain resolver, set up with Akka.Cluster.Hosting). WithActorSyncCluster adds the job coordinator and, by the
// member's roles, the workers that send or receive. A member given --job submits it from the application's own actor,
// logs its progress and prints the outcome, then leaves the cluster and exits with the job's exit code; the others
// run until their standard input closes.
using ActorSync.Cluster;
using ActorSync.Transport.Handshake;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

var options = Arguments.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: EmbeddedCluster --port P --seed SEEDPORT --roles sender|receiver|both --secret-file KEY [--job SRC DEST]");
    return 2;
}

Log.Logger = new LoggerConfiguration()
    .MinimumLevel.Information()
    .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} [{ActorPath}] {Message:lj}{NewLine}")
    .CreateLogger();

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.ClearProviders().AddSerilog(dispose: true);
builder.Services.AddAkka("DatasetFarm", akka =>
{
    akka.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
            loggers.ClearLoggers();
            loggers.AddSerilogLogging();
        })
        // The application's cluster, as it would be without ActorSync: plain TCP on loopback here (a real one
        // secures its own remoting); ActorSync's file data never goes through it but over its own TLS streams.
        .WithRemoting("127.0.0.1", options.Port)
        .WithClustering(new ClusterOptions
        {
            SeedNodes = [$"akka.tcp://DatasetFarm@127.0.0.1:{options.SeedPort}"],
            Roles = options.Roles,
            SplitBrainResolver = new KeepMajorityOption(),
        })
        .WithActorSyncCluster(SharedSecret.FromFile(options.SecretFile));
    if (options.Job is { } job)
        akka.WithActors((system, registry) =>
        {
            var jobs = registry.Get<JobCoordinatorProxy>();
            registry.Register<DatasetPublisher>(system.ActorOf(Props.Create(() => new DatasetPublisher(jobs, job.Source, job.Destination)), "publisher"));
        });
});

using var app = builder.Build();
await app.StartAsync();
int exitCode = 0;
if (options.Job is not null)
{
    var publisher = await app.Services.GetRequiredService<IRequiredActor<DatasetPublisher>>().GetAsync();
    var outcome = await publisher.Ask<JobStatus>(DatasetPublisher.WhenDone.Instance, TimeSpan.FromMinutes(10));
    Console.WriteLine($"job {outcome.JobId}: {outcome.State}, exit {outcome.Summary.ExitCode}, {outcome.Summary.Files} files, " +
                      $"{outcome.Summary.Bytes} bytes, {outcome.UnitsDone} units{(outcome.Summary.Error is { } e ? ", " + e : "")}");
    foreach (var node in outcome.Nodes)
        Console.WriteLine($"  {node.Node}: {node.Units} units, {node.Files} files, {node.Bytes} bytes");
    exitCode = outcome.Summary.ExitCode;
}
else
{
    while (await Console.In.ReadLineAsync() is not null)
    {
    }
}
await app.StopAsync();   // leaves the cluster (coordinated shutdown) before the process ends
return exitCode;

internal sealed record Arguments(int Port, int SeedPort, string[] Roles, string SecretFile, (string Source, string Destination)? Job)
{
    public static Arguments? Parse(string[] args)
    {
        int port = -1, seed = -1;
        string[]? roles = null;
        string? secret = null;
        (string, string)? job = null;
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--port" when int.TryParse(Next(), out int p): port = p; break;
                case "--seed" when int.TryParse(Next(), out int s): seed = s; break;
                case "--roles": roles = Next() switch { "both" => ["sender", "receiver"], { } r => [r], null => null }; break;
                case "--secret-file": secret = Next(); break;
                case "--job" when i + 2 < args.Length: job = (args[++i], args[++i]); break;
                default: return null;
            }
        }
        return port < 0 || seed < 0 || roles is null || secret is null ? null : new Arguments(port, seed, roles, secret, job);
    }
}

/// <summary>The application's own actor: submits one copy to ActorSync's job coordinator by message, logs the
/// statuses it is sent (at once, then every second), and answers <see cref="WhenDone"/> with the final one.</summary>
internal sealed class DatasetPublisher : ReceiveActor
{
    public sealed class WhenDone
    {
        public static readonly WhenDone Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _waiting = [];
    private JobStatus? _outcome;

    public DatasetPublisher(IActorRef jobs, string source, string destination)
    {
        // An id of our own makes the submission idempotent: if the answer is lost we could send it again.
        jobs.Tell(new SubmitJob(source, destination, Streams: 2, JobId: Guid.NewGuid()));
        Receive<JobAccepted>(accepted => _log.Info("job {0} accepted", accepted.JobId));
        Receive<JobStatus>(status => !status.Final, status =>
            _log.Info("progress: {0} units done, {1} queued, {2} running; {3} files, {4} bytes", status.UnitsDone, status.UnitsQueued,
                status.UnitsRunning, status.Summary.Files, status.Summary.Bytes));
        Receive<JobStatus>(status =>
        {
            _log.Info("job {0} {1}", status.JobId, status.State);
            _outcome = status;
            foreach (var w in _waiting) w.Tell(status);
            _waiting.Clear();
        });
        Receive<WhenDone>(_ =>
        {
            if (_outcome is null) _waiting.Add(Sender);
            else Sender.Tell(_outcome);
        });
    }
}
