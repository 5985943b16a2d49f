using System.Diagnostics;
using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Cli;

namespace ActorSync.Host.Cli.Ssh;

/// <summary>
/// The local end of a one-command copy: runs the other side (`actorsync recv` for a push, `send` for a pull) on the
/// remote machine through the user's ssh, hands it this run's secret over the ssh channel (never on a command line,
/// never on disk), and learns the port it bound from the same channel. The data then flows over direct TCP streams.
/// The remote side watches its standard input: when this process ends or closes it, the remote side stops too.
/// </summary>
internal sealed class SshSession : IAsyncDisposable
{
    /// <summary>The remote side's one line on stdout once it listens: "ACTORSYNC-READY ADDRESS PORT" (ADDRESS "-" when
    /// it does not know which of its addresses the ssh connection came to).</summary>
    public const string ReadyLine = "ACTORSYNC-READY";

    /// <summary>How long a finished session's ssh gets to exit once its input is closed (the remote side is ending).</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(10);

    /// <summary>The last lines the remote side wrote before it was ready: what its failure is reported with.</summary>
    private const int EarlyLinesKept = 20;

    private readonly Process _ssh;
    private readonly RemotePath _remote;
    private readonly string _remoteBin;
    private readonly Queue<string> _early = new();
    private readonly Task _stderr;
    private readonly Lock _gate = new();
    private bool _ready;

    private SshSession(Process ssh, RemotePath remote, string remoteBin)
    {
        _ssh = ssh;
        _remote = remote;
        _remoteBin = remoteBin;
        _stderr = Task.Run(PumpStderrAsync);
    }

    /// <param name="shell">-e: the ssh command and its options (default "ssh").</param>
    /// <param name="remoteBin">--remote-bin: how the remote shell runs actorsync (a shell fragment, like rsync's --rsync-path).</param>
    public static SshSession Start(string? shell, RemotePath remote, string remoteBin, IEnumerable<string> remoteArgs, string secret)
    {
        List<string> argv;
        try { argv = ShellWords.Split(shell ?? "ssh"); }
        catch (FormatException e) { throw new UsageException($"-e \"{shell}\": {e.Message}"); }
        if (argv.Count == 0) throw new UsageException("-e names no command");
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(remote.Destination);
        psi.ArgumentList.Add(remoteBin + " " + string.Join(' ', remoteArgs.Select(ShellWords.Quote)));
        Process ssh;
        try { ssh = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new CommandFailedException(ExitCodes.RemoteStartFailed, $"cannot run {argv[0]}: {e.Message}"); }
        var session = new SshSession(ssh, remote, remoteBin);
        try
        {
            ssh.StandardInput.Write(secret + "\n");
            ssh.StandardInput.Flush();
        }
        catch (IOException) { /* ssh already gone: WaitReadyAsync reports why */ }
        return session;
    }

    /// <summary>Where the remote side listens, once it says so; a <see cref="CommandFailedException"/> naming the cause
    /// (ssh could not log in, actorsync is not there, the remote side refused its arguments) when ssh ends first.</summary>
    public async Task<(IPAddress? Address, int Port)> WaitReadyAsync(CancellationToken ct)
    {
        while (await _ssh.StandardOutput.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            // Anything else a login shell prints first (a banner from .bashrc) is not ours.
            if (!line.StartsWith(ReadyLine + " ", StringComparison.Ordinal)) continue;
            string[] parts = line.Split(' ');
            if (parts.Length != 3 || !int.TryParse(parts[2], out int port) || port is <= 0 or > 65535)
            {
                // Not an actorsync of this version at the other end: it waits for its stdin to close, so end it here.
                try { _ssh.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { }
                throw new CommandFailedException(ExitCodes.RemoteStartFailed, $"on {_remote.Host}: the remote side answered \"{line}\", not a port (another version of actorsync?)");
            }
            string[] early;
            lock (_gate)
            {
                _ready = true;
                early = [.. _early];
            }
            foreach (string e in early) Console.Error.WriteLine($"remote: {e}");

            return (IPAddress.TryParse(parts[1], out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) ? address : null, port);
        }
        await _ssh.WaitForExitAsync(ct).ConfigureAwait(false);
        await _stderr.ConfigureAwait(false);
        throw Failure(_ssh.ExitCode);
    }

    /// <summary>
    /// From the moment the remote side is ready: its stdout is read to the end (so it never blocks on a full pipe), its
    /// item lines (a remote sender's dry-run plan) reported to <paramref name="stats"/>, the rest (its summary) dropped.
    /// </summary>
    public void ForwardItems(TransferStats stats)
    {
        if (_forwarding is not null) return;
        _forwarding = Task.Run(async () =>
        {
            while (await _ssh.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
                if (SummaryPrinter.TryReadItem(line, out var item)) stats.ReportRemote(item);
        });
    }

    private Task? _forwarding;

    private CommandFailedException Failure(int exit)
    {
        string[] lines;
        lock (_gate) lines = [.. _early];
        string last = lines.LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "no message";
        if (exit == 255)
            return new CommandFailedException(ExitCodes.RemoteStartFailed, $"ssh to {_remote.Destination} failed: {last}");
        if (exit == 127 || exit == 126)
            return new CommandFailedException(ExitCodes.RemoteStartFailed,
                $"actorsync could not be run on {_remote.Host} (`{_remoteBin}`: {last}); install it there or name it with --remote-bin PATH");
        // The remote side's own one-line error ("actorsync: ...") and its exit status (2 for a bad path).
        string message = last.StartsWith("actorsync: ", StringComparison.Ordinal) ? last["actorsync: ".Length..] : last;
        return new CommandFailedException(exit == 0 ? ExitCodes.RemoteStartFailed : exit, $"on {_remote.Host}: {message}");
    }

    private async Task PumpStderrAsync()
    {
        while (await _ssh.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (_gate)
            {
                if (!_ready)
                {
                    _early.Enqueue(line);
                    if (_early.Count > EarlyLinesKept) _early.Dequeue();
                    continue;
                }
            }
            Console.Error.WriteLine($"remote: {line}");
        }
    }

    /// <summary>Ends the session: the remote side's input closes (it has finished its transfer, or stops now), ssh is
    /// given <see cref="ExitGrace"/> to exit and killed after that.</summary>
    public async ValueTask DisposeAsync()
    {
        try { _ssh.StandardInput.Close(); }
        catch (IOException) { }
        using var grace = new CancellationTokenSource(ExitGrace);
        try { await _ssh.WaitForExitAsync(grace.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            try { _ssh.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }
        await _stderr.WaitAsync(ExitGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_forwarding is not null) await _forwarding.WaitAsync(ExitGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _ssh.Dispose();
    }
}
