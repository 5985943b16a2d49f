using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorSync.Transport.Handshake;

namespace ActorSync.Host.Cli.Ssh;

/// <summary>
/// The remote end of a one-command copy (recv or send with the hidden --over-ssh, started by <see cref="SshSession"/>):
/// the secret is the first line of standard input, the port is bound on the address the ssh connection came to, and
/// announced on standard output; when standard input ends (the local side finished, or died) the command stops.
/// </summary>
internal static class RemoteEnd
{
    /// <summary>The first line of standard input, read byte by byte so nothing after it is consumed.</summary>
    public static SharedSecret ReadSecret(Stream stdin)
    {
        var line = new List<byte>(80);
        int b;
        while ((b = stdin.ReadByte()) >= 0 && b != '\n')
        {
            line.Add((byte)b);
            if (line.Count > 4096) throw new UsageException("--over-ssh: the first line of standard input is not a secret");
        }
        try { return SharedSecret.FromText(Encoding.UTF8.GetString([.. line]), "the ssh channel"); }
        catch (ArgumentException e) { throw new UsageException($"--over-ssh: {e.Message}"); }
    }

    /// <summary>
    /// Binds <paramref name="port"/> (0: any free one) on the address this machine was reached at by ssh
    /// ($SSH_CONNECTION's third field), so the streams come the way ssh did and the port is not open on other
    /// interfaces; on every address when that is unknown. Returns the listener and the address to announce.
    /// </summary>
    public static (Socket Listener, IPAddress? Address) Listen(int port)
    {
        IPAddress? reached = Environment.GetEnvironmentVariable("SSH_CONNECTION")?.Split(' ') is [_, _, var server, _]
            && IPAddress.TryParse(server, out var a) ? a : null;
        try { return (ActorSyncEngine.Listen(reached ?? IPAddress.Any, port), reached); }
        catch (SocketException e) { throw new UsageException($"cannot listen on port {port}: {e.Message}"); }
    }

    public static void AnnounceReady(Socket listener, IPAddress? address)
    {
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Console.Out.WriteLine($"{SshSession.ReadyLine} {address?.ToString() ?? "-"} {port}");
        Console.Out.Flush();
    }

    /// <summary>A dry run's plan, as the JSON item lines the local side reads back (see <see cref="SshSession.ForwardItems"/>).</summary>
    public static void ForwardPlan(Engine.TransferItem item)
    {
        if (item.Kind is Engine.TransferItemKind.WouldSend or Engine.TransferItemKind.UpToDate) SummaryPrinter.ItemWriter(json: true, quiet: false)(item);
    }

    /// <summary>A token cancelled when standard input ends (or on <paramref name="interrupt"/>).</summary>
    public static CancellationTokenSource WatchInput(Stream stdin, CancellationToken interrupt)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupt);
        _ = Task.Run(async () =>
        {
            var buffer = new byte[256];
            try
            {
                while (await stdin.ReadAsync(buffer, stop.Token).ConfigureAwait(false) > 0) { }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
            try { await stop.CancelAsync().ConfigureAwait(false); }
            catch (ObjectDisposedException) { }
        }, CancellationToken.None);
        return stop;
    }
}
