using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using ActorSync.Engine;
using ActorSync.Host.Cli;
using ActorSync.Transport.Handshake;

namespace ActorSync.Host.Demo;

/// <summary>
/// `actorsync demo`: generate a tree, receive and send it in one process over loopback with several
/// streams, compare the copy byte for byte, print the summary. Exit 0 only if the copy is exact.
/// </summary>
internal sealed class DemoRun(ActorSyncEngine engine, TransferOptions options, string? baseDirectory, bool keep)
{
    public async Task<int> RunAsync(TreeSpec spec, bool json, CancellationToken ct)
    {
        string root = Path.Join(baseDirectory ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath()), $"actorsync-demo-{Environment.ProcessId}");
        string src = Path.Join(root, "src"), dst = Path.Join(root, "dst");
        var err = Console.Error;
        try
        {
            var clock = Stopwatch.StartNew();
            var (files, bytes) = TreeGenerator.Generate(src, spec);
            err.WriteLine($"demo: generated {files} files, {bytes / 1048576.0:F1} MiB in {src} ({clock.Elapsed.TotalSeconds:F1} s)");

            var secret = SharedSecret.FromText(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), "demo");
            using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var receiving = engine.ReceiveAsync(dst, listener, secret, serve: false, options, cancellationToken: ct);
            var sent = await engine.SendAsync(src, "127.0.0.1", port, secret, options, cancellationToken: ct);
            var received = await receiving;
            SummaryPrinter.Print(sent, json);
            if (!json && received is not null) SummaryPrinter.Print(received, json: false);
            if (sent.ExitCode != ExitCodes.Success) return sent.ExitCode;
            if (received is null || received.ExitCode != ExitCodes.Success) return received?.ExitCode ?? ExitCodes.TransferFailed;

            clock.Restart();
            var check = TreeComparer.Compare(src, dst);
            if (!check.Identical)
            {
                foreach (string d in check.Differences) err.WriteLine($"demo: DIFFERENT {d}");
                err.WriteLine($"demo: verification FAILED: {check.Differences.Count} difference(s)");
                return ExitCodes.TransferFailed;
            }
            err.WriteLine($"demo: verified {check.Entries} entries identical (contents, modes, mtimes, symlinks) in {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Success;
        }
        finally
        {
            if (keep) err.WriteLine($"demo: kept {root}");
            else TreeGenerator.Remove(root);
        }
    }
}
