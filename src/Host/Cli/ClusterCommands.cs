using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorSync.Cluster;
using ActorSync.Engine;
using ActorSync.Transport;
using Akka.Actor;
using Akka.Remote;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorSync.Host.Cli;

/// <summary>actorsync node (a member of a cluster) and actorsync cluster status (a look at one from outside).</summary>
internal static class ClusterCommands
{
    /// <summary>How long `cluster status` waits for the node's answer: a node that is up answers in milliseconds, the
    /// rest is the TLS connection (~0.3 s here) and a loaded machine's pauses.</summary>
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(10);

    public static Command Node(CancellationToken interrupt)
    {
        var listen = new Option<string>("--listen") { Description = "ADDR:PORT this node listens on for the cluster; ADDR is the IP the other nodes reach it at", Required = true };
        var seeds = new Option<string[]>("--seed") { Description = "ADDR:PORT of a seed node (repeat it; give every node the same list, in the same order; default: this node alone)" };
        var role = new Option<string>("--role") { Description = "sender, receiver or both", DefaultValueFactory = _ => "both" };
        var data = new Option<string?>("--data-listen") { Description = "ADDR:PORT a receiver node takes file data on, from sender nodes (default: --listen's address, its port + 1)" };
        var cmd = new Command("node", "run a node of an ActorSync cluster until SIGINT or SIGTERM (then it leaves the cluster)")
            { listen, seeds, role, data, Commands.BwLimit, Commands.SecretFile, Commands.Secret, Commands.Verbose, Commands.ConfigFile };
        cmd.SetAction(async (parse, _) =>
        {
            var self = Endpoint("--listen", parse.GetValue(listen)!);
            var seedList = (parse.GetValue(seeds) ?? []).Select(s => Endpoint("--seed", s)).ToArray();
            var roles = ClusterNodeSettings.ParseRole(parse.GetValue(role)!)
                        ?? throw new UsageException($"--role \"{parse.GetValue(role)}\": expected sender, receiver or both");
            var settings = new ClusterNodeSettings { Listen = self, Seeds = seedList.Length > 0 ? seedList : [self], Roles = roles };
            Socket? dataListener = null;
            if (roles.Contains(ClusterNodeSettings.ReceiverRole))
            {
                var at = parse.GetValue(data) is { } d ? Endpoint("--data-listen", d) : new DnsEndPoint(self.Host, self.Port + 1);
                try { dataListener = ActorSyncEngine.Listen(IPAddress.Parse(at.Host), at.Port); }
                catch (SocketException e) { throw new UsageException($"cannot listen on {at.Host}:{at.Port} (--data-listen): {e.Message}"); }
            }
            var app = Commands.BuildHost(parse, akka: log =>
            {
                var secret = Commands.ResolveSecret(parse, log);
                return b => b.WithActorSyncNode(settings, secret, dataListener);
            });
            var log = EngineHost.Loggers(app).CreateLogger("actorsync");
            try { await app.StartAsync(CancellationToken.None); }
            catch (Exception e) when (IsBindFailure(e))
            {
                throw new UsageException($"cannot listen on {self.Host}:{self.Port}: {e.GetBaseException().Message}");
            }
            var system = app.Services.GetRequiredService<ActorSystem>();
            log.LogInformation("node {Address} ({Roles}) started; joining through {Seeds}{Data}", ClusterNodeSettings.Address(self),
                string.Join(",", roles), string.Join(" ", settings.Seeds.Select(s => $"{s.Host}:{s.Port}")),
                dataListener is null ? "" : $"; data port {dataListener.LocalEndPoint}");
            var stopped = system.WhenTerminated;
            var signalled = Task.Delay(Timeout.Infinite, interrupt);
            if (await Task.WhenAny(stopped, signalled) == stopped)
            {
                // Akka.Remote stops a node whose outbound TLS handshake fails: the peer it tried holds another key. (The
                // reason's type is internal to Akka.Remote 1.5.74, hence its name.)
                if (CoordinatedShutdown.Get(system).ShutdownReason?.GetType().Name == "TlsHandshakeFailureReason")
                    throw new CommandFailedException(ExitCodes.AuthenticationFailed,
                        "a TLS handshake with another node failed: this node and that one do not hold the same cluster secret");
                // The cluster downed this node (it was unreachable for too long, or on the minority side of a split).
                throw new CommandFailedException(ExitCodes.TransferFailed, "this node was removed from the cluster; start it again to rejoin");
            }
            log.LogInformation("leaving the cluster");
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
            return ExitCodes.Success;
        });
        return cmd;
    }

    public static Command Cluster(CancellationToken interrupt)
    {
        var contact = new Option<string>("--cluster") { Description = "ADDR:PORT of any node of the cluster", Required = true };
        var status = new Command("status", "list the cluster's members, their roles and reachability, as one node sees them")
            { contact, Commands.SecretFile, Commands.Secret, Commands.Json, Commands.Verbose, Commands.ConfigFile };
        status.SetAction(async (parse, _) =>
        {
            var node = Endpoint("--cluster", parse.GetValue(contact)!);
            var report = await AskAsync<ClusterStatusReport>(parse, node, ClusterStatusRequest.Instance, interrupt);
            Print(report, parse.GetValue(Commands.Json));
            return ExitCodes.Success;
        });
        return new Command("cluster", "look at an ActorSync cluster") { status };
    }

