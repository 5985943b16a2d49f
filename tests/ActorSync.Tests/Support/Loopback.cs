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
    public Scratch(string name)
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Join(root, $"actorsync-test-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string Sub(string name) => System.IO.Path.Join(Path, name);

    public void Dispose() => ActorSync.Host.Demo.TreeGenerator.Remove(Path);
}
