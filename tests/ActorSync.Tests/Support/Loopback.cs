using System.Net;
using ActorSync.Engine;
using ActorSync.Transport.Handshake;

namespace ActorSync.Tests.Support;

/// <summary>Runs a receiver and a sender of the real engine in this process over loopback sockets.</summary>
public static class Loopback
{
    public static readonly SharedSecret Secret = SharedSecret.FromText("8d1f0c2b7a6e5d4c3b2a190817263544f5e6d7c8b9a0", "test");

    public static TransferOptions Options(int streams = 4) => new() { Streams = streams, HandshakeTimeout = TimeSpan.FromSeconds(10) };

    public static async Task<(TransferSummary Sent, TransferSummary Received)> TransferAsync(
        string source, string destination, TransferOptions? options = null, SharedSecret? senderSecret = null,
        Func<int, int>? routeThrough = null, TimeSpan? timeout = null)
    {
        options ??= Options();
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        var receiving = engine.ReceiveAsync(destination, listener, Secret, serve: false, options, cancellationToken: cts.Token);
        var sending = engine.SendAsync(source, "127.0.0.1", routeThrough?.Invoke(port) ?? port, senderSecret ?? Secret, options, cancellationToken: cts.Token);
        // Hard deadlines per side: a hang fails the test and says which side hung, instead of stalling the run.
        var limit = (timeout ?? TimeSpan.FromMinutes(3)) + TimeSpan.FromSeconds(20);
        var sent = await sending.WaitAsync(limit).ContinueWith(t => t.IsFaulted && t.Exception!.InnerException is TimeoutException ? throw new TimeoutException("the sender hung") : t.Result);
        var received = await receiving.WaitAsync(limit).ContinueWith(t => t.IsFaulted && t.Exception!.InnerException is TimeoutException ? throw new TimeoutException($"the receiver hung (sender: {sent.ExitCode} {sent.Error})") : t.Result);
        return (sent, received!);
    }
}

/// <summary>Files of seeded random bytes, for tests that need a few of exact sizes.</summary>
public static class RandomFile
{
    public static void Write(string path, long bytes, int seed)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        File.WriteAllBytes(path, data);
    }
}

/// <summary>A scratch directory on tmpfs when there is one (fast, and the disk here has no journal).</summary>
public sealed class Scratch : IDisposable
{
    private const string Prefix = "actorsync-test-";

    // The largest tests hold a few GiB of source and destination at once; tmpfs pages are RAM, so
    // /dev/shm is used only while both its free space and the machine's available memory leave that
    // much with room to spare. Otherwise a full tmpfs (a kept benchmark dataset, say) gets the test
    // host killed by the OOM killer instead of failing a test.
    private const long TmpfsHeadroomBytes = 8L << 30;

    private static readonly string Root = PickRoot();

    public Scratch(string name)
    {
        Path = System.IO.Path.Join(Root, $"{Prefix}{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string Sub(string name) => System.IO.Path.Join(Path, name);

    public void Dispose() => ActorSync.Host.Demo.TreeGenerator.Remove(Path);

    private static string PickRoot()
    {
        string temp = System.IO.Path.GetTempPath();
        RemoveAbandoned(temp);
        if (!Directory.Exists("/dev/shm")) return temp;
        RemoveAbandoned("/dev/shm");
        bool roomy = new DriveInfo("/dev/shm").AvailableFreeSpace >= TmpfsHeadroomBytes
            && MemAvailableBytes() >= TmpfsHeadroomBytes;
        return roomy ? "/dev/shm" : temp;
    }

    /// <summary>Scratch directories of test hosts that were killed before they could remove them.</summary>
    private static void RemoveAbandoned(string root)
    {
        if (!Directory.Exists("/proc/self")) return;  // no way to tell a live host from a dead one
        foreach (string dir in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            string[] parts = System.IO.Path.GetFileName(dir).Split('-');
            if (parts.Length >= 2 && int.TryParse(parts[^2], out int pid) && !Directory.Exists($"/proc/{pid}"))
                ActorSync.Host.Demo.TreeGenerator.Remove(dir);
        }
    }

    private static long MemAvailableBytes()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(13).Trim().TrimEnd("kB").Trim(), out long kib))
                return kib * 1024;
        return 0;
    }
}