    /// <summary>A remoting-only system that can talk to the node at <paramref name="node"/>, and a task that completes
    /// when a connection to it is refused (for the key: true) or fails.</summary>
    private static async Task<(ActorSystem, Task<(bool Authentication, string Reason)>)> ContactAsync(ParseResult parse, DnsEndPoint node)
    {
        var local = LocalAddressToward(IPAddress.Parse(node.Host));
        var app = Commands.BuildHost(parse, quiet: !parse.GetValue(Commands.Verbose), akka: log =>
        {
            var secret = Commands.ResolveSecret(parse, log);
            return b => b.WithActorSyncContact(local, secret);
        });
        await app.StartAsync(CancellationToken.None);
        var system = app.Services.GetRequiredService<ActorSystem>();
        var refused = new TaskCompletionSource<(bool Authentication, string Reason)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = system.ActorOf(Props.Create(() => new AssociationErrors(refused)));
        system.EventStream.Subscribe(listener, typeof(AssociationErrorEvent));
        return (system, refused.Task);
    }

    /// <summary>Whether the contact failed for the cluster's key or for the connection: one line and its exit status.</summary>
    private static CommandFailedException ContactFailure(ActorSystem system, Task<(bool Authentication, string Reason)> refused, DnsEndPoint node)
    {
        // Akka.Remote stops a system whose outbound TLS handshake fails, at times before its error event reaches us.
        bool tlsRefused = CoordinatedShutdown.Get(system).ShutdownReason?.GetType().Name == "TlsHandshakeFailureReason";
        var (authentication, reason) = refused.IsCompleted ? refused.Result : (tlsRefused, tlsRefused ? "TLS handshake failed" : "the connection failed");
        return authentication || tlsRefused
            ? new CommandFailedException(ExitCodes.AuthenticationFailed, $"the node at {node.Host}:{node.Port} does not hold this cluster's secret, or we do not hold its ({reason})")
            : new CommandFailedException(ExitCodes.TransferFailed, $"cannot reach a node at {node.Host}:{node.Port}: {reason}");
    }

    /// <summary>Sends <paramref name="request"/> to the gateway of the node at <paramref name="node"/> from a remoting-only
    /// system, and waits for its answer. No answer is exit 1, a node that refuses our TLS handshake (another
    /// secret) exit 3, each with one line saying which.</summary>
    private static async Task<T> AskAsync<T>(ParseResult parse, DnsEndPoint node, object request, CancellationToken interrupt)
    {
        var (system, refused) = await ContactAsync(parse, node);
        var answer = system.ActorSelection(NodeGateway.PathOn(ClusterNodeSettings.Address(node))).Ask<T>(request, StatusTimeout, interrupt);
        var first = await Task.WhenAny(answer, refused, system.WhenTerminated);
        if (first == refused || CoordinatedShutdown.Get(system).ShutdownReason?.GetType().Name == "TlsHandshakeFailureReason")
            throw ContactFailure(system, refused, node);
        if (first == system.WhenTerminated)
            throw new CommandFailedException(ExitCodes.TransferFailed, $"the connection to {node.Host}:{node.Port} failed before it answered");
        try { return await answer; }
        catch (AskTimeoutException)
        {
            throw new CommandFailedException(ExitCodes.TransferFailed, $"no answer from a node at {node.Host}:{node.Port} within {StatusTimeout.TotalSeconds:F0} s");
        }
    }

