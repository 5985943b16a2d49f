using System.CommandLine;
using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Cli.Ssh;
using ActorSync.Host.Demo;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorSync.Host.Cli;

/// <summary>The command tree: send, recv, demo, keygen, node, cluster.</summary>
internal static class Commands
{
    internal static readonly Option<string?> SecretFile = new("--secret-file") { Description = "file holding the shared secret (make one with `actorsync keygen FILE`)" };
    internal static readonly Option<string?> Secret = new("--secret") { Description = $"the shared secret itself (visible in ps; prefer --secret-file or ${SecretResolver.EnvironmentVariable})" };
    internal static readonly Option<int?> Streams = new("--streams") { Description = "parallel encrypted connections (default 8, config actorsync.transfer.streams)" };
    private static readonly Option<string?> Cipher = new("--cipher") { Description = "aes-128-gcm (default) or aes-256-gcm" };
    private static readonly Option<string?> Tls = new("--tls") { Description = "auto (default: kernel TLS where available), kernel (or exit 2), user" };
    private static readonly Option<bool> Checksum = new("--checksum", "-c") { Description = "skip files whose content (SHA-256) matches at the receiver, instead of size and mtime" };
    private static readonly Option<bool> NoHardLinks = new("--no-hard-links") { Description = "copy each name of a multiply linked file as a file of its own (default: they stay hard links, like rsync -H)" };
    private static readonly Option<bool> NoOwner = new("--no-owner") { Description = "do not preserve owners (a root receiver sets the numeric owner by default)" };
    private static readonly Option<bool> NoGroup = new("--no-group") { Description = "do not preserve groups" };
    private static readonly Option<bool> Xattrs = new("--xattrs", "-X") { Description = "copy extended attributes (all but system.*; a non-root receiver sets user.* only)" };
    private static readonly Option<bool> Fsync = new("--fsync") { Description = "make everything durable (syncfs) before the transfer is confirmed" };
    internal static readonly Option<string?> BwLimit = new("--bwlimit") { Description = "cap on the bytes per second all streams send together, as rsync takes it: 50M, 1.5G, 800K (1024-based), 50MB (1000-based); a bare number is KiB/s" };
    private static readonly Option<string[]> Exclude = new("--exclude") { Description = "leave out what matches PATTERN (rsync's rules: first match wins, leading / anchors at SRC, trailing / matches directories, *, **, ?, [...]); repeatable", HelpName = "PATTERN" };
    private static readonly Option<string[]> Include = new("--include") { Description = "send what matches PATTERN even if a later --exclude matches it; repeatable, in order with --exclude", HelpName = "PATTERN" };
    private static readonly Option<string[]> ExcludeFrom = new("--exclude-from") { Description = "--exclude each line of FILE (blank lines and lines starting with # or ; skipped)", HelpName = "FILE" };
    private static readonly Option<string[]> IncludeFrom = new("--include-from") { Description = "--include each line of FILE", HelpName = "FILE" };
    private static readonly Option<string?> FilesFrom = new("--files-from") { Description = "send only the paths (relative to SRC) listed in FILE, one per line (- reads stdin); their parent directories come too, listed directories are not descended into", HelpName = "FILE" };
    private static readonly Option<string?> Rsh = new("--rsh", "-e") { Description = "the ssh command for [USER@]HOST:PATH, with its options, as rsync's -e: \"ssh -p 2222 -i key\" (default ssh)", HelpName = "COMMAND" };
    private static readonly Option<string?> RemoteBin = new("--remote-bin") { Description = "how to run actorsync on the remote machine when it is not on its PATH (a shell command, like rsync's --rsync-path)", HelpName = "PATH" };
    private static readonly Option<int?> RemotePort = new("--port") { Description = "over ssh: the port the remote side listens on for the data streams (default: any free one; pin one a firewall lets through)" };
    /// <summary>The remote end of a copy over ssh (see <see cref="Ssh.RemoteEnd"/>); not for users.</summary>
    private static readonly Option<bool> OverSsh = new("--over-ssh") { Hidden = true };
    private static readonly Option<bool> Delete = new("--delete") { Description = "remove entries of DEST that SRC lacks, after the transfer, and never when an entry failed (rsync's --delete); what --exclude leaves out is protected" };
    private static readonly Option<long?> MaxDelete = new("--max-delete") { Description = "with --delete: remove at most N entries (files and directories); the rest are listed as skipped and the exit status is 25", HelpName = "N" };
    private static readonly Option<bool> DryRun = new("--dry-run", "-n") { Description = "write nothing: list what would be sent, what is up to date and (with --delete) what would be deleted" };
    internal static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "print errors only (no summary, no info lines)" };
    internal static readonly Option<bool> Progress = new("--progress") { Description = "show a live progress bar on stderr" };
    private static readonly Option<bool> JsonProgress = new("--json-progress") { Description = "write a JSON event on stdout every second while running (files and bytes done, rate, ETA, bytes per stream)" };
    internal static readonly Option<bool> Json = new("--json") { Description = "print one JSON summary object on stdout at the end" };
    internal static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "debug logging" };
    internal static readonly Option<string?> ConfigFile = new("--config") { Description = "HOCON file layered over the built-in config/akka.hocon (also $ACTORSYNC_CONFIG)" };

    /// <summary>The command tree; <paramref name="interrupt"/> (a signal) cancels what a command runs. Not System.CommandLine's
    /// token: its invocation gives up waiting when that is cancelled, and the process would exit under a transfer
    /// still stopping (before the receiver is told why).</summary>
    public static RootCommand Build(CancellationToken interrupt)
    {
        var root = new RootCommand("actorsync: fast encrypted copies of large directory trees over several TCP streams");
        root.Subcommands.Add(SendCommand(interrupt));
        root.Subcommands.Add(ReceiveCommand(interrupt));
        root.Subcommands.Add(DemoCommand(interrupt));
        root.Subcommands.Add(KeygenCommand());
        root.Subcommands.Add(CryptoFloorCommand());
        root.Subcommands.Add(ClusterCommands.Node(interrupt));
        root.Subcommands.Add(ClusterCommands.Cluster(interrupt));
        root.Subcommands.Add(ClusterCommands.Job(interrupt));
        return root;
    }

    private static Command SendCommand(CancellationToken interrupt)
    {
        var source = new Argument<string>("SRC") { Description = "directory whose contents are copied (like rsync -a SRC/ DEST/), or [USER@]HOST:PATH to pull one over ssh" };
        var target = new Argument<string?>("DEST") { Description = "HOST:PORT of a running receiver, [USER@]HOST:PATH to push over ssh (one command), or a local directory for a pull", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("send", "copy a directory tree to a receiver, or over ssh to or from another machine")
            { source, target, SecretFile, Secret, Streams, BwLimit, Exclude, Include, ExcludeFrom, IncludeFrom, FilesFrom, Delete, MaxDelete, DryRun, Rsh, RemoteBin, RemotePort, OverSsh,
              Cipher, Tls, Checksum, NoHardLinks, NoOwner, NoGroup, Xattrs, Fsync, Progress, JsonProgress, Quiet, Json, Verbose, ConfigFile };
        cmd.SetAction(async (parse, _) =>
        {
            string src = parse.GetValue(source)!;
            if (parse.GetValue(OverSsh)) return await RemoteSendAsync(parse, src, interrupt);
            string dst = parse.GetValue(target) ?? throw new UsageException("send needs a DEST: HOST:PORT, or [USER@]HOST:PATH over ssh");
            if (RemotePath.TryParse(dst, out var remote)) return await PushAsync(parse, src, remote, interrupt);
            if (!Directory.Exists(src) && RemotePath.TryParse(src, out var from)) return await PullAsync(parse, from, dst, interrupt);
            if (!SecureConnection.TryParseEndpoint(dst, allowBarePort: false, out string host, out int port))
                throw new UsageException($"\"{dst}\" is neither HOST:PORT nor [USER@]HOST:PATH");
            var app = BuildHost(parse);
            var (options, engine, log) = Resolve(app, parse);
            options = WithSelection(options, parse);
            var secret = ResolveSecret(parse, log);
            if (!Directory.Exists(src)) throw new UsageException($"source \"{src}\" is not a directory");
            return await ReportAsync(parse, sending: true, stats => engine.SendAsync(src, host, port, secret, options, stats, interrupt));
        });
        return cmd;
    }

    private static Command ReceiveCommand(CancellationToken interrupt)
    {
        var dest = new Argument<string>("DEST") { Description = "directory to receive into (created if missing)" };
        var listen = new Option<string?>("--listen") { Description = "[ADDR:]PORT to listen on (required)" };
        var serve = new Option<bool>("--serve") { Description = "keep accepting transfers instead of exiting after the first" };
        var cmd = new Command("recv", "receive directory trees from senders") { dest, listen, serve, SecretFile, Secret, Cipher, Tls, NoOwner, NoGroup, Fsync, RemotePort, OverSsh, Progress, JsonProgress, Quiet, Json, Verbose, ConfigFile };
        cmd.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(OverSsh)) return await RemoteReceiveAsync(parse, parse.GetValue(dest)!, interrupt);
            if (parse.GetValue(listen) is null) throw new UsageException("recv needs --listen [ADDR:]PORT");
            if (!SecureConnection.TryParseEndpoint(parse.GetValue(listen)!, allowBarePort: true, out string host, out int port))
                throw new UsageException($"--listen \"{parse.GetValue(listen)}\" is not [ADDR:]PORT");
            if (!IPAddress.TryParse(host, out var address)) throw new UsageException($"--listen needs an IP address, not \"{host}\"");
            var app = BuildHost(parse, receiving: true);
            var (options, log) = ResolveOptions(app);
            var secret = ResolveSecret(parse, log);
            string destination = parse.GetValue(dest)!;
            if (File.Exists(destination)) throw new UsageException($"destination \"{destination}\" is a file");
            if (ActorSyncEngine.CheckKernelTls(options) is { } noKernelTls) throw new UsageException(noKernelTls);
            System.Net.Sockets.Socket listener;
            try { listener = ActorSyncEngine.Listen(address, port); }
            catch (System.Net.Sockets.SocketException e) { throw new UsageException($"cannot listen on {host}:{port}: {e.Message}"); }
            // The actor system starts once the port is open (~0.2 s): a sender's first connections wait in the backlog
            // meanwhile instead of being refused, and both sides start up at the same time.
            var engine = EngineHost.Engine(app);
            log.LogInformation("listening on {Endpoint}, receiving into {Dest}", listener.LocalEndPoint, Path.GetFullPath(destination));
            if (parse.GetValue(serve))
            {
                bool json = parse.GetValue(Json), quiet = parse.GetValue(Quiet);
                await engine.ReceiveAsync(destination, listener, secret, serve: true, options, () => new TransferStats { OnItem = SummaryPrinter.ItemWriter(json, quiet) },
                    onTransfer: s => SummaryPrinter.Print(s, json, quiet), cancellationToken: interrupt);
                return ExitCodes.Success;
            }
            return await ReportAsync(parse, sending: false,
                async stats => (await engine.ReceiveAsync(destination, listener, secret, serve: false, options, () => stats, cancellationToken: interrupt))!);
        });
        return cmd;
    }

    /// <summary>
    /// A push over ssh: `actorsync recv` runs on the remote machine (through the user's ssh), gets this run's secret over
    /// the ssh channel and says which port it bound; the tree then goes over the usual direct streams.
    /// </summary>
    private static async Task<int> PushAsync(ParseResult parse, string src, RemotePath remote, CancellationToken interrupt)
    {
        var app = BuildHost(parse);
        var (options, engine, _) = Resolve(app, parse);
        options = WithSelection(options, parse);
        if (!Directory.Exists(src)) throw new UsageException($"source \"{src}\" is not a directory");
        if (ActorSyncEngine.CheckKernelTls(options) is { } noKernelTls) throw new UsageException(noKernelTls);
        string secret = FreshSecret();
        List<string> remoteArgs = ["recv", "--over-ssh", .. PassedOn(parse, Cipher, Tls, NoOwner, NoGroup, Fsync, RemotePort), "--", remote.RemoteArgument];
        await using var session = SshSession.Start(parse.GetValue(Rsh), remote, parse.GetValue(RemoteBin) ?? "actorsync", remoteArgs, secret);
        var (address, port) = await session.WaitReadyAsync(interrupt);
        string host = (await DataHostAsync(remote, address, port, interrupt)).Address.ToString();
        return await ReportAsync(parse, sending: true, async stats =>
        {
            session.ForwardItems(stats);
            var summary = await engine.SendAsync(src, host, port, SharedSecret.FromText(secret, "this run"), options, stats, interrupt);
            return summary.ExitCode == ExitCodes.TransferFailed && stats.StreamsJoined == 0 ? Unreachable(summary, host, port) : summary;
        });
    }

    /// <summary>A pull over ssh: `actorsync send --over-ssh` runs on the remote machine and waits for this side's streams.</summary>
    private static async Task<int> PullAsync(ParseResult parse, RemotePath from, string destination, CancellationToken interrupt)
    {
        var app = BuildHost(parse, receiving: true);
        var (options, _) = ResolveOptions(app);
        // --delete, --dry-run and --max-delete are asked of the remote sender and held against it (the receiver's intent).
        options = WithSelection(options, parse);
        var rules = options.Filter;
        if (parse.GetValue(FilesFrom) is not null) throw new UsageException("--files-from with a pull is not supported yet: run the push from the other machine");
        if (File.Exists(destination)) throw new UsageException($"destination \"{destination}\" is a file");
        if (ActorSyncEngine.CheckKernelTls(options) is { } noKernelTls) throw new UsageException(noKernelTls);
        string secret = FreshSecret();
        List<string> remoteArgs = ["send", "--over-ssh", "--streams", options.Streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. PassedOn(parse, BwLimit, Cipher, Tls, Checksum, NoHardLinks, NoOwner, NoGroup, Xattrs, Fsync, Delete, MaxDelete, DryRun, RemotePort)];
        // The rules as they stand (a "!" already applied), each with its +/- prefix, in order.
        foreach (string rule in rules?.Describe() ?? []) remoteArgs.AddRange(["--exclude", rule]);
        remoteArgs.AddRange(["--", from.RemoteArgument]);
        await using var session = SshSession.Start(parse.GetValue(Rsh), from, parse.GetValue(RemoteBin) ?? "actorsync", remoteArgs, secret);
        var (address, port) = await session.WaitReadyAsync(interrupt);
        var sender = await DataHostAsync(from, address, port, interrupt);
        var engine = EngineHost.Engine(app);
        return await ReportAsync(parse, sending: false, async stats =>
        {
            // The remote sender's plan of a dry run (what it would send, what is up to date) is printed here too.
            session.ForwardItems(stats);
            var summary = await engine.ReceiveFromAsync(destination, sender, options.Streams, SharedSecret.FromText(secret, "this run"), options, () => stats, interrupt);
            return summary.Error?.StartsWith(ActorSyncEngine.CannotConnectToSender, StringComparison.Ordinal) == true ? Unreachable(summary, sender.Address.ToString(), port) : summary;
        });
    }

    /// <summary>Runs a transfer as the user asked to watch it: entries named as they go (deletions; a dry run's plan),
    /// --progress, and the summary at the end; the exit status is the transfer's.</summary>
    private static async Task<int> ReportAsync(ParseResult parse, bool sending, Func<TransferStats, Task<TransferSummary>> transfer)
    {
        bool json = parse.GetValue(Json), quiet = parse.GetValue(Quiet);
        var stats = new TransferStats { OnItem = SummaryPrinter.ItemWriter(json, quiet) };
        bool bar = parse.GetValue(Progress), events = parse.GetValue(JsonProgress);
        var summary = bar || events ? await ProgressDisplay.RunAsync(stats, sending, bar, events, () => transfer(stats)) : await transfer(stats);
        SummaryPrinter.Print(summary, json, quiet);
        return summary.ExitCode;
    }

    /// <summary>The remote end of a push: receives one transfer, reports it as JSON on stdout.</summary>
    private static async Task<int> RemoteReceiveAsync(ParseResult parse, string destination, CancellationToken interrupt)
    {
        var app = BuildHost(parse, quiet: true, receiving: true);
        var (options, _) = ResolveOptions(app);
        using var stdin = Console.OpenStandardInput();
        var secret = RemoteEnd.ReadSecret(stdin);
        if (File.Exists(destination)) throw new UsageException($"destination \"{destination}\" is a file");
        if (ActorSyncEngine.CheckKernelTls(options) is { } noKernelTls) throw new UsageException(noKernelTls);
        var (listener, address) = RemoteEnd.Listen(parse.GetValue(RemotePort) ?? 0);
        var engine = EngineHost.Engine(app);
        RemoteEnd.AnnounceReady(listener, address);
        using var stop = RemoteEnd.WatchInput(stdin, interrupt);
        try
        {
            var summary = await engine.ReceiveAsync(destination, listener, secret, serve: false, options, cancellationToken: stop.Token);
            SummaryPrinter.PrintJson(summary!);
            return summary!.ExitCode;
        }
        catch (OperationCanceledException) when (!interrupt.IsCancellationRequested)
        {
            // The local side went away before its transfer began.
            return ExitCodes.TransferFailed;
        }
    }

    /// <summary>The remote end of a pull: sends SRC to the receiver that dials in, reports it as JSON on stdout.</summary>
    private static async Task<int> RemoteSendAsync(ParseResult parse, string src, CancellationToken interrupt)
    {
        var app = BuildHost(parse, quiet: true);
        var (options, engine, _) = Resolve(app, parse);
        options = WithSelection(options, parse);
        using var stdin = Console.OpenStandardInput();
        var secret = RemoteEnd.ReadSecret(stdin);
        if (!Directory.Exists(src)) throw new UsageException($"source \"{src}\" is not a directory");
        if (ActorSyncEngine.CheckKernelTls(options) is { } noKernelTls) throw new UsageException(noKernelTls);
        var (listener, address) = RemoteEnd.Listen(parse.GetValue(RemotePort) ?? 0);
        RemoteEnd.AnnounceReady(listener, address);
        using var stop = RemoteEnd.WatchInput(stdin, interrupt);
        // A dry run's plan goes to the local side to print (deletions it learns as the receiver).
        var stats = new TransferStats { OnItem = RemoteEnd.ForwardPlan };
        try
        {
            var summary = await engine.SendAsync(src, listener, secret, options, stats, stop.Token);
            SummaryPrinter.PrintJson(summary);
            return summary.ExitCode;
        }
        catch (OperationCanceledException) when (!interrupt.IsCancellationRequested)
        {
            // The local side went away.
            return ExitCodes.TransferFailed;
        }
    }

    /// <summary>
    /// Where the data streams go: the host as typed when it resolves (behind NAT that is the address that reaches the
    /// machine, where $SSH_CONNECTION names a private one), else the address the remote end saw ssh arrive at (an ssh
    /// config alias that DNS does not know).
    /// </summary>
    private static async Task<IPEndPoint> DataHostAsync(RemotePath remote, IPAddress? announced, int port, CancellationToken ct)
    {
        try { return await SecureConnection.ResolveAsync(remote.Host, port, ct); }
        catch (System.Net.Sockets.SocketException e)
        {
            return announced is not null ? new IPEndPoint(announced, port)
                : throw new CommandFailedException(ExitCodes.TransferFailed, $"cannot resolve {remote.Host}: {e.Message}");
        }
    }

    /// <summary>This run's secret: 256 random bits, as keygen writes them.</summary>
    private static string FreshSecret() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(SharedSecret.GeneratedBytes));

    /// <summary>The options given here that the remote side needs too, as its command-line arguments.</summary>
    private static IEnumerable<string> PassedOn(ParseResult parse, params Option[] options)
    {
        foreach (var option in options)
        {
            if (parse.GetResult(option) is not { Implicit: false } given) continue;
            object? value = option switch
            {
                Option<bool> flag => parse.GetValue(flag) ? true : null,
                Option<string?> text => parse.GetValue(text),
                Option<int?> number => parse.GetValue(number),
                Option<long?> number => parse.GetValue(number),
                _ => null,
            };
            if (value is null) continue;
            yield return option.Name;
            if (value is not bool) yield return Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
        }
    }

    /// <summary>A copy over ssh whose streams never got through: why, in terms of what to do about it.</summary>
    private static TransferSummary Unreachable(TransferSummary summary, string host, int port) =>
        summary with { Error = $"cannot reach {host}:{port} from here ({summary.Error}): the data streams connect directly, not through ssh; " +
                               "if a firewall is in between, let a port through and pin it with --port N" };

    private static Command DemoCommand(CancellationToken interrupt)
    {
        var files = new Option<int>("--files") { Description = "small files to generate", DefaultValueFactory = _ => 2000 };
        var largeMiB = new Option<int>("--large-mib") { Description = "size of the one large file, MiB", DefaultValueFactory = _ => 64 };
        var dir = new Option<string?>("--dir") { Description = "where to generate (default: /dev/shm, else the temp directory)" };
        var keep = new Option<bool>("--keep") { Description = "keep the generated and received trees" };
        var demoStreams = new Option<int>("--streams") { Description = "parallel encrypted connections", DefaultValueFactory = _ => 4 };
        var cmd = new Command("demo", "generate a tree, send it over loopback with several streams, verify it, print the summary")
            { files, largeMiB, dir, keep, demoStreams, Cipher, Tls, Json, Verbose, ConfigFile };
        cmd.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(files) < 0 || parse.GetValue(largeMiB) < 0) throw new UsageException("--files and --large-mib must not be negative");
            var app = BuildHost(parse, quiet: true);
            var (options, engine, _) = Resolve(app, parse);
            options = options with { Streams = parse.GetValue(demoStreams) };
            var demo = new DemoRun(engine, options, parse.GetValue(dir), parse.GetValue(keep));
            return await demo.RunAsync(new TreeSpec { SmallFiles = parse.GetValue(files), LargeFileBytes = (long)parse.GetValue(largeMiB) << 20 }, parse.GetValue(Json), interrupt);
        });
        return cmd;
    }

    /// <summary>For bench/run.sh: the crypto floor of a dataset's size (see <see cref="CryptoFloor"/>), as one JSON line.</summary>
    private static Command CryptoFloorCommand()
    {
        var bytes = new Argument<long>("BYTES") { Description = "how many bytes to seal and open" };
        var cmd = new Command("crypto-floor", "time to seal and open BYTES as TLS 1.3 records with the cipher (for the benchmark)") { bytes, Cipher };
        cmd.Hidden = true;
        cmd.SetAction(parse =>
        {
            long n = parse.GetValue(bytes);
            if (n <= 0) throw new UsageException("BYTES must be positive");
            var suite = CipherSuite.Aes128Gcm;
            if (parse.GetValue(Cipher) is { } name && !CipherSuites.TryParse(name, out suite)) throw new UsageException($"--cipher \"{name}\": expected aes-128-gcm or aes-256-gcm");
            var (seal, open) = CryptoFloor.Measure(suite, n, new TransferOptions().ChunkSize);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{{\"cipher\":\"{suite.DisplayName()}\",\"bytes\":{n},\"seal_s\":{seal.TotalSeconds:F3},\"open_s\":{open.TotalSeconds:F3}}}"));
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command KeygenCommand()
    {
        var file = new Argument<string>("FILE") { Description = "where to write a new 256-bit secret (must not exist)" };
        var cmd = new Command("keygen", "write a fresh random secret, readable only by you") { file };
        cmd.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            try { SharedSecret.Generate(path); }
            catch (IOException e) { throw new UsageException($"cannot create {path}: {e.Message}"); }
            catch (UnauthorizedAccessException e) { throw new UsageException($"cannot create {path}: {e.Message}"); }
            Console.Error.WriteLine($"actorsync: wrote a 256-bit secret to {path}; copy it to the other machine over a trusted channel");
            return ExitCodes.Success;
        });
        return cmd;
    }

    /// <summary>
    /// The host a command runs in. It is not disposed: the process ends with the command, and by then its transfer has
    /// stopped and closed everything it opened; stopping the actor system politely as well took ~40 ms of every run.
    /// </summary>
    internal static IHost BuildHost(ParseResult parse, bool quiet = false, bool receiving = false,
        Func<ILogger, Action<Akka.Hosting.AkkaConfigurationBuilder>>? akka = null)
    {
        var overrides = new Dictionary<string, string>();
        if (parse.GetValue(Streams) is { } streams) overrides["actorsync.transfer.streams"] = streams.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (parse.GetValue(Cipher) is { } cipher)
        {
            if (!CipherSuites.TryParse(cipher, out _)) throw new UsageException($"--cipher \"{cipher}\": expected aes-128-gcm or aes-256-gcm");
            // The sender proposes its cipher; a receiver given one takes that one only.
            overrides["actorsync.transfer.cipher"] = cipher;
            if (receiving) overrides["actorsync.receive.accept-cipher"] = cipher;
        }
        if (parse.GetValue(BwLimit) is { } rate)
            overrides["actorsync.transfer.bwlimit"] = Rates.TryParse(rate, out long bytesPerSecond) && bytesPerSecond > 0
                ? bytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : throw new UsageException($"--bwlimit \"{rate}\": expected a rate such as 50M, 1.5G, 800K or 50MB");
        if (parse.GetValue(NoHardLinks)) overrides["actorsync.transfer.hard-links"] = "false";
        if (parse.GetValue(NoOwner)) overrides["actorsync.transfer.owner"] = "false";
        if (parse.GetValue(NoGroup)) overrides["actorsync.transfer.group"] = "false";
        if (parse.GetValue(Xattrs)) overrides["actorsync.transfer.xattrs"] = "true";
        if (parse.GetValue(Fsync)) overrides["actorsync.transfer.fsync"] = "true";
        if (parse.GetValue(Checksum)) overrides["actorsync.transfer.checksum"] = "true";
        if (parse.GetValue(Tls) is { } tls)
        {
            if (!TlsModes.TryParse(tls, out _)) throw new UsageException($"--tls \"{tls}\": expected auto, kernel or user");
            overrides["actorsync.transfer.tls"] = tls;
        }
        try
        {
            return EngineHost.Build(parse.GetValue(ConfigFile), parse.GetValue(Verbose), quiet || parse.GetValue(Quiet) || parse.GetValue(Json) && !parse.GetValue(Verbose), overrides, akka);
        }
        catch (Exception e) when (e is FormatException or FileNotFoundException or IOException)
        {
            throw new UsageException($"configuration: {e.Message}");
        }
    }

    private static readonly string[] FilterOptions = ["--exclude", "--include", "--exclude-from", "--include-from"];

    /// <summary>
    /// The filter rules in command-line order (rsync's --include and --exclude interleave: the first match wins), read
    /// from the tokens, as the parsed options keep each option's values apart; and --files-from, which must be readable.
    /// </summary>
    internal static TransferOptions WithSelection(TransferOptions options, ParseResult parse)
    {
        var rules = new FilterRules();
        var tokens = parse.Tokens;
        for (int i = 0; i + 1 < tokens.Count; i++)
        {
            string name = tokens[i].Value;
            if (tokens[i].Type != System.CommandLine.Parsing.TokenType.Option || Array.IndexOf(FilterOptions, name) < 0) continue;
            string value = tokens[++i].Value;
            bool include = name.StartsWith("--include", StringComparison.Ordinal);
            try
            {
                if (name.EndsWith("-from", StringComparison.Ordinal)) rules.AddFrom(value, include);
                else rules.Add(value, include);
            }
            catch (FormatException e) { throw new UsageException($"{name} \"{value}\": {e.Message}"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"{name} {value}: {e.Message}"); }
        }
        string? list = parse.GetValue(FilesFrom);
        if (list is not null && list != "-" && !File.Exists(list)) throw new UsageException($"--files-from {list}: no such file");
        bool delete = parse.GetValue(Delete);
        long? maxDelete = parse.GetValue(MaxDelete);
        if (maxDelete is < 0) throw new UsageException($"--max-delete {maxDelete}: must not be negative");
        if (maxDelete is not null && !delete) throw new UsageException("--max-delete needs --delete");
        // Which of DEST's names are "not in SRC" is unclear when SRC is a list (rsync limits it to the listed directories).
        if (delete && list is not null) throw new UsageException("--delete with --files-from is not supported: the list names what to send, not what DEST should hold");
        // The policy travels in one frame after the transfer header, both in a metadata-sized buffer: 64 bytes spare.
        if (delete && rules.Describe().Sum(r => 2 + System.Text.Encoding.UTF8.GetByteCount(r)) > Transport.Frames.FrameLimits.MaxMetadataBody - 64)
            throw new UsageException("--delete: the filter rules are too long to send to the receiver (over 8 KiB)");
        return options with { Filter = rules.IsEmpty ? null : rules, FilesFrom = list, Delete = delete, MaxDelete = maxDelete ?? -1, DryRun = parse.GetValue(DryRun) };
    }

    private static (TransferOptions, ActorSyncEngine, ILogger) Resolve(IHost app, ParseResult parse)
    {
        var (options, log) = ResolveOptions(app);
        return (options, EngineHost.Engine(app), log);
    }

    /// <summary>The validated options (a bad one is a usage error) and the log, before the actor system starts.</summary>
    private static (TransferOptions, ILogger) ResolveOptions(IHost app)
    {
        try
        {
            return (EngineHost.Options(app), EngineHost.Loggers(app).CreateLogger("actorsync"));
        }
        catch (FormatException e)
        {
            throw new UsageException($"configuration: {e.Message}");
        }
    }

    internal static SharedSecret ResolveSecret(ParseResult parse, ILogger log)
    {
        try { return SecretResolver.Resolve(parse.GetValue(SecretFile), parse.GetValue(Secret), log); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }
}
