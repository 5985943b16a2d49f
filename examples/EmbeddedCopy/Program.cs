// An application with its own Akka.NET system that embeds ActorSync: usage EmbeddedCopy SRC DEST.
// It copies SRC into DEST over loopback through ActorSync's actor (a receive, then a send), watching the progress
// events, and exits with the worse of the two exit codes. Its own HOCON sets the stream count: the host's
// configuration wins over ActorSync's defaults.
using System.Net;
using System.Security.Cryptography;
using ActorSync.Hosting;
using ActorSync.Transport.Handshake;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: EmbeddedCopy SRC DEST");
    return 2;
}

Log.Logger = new LoggerConfiguration()
    .MinimumLevel.Information()
    .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} [{ActorPath}] {Message:lj}{NewLine}")
    .CreateLogger();

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.ClearProviders().AddSerilog(dispose: true);
builder.Services.AddAkka("HostSystem", akka => akka
    .AddHocon("actorsync.transfer.streams = 3", HoconAddMode.Prepend)
    .ConfigureLoggers(loggers =>
    {
        loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
        loggers.ClearLoggers();
        loggers.AddSerilogLogging();
    })
    .WithActors((system, registry) => registry.Register<CopyClient>(system.ActorOf(Props.Create(() => new CopyClient()), "copy-client")))
    .WithActorSync());

using var app = builder.Build();
await app.StartAsync();
var coordinator = await app.Services.GetRequiredService<IRequiredActor<ActorSyncCoordinator>>().GetAsync();
var client = await app.Services.GetRequiredService<IRequiredActor<CopyClient>>().GetAsync();
var result = await client.Ask<Copied>(new Copy(args[0], args[1], coordinator), TimeSpan.FromMinutes(10));
Console.WriteLine($"sent: exit {result.Sent.ExitCode}, {result.Sent.Files} files, {result.Sent.Bytes} bytes over {result.Sent.Streams} streams");
Console.WriteLine($"received: exit {result.Received.ExitCode}, {result.Received.Files} files{(result.Received.Error is { } e ? ", " + e : "")}");
await app.StopAsync();
return Math.Max(result.Sent.ExitCode, result.Received.ExitCode);

internal sealed record Copy(string Source, string Destination, IActorRef Coordinator);

internal sealed record Copied(ActorSync.Engine.TransferSummary Sent, ActorSync.Engine.TransferSummary Received);

/// <summary>The host's own actor: asks ActorSync for a receive, then a send to it, and answers when both are done.</summary>
internal sealed class CopyClient : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SharedSecret _secret = SharedSecret.FromText(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)), "this run");
    private IActorRef? _asker;
    private Copy? _copy;
    private Guid _receiveId, _sendId;
    private ActorSync.Engine.TransferSummary? _sent, _received;

    public CopyClient()
    {
        Receive<Copy>(copy =>
        {
            (_asker, _copy) = (Sender, copy);
            copy.Coordinator.Tell(new StartReceive(copy.Destination, new IPEndPoint(IPAddress.Loopback, 0), _secret));
        });
        Receive<TransferStarted>(started =>
        {
            if (started.ListeningOn is { } endpoint)
            {
                _receiveId = started.TransferId;
                _log.Info("receiving on {0}", endpoint);
                _copy!.Coordinator.Tell(new StartSend(_copy.Source, "127.0.0.1", endpoint.Port, _secret, ProgressEvery: TimeSpan.FromMilliseconds(200)));
            }
            else _sendId = started.TransferId;
        });
        Receive<TransferProgress>(p => _log.Info("progress: {0} of {1} files, {2} bytes", p.FilesDone, p.FilesFound, p.BytesDone));
        Receive<TransferCompleted>(done =>
        {
            if (_asker is null) return;
            if (done.TransferId == _sendId) _sent = done.Summary;
            else if (done.TransferId == _receiveId) _received = done.Summary;
            else if (_receiveId == Guid.Empty) _sent = _received = done.Summary;   // the receive could not start: nothing to send to
            if (_sent is null || _received is null) return;
            _asker.Tell(new Copied(_sent, _received));
            _asker = null;
        });
    }
}