    public static Command Job(CancellationToken interrupt)
    {
        var source = new Argument<string>("SRC") { Description = "directory to copy, at this path on every sender node" };
        var dest = new Argument<string>("DEST") { Description = "directory to copy into, at this path on every receiver node" };
        var contacts = new Option<string[]>("--cluster") { Description = "ADDR:PORT of a node of the cluster (repeat it: the others are tried when one stops answering)", Required = true };
        var cmd = new Command("job", "copy SRC to DEST with every node of a cluster; returns when the copy is complete")
            { source, dest, contacts, Commands.Streams, Commands.SecretFile, Commands.Secret, Commands.Progress, Commands.Json, Commands.Verbose, Commands.ConfigFile };
        cmd.SetAction(async (parse, _) =>
        {
            var nodes = parse.GetValue(contacts)!.Select(c => Endpoint("--cluster", c)).ToArray();
            var submit = new SubmitJob(Path.GetFullPath(parse.GetValue(source)!), Path.GetFullPath(parse.GetValue(dest)!), parse.GetValue(Commands.Streams));
            var (system, refused) = await ContactAsync(parse, nodes[0]);
            bool progress = parse.GetValue(Commands.Progress);
            var done = new TaskCompletionSource<JobStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
            var gateways = nodes.Select(n => NodeGateway.PathOn(ClusterNodeSettings.Address(n))).ToArray();
            var client = system.ActorOf(Props.Create(() => new JobClient(gateways, submit, done, progress ? PrintProgress : null)), "job");
            using var stop = interrupt.Register(() => done.TrySetCanceled(interrupt));
            // A contact node that cannot be reached is the client's to handle (it tries the next); one that refuses our key,
            // or a TLS failure that stops this system, ends the command.
            var first = await Task.WhenAny(done.Task, KeyRefusedAsync(refused), system.WhenTerminated);
            if (first != done.Task && !done.Task.IsCompleted) throw ContactFailure(system, refused, nodes[0]);
            JobStatus outcome;
            try { outcome = await done.Task; }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("actorsync: the job goes on in the cluster; `actorsync job` with the same SRC and DEST again waits for a new run, which skips what is done");
                throw;
            }
            catch (JobClient.NoAnswerException e) { throw new CommandFailedException(ExitCodes.TransferFailed, e.Message); }
            PrintJob(outcome, parse.GetValue(Commands.Json));
            return outcome.Summary.ExitCode;
        });
        return cmd;
    }

    private static async Task KeyRefusedAsync(Task<(bool Authentication, string Reason)> refused)
    {
        if (!(await refused).Authentication) await Task.Delay(Timeout.Infinite);
    }

    private static void PrintProgress(JobStatus s) =>
        Console.Error.WriteLine($"actorsync job: {s.UnitsDone} units done, {s.UnitsRunning} running, {s.UnitsQueued} queued; " +
                                $"{s.Summary.Files} files ({s.Summary.Bytes / 1048576.0:F1} MiB) sent, {s.Summary.FilesSkipped} up to date, {s.Summary.ElapsedSeconds:F0} s");

    private static void PrintJob(JobStatus s, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(s, ClusterJsonContext.Default.JobStatus));
            Console.Out.Flush();
        }
        SummaryPrinter.Print(s.Summary, json: false);
        if (json) return;
        var err = Console.Error;
        err.WriteLine($"actorsync job {s.JobId}: {s.State}; {s.UnitsDone} units (directories, or slices of big ones){(s.UnitsRetried > 0 ? $", {s.UnitsRetried} sent again" : "")}; " +
                      $"{s.Summary.WireBytes / 1048576.0:F1} MiB on the wire");
        foreach (var n in s.Nodes)
            err.WriteLine($"  {n.Node,-40} {n.Units,6} units {n.Files,9} files {n.Bytes / 1048576.0,10:F1} MiB {n.WireBytes / 1048576.0,10:F1} MiB on the wire");
    }

    private static void Print(ClusterStatusReport report, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(report, ClusterJsonContext.Default.ClusterStatusReport));
            return;
        }
        var err = Console.Error;
        err.WriteLine($"{report.Members.Length} members; leader {report.Leader ?? "none"}; as seen by {report.Node}");
        foreach (var m in report.Members.OrderBy(m => m.Address, StringComparer.Ordinal))
            err.WriteLine($"  {m.Address,-40} {m.Status,-8} {(m.Reachable ? "reachable" : "UNREACHABLE"),-11} {string.Join(",", m.Roles)}");
        if (report.Jobs is not { } jobs)
        {
            err.WriteLine("jobs: the coordinator did not answer (it may be moving to another node)");
            return;
        }
        err.WriteLine($"{jobs.Length} running job{(jobs.Length == 1 ? "" : "s")}");
        foreach (var j in jobs)
            err.WriteLine($"  {j.JobId} {j.Source} -> {j.Destination}: {j.UnitsDone} units done, {j.UnitsRunning} running, {j.UnitsQueued} queued; " +
                          $"{j.Files} files, {j.Bytes / 1048576.0:F1} MiB, {j.ElapsedSeconds:F0} s");
    }

    /// <summary>The local address the kernel would route <paramref name="remote"/> through: what the node must be able
    /// to reach this process at to answer it (a connected UDP socket sends nothing).</summary>
    private static IPAddress LocalAddressToward(IPAddress remote)
    {
        using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(remote, 9);
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }

    private static DnsEndPoint Endpoint(string option, string text)
    {
        if (!SecureConnection.TryParseEndpoint(text, allowBarePort: false, out string host, out int port))
            throw new UsageException($"{option} \"{text}\" is not ADDR:PORT");
        if (!IPAddress.TryParse(host, out var ip)) throw new UsageException($"{option} needs an IP address, not \"{host}\" (cluster nodes compare addresses exactly)");
        return new DnsEndPoint(ip.ToString(), port);
    }

    private static bool IsBindFailure(Exception e) => e.GetBaseException() is SocketException;

    /// <summary>Akka.Remote's failed associations, as the reason a peer gave or our TLS found.</summary>
    private sealed class AssociationErrors(TaskCompletionSource<(bool, string)> refused) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is not AssociationErrorEvent e) return;
            refused.TrySetResult((NodeGateway.RefusedForKey(e.Cause), e.Cause?.GetBaseException().Message ?? e.ToString()));
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(ClusterStatusReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(JobStatus))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class ClusterJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
