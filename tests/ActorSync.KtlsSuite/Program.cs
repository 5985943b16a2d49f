using System.Diagnostics;
using System.Net;
using ActorSync;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;

namespace ActorSync.KtlsSuite;

/// <summary>
/// The kernel-TLS suite, run inside the kTLS VM (tests/ktls-vm/run-ktls-suite.sh) by a plain `dotnet` (the
/// guest emulates the CPU; `dotnet test` would spend most of its time starting). Each case transfers a
/// generated tree over loopback through the real engine and checks it byte for byte, plus what
/// /proc/net/tls_stat says the kernel did. Prints PASS/FAIL lines and "N passed, M failed".
/// </summary>
internal static class Program
{
    private static readonly SharedSecret Secret = SharedSecret.FromText("ktls-suite-secret-0123456789abcdef", "suite");
    private static int _passed, _failed;

    private static async Task<int> Main(string[] args)
    {
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        Console.WriteLine($"kernel {kernel}, .NET {Environment.Version}");
        string? unavailable = SecureConnection.KernelTlsUnavailability(CipherSuite.Aes128Gcm);
        if (unavailable is not null)
        {
            Console.WriteLine($"FAIL  this kernel cannot do kTLS: {unavailable} (run me in tests/ktls-vm)");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }
        string root = Path.Join(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"ktls-suite-{Environment.ProcessId}");
        string src = Path.Join(root, "src");
        var clock = Stopwatch.StartNew();
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 300, MaxSmallFileBytes = 8192, Directories = 6, LargeFileBytes = 8L << 20 });
        Console.WriteLine($"info  tree generated in {clock.Elapsed.TotalSeconds:F1} s");
        try
        {
            await Case("kernel -> kernel: byte-exact, kernel crypto both ways, sendfile for the large file", () => Direction(src, root, TlsMode.Kernel, TlsMode.Kernel));
            await Case("kernel -> user: byte-exact, a userspace receiver reads kernel records", () => Direction(src, root, TlsMode.Kernel, TlsMode.User));
            await Case("user -> kernel: byte-exact, the kernel reads userspace records", () => Direction(src, root, TlsMode.User, TlsMode.Kernel));
            await Case("user -> user: the kernel does no TLS work", () => Direction(src, root, TlsMode.User, TlsMode.User));
            await Case("auto picks the kernel on a kTLS kernel", () => Direction(src, root, TlsMode.Auto, TlsMode.Auto));
            await Case("AES-256-GCM kernel -> user", () => Direction(src, root, TlsMode.Kernel, TlsMode.User, CipherSuite.Aes256Gcm));
            await Case("a record tampered in flight: EBADMSG, exit 4, no corrupt file", () => Tampered(src, root));
            await Case("the edge tree kernel -> kernel: exact by the independent checker (names as bytes, hard links, holes, owners, devices)", () => EdgeTreeCase(root));
            await Case("sendfile vs read()+send() on kTLS (relative times, emulated CPU)", () => SendfileVersusRead(root));
        }
        finally
        {
            TreeGenerator.Remove(root);
        }
        Console.WriteLine($"info  suite time {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"{_passed} passed, {_failed} failed");
        return _failed == 0 ? 0 : 1;
    }

    private static async Task Case(string name, Func<Task<string>> body)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            string detail = await body();
            _passed++;
            Console.WriteLine($"PASS  {name} ({clock.Elapsed.TotalSeconds:F1} s){(detail.Length > 0 ? ": " + detail : "")}");
        }
        catch (Exception e)
        {
            _failed++;
            Console.WriteLine($"FAIL  {name}: {e.GetType().Name}: {e.Message}");
        }
    }

    private static void Check(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException(what);
    }

    private static TransferOptions Options(TlsMode tls, CipherSuite cipher = CipherSuite.Aes128Gcm, int streams = 4) =>
        new() { Streams = streams, Tls = tls, Cipher = cipher, HandshakeTimeout = TimeSpan.FromSeconds(60), IdleTimeout = TimeSpan.FromMinutes(5) };

    private static async Task<(TransferSummary Sent, TransferSummary Received)> Transfer(string src, string dst, TransferOptions sender, TransferOptions receiver, Func<int, int>? route = null)
    {
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var receiving = new ActorSyncEngine(receiver).ReceiveAsync(dst, listener, Secret, serve: false, receiver, cancellationToken: cts.Token);
        var sent = await new ActorSyncEngine(sender).SendAsync(src, "127.0.0.1", route?.Invoke(port) ?? port, Secret, sender, cancellationToken: cts.Token);
        var received = await receiving;
        return (sent, received!);
    }

    private static async Task<string> Direction(string src, string root, TlsMode sender, TlsMode receiver, CipherSuite cipher = CipherSuite.Aes128Gcm)
    {
        string dst = Path.Join(root, $"dst-{sender}-{receiver}-{cipher}");
        SecureConnection.KernelTlsUnavailability(cipher);   // the one-time probe installs contexts of its own: before the baseline
        var before = TlsStat.Read();
        var (sent, received) = await Transfer(src, dst, Options(sender, cipher), Options(receiver, cipher));
        var delta = TlsStat.Read() - before;
        Check(sent.ExitCode == 0 && received.ExitCode == 0, $"exit {sent.ExitCode}/{received.ExitCode}: {sent.Error} {received.Error}");
        var compare = TreeComparer.Compare(src, dst);
        Check(compare.Identical, "copy differs: " + string.Join("; ", compare.Differences.Take(3)));
        bool senderKernel = sender != TlsMode.User, receiverKernel = receiver != TlsMode.User;
        Check(sent.Crypto == (senderKernel ? "kernel" : "user"), $"sender crypto {sent.Crypto}");
        Check(received.Crypto == (receiverKernel ? "kernel" : "user"), $"receiver crypto {received.Crypto}");
        // Every kernel end installs one TX and one RX context per stream; userspace ends install none.
        long contexts = (senderKernel ? sent.Streams : 0) + (receiverKernel ? received.Streams : 0);
        Check(delta.TxSw == contexts && delta.RxSw == contexts, $"tls_stat TlsTxSw +{delta.TxSw}, TlsRxSw +{delta.RxSw}, expected +{contexts} each");
        Check(delta.DecryptError == 0, $"TlsDecryptError +{delta.DecryptError}");
        if (senderKernel) Check(sent.SendfileBytes >= 8L << 20, $"sendfile carried {sent.SendfileBytes} bytes, expected the 8 MiB file");
        else Check(sent.SendfileBytes == 0, "sendfile used on a userspace stream");
        return $"{compare.Entries} entries, crypto {sent.Crypto}->{received.Crypto}, tls_stat TxSw +{delta.TxSw} RxSw +{delta.RxSw}, " +
               $"sendfile {sent.SendfileBytes >> 20} MiB in {sent.SendfileRanges} ranges";
    }

    private static async Task<string> Tampered(string src, string root)
    {
        string dst = Path.Join(root, "dst-tampered");
        var before = TlsStat.Read();
        TcpRelay? relay = null;
        try
        {
            var (sent, received) = await Transfer(src, dst, Options(TlsMode.Kernel, streams: 2), Options(TlsMode.Kernel, streams: 2),
                port => (relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)) { FlipClientByteAt = 200_000 }).Port);
            var delta = TlsStat.Read() - before;
            Check(received.ExitCode == ExitCodes.ProtocolViolation, $"receiver exit {received.ExitCode} ({received.Error}), expected 4");
            Check(received.Error?.Contains("EBADMSG", StringComparison.Ordinal) == true, $"receiver error: {received.Error}");
            Check(sent.ExitCode != 0, "sender claimed success");
            Check(delta.DecryptError >= 1, $"TlsDecryptError +{delta.DecryptError}");
            var whole = TreeComparer.WholeFiles(src, dst);
            Check(whole.Identical, "after the tampering: " + string.Join("; ", whole.Differences.Take(3)));
            return $"receiver: {received.Error}; sender exit {sent.ExitCode}; TlsDecryptError +{delta.DecryptError}";
        }
        finally
        {
            if (relay is not null) await relay.DisposeAsync();
        }
    }

    /// <summary>
    /// The fidelity test's tree over kernel TLS, where large files (the hard-linked one, the sparse ones) go by
    /// sendfile: compared by tests/tools/treecheck.py, written apart from the product.
    /// </summary>
    private static async Task<string> EdgeTreeCase(string root)
    {
        string src = Path.Join(root, "edge-src"), dst = Path.Join(root, "edge-dst");
        var facts = EdgeTree.Generate(src, new EdgeTree.Spec { WideEntries = 2000, SparseBytes = 256L << 20 });
        var options = Options(TlsMode.Kernel) with { PreserveAttributes = true };
        var (sent, received) = await Transfer(src, dst, options, options);
        Check(sent.ExitCode == 0 && received.ExitCode == 0, $"exit {sent.ExitCode}/{received.ExitCode}: {sent.Error} {received.Error} {string.Join("; ", received.Problems.Take(3))}");
        Check(sent.Crypto == "kernel" && received.Crypto == "kernel", $"crypto {sent.Crypto}->{received.Crypto}");
        Check(sent.PayloadBytesSent == facts.DataBytes, $"{sent.PayloadBytesSent} payload bytes for {facts.DataBytes} bytes of data (holes and links must not be sent)");
        Check(sent.SendfileBytes > 0 && sent.HardLinks == facts.HardLinks, $"sendfile {sent.SendfileBytes} bytes, {sent.HardLinks} hard links");
        string checker = Path.GetFullPath(Path.Join(AppContext.BaseDirectory, "..", "..", "..", "..", "tools", "treecheck.py"));
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { checker, src, dst, "--owners" }) psi.ArgumentList.Add(a);
        if (facts.Attributes) psi.ArgumentList.Add("--xattrs");
        using var p = Process.Start(psi)!;
        string differences = await p.StandardOutput.ReadToEndAsync(), summary = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Check(p.ExitCode == 0, $"treecheck exit {p.ExitCode}: {differences} {summary}");
        return $"{summary.Trim()}; {sent.Files} files, {sent.HardLinks} hard links, {sent.Specials} special, {sent.SendfileBytes >> 10} KiB by sendfile";
    }

    /// <summary>The seed measured splice() into kTLS 2.9x slower than read()+send(); measure sendfile here.</summary>
    private static async Task<string> SendfileVersusRead(string root)
    {
        string src = Path.Join(root, "large-files");
        for (int i = 0; i < 4; i++) TreeGenerator.Generate(Path.Join(src, $"f{i}"), new TreeSpec { SmallFiles = 0, Directories = 0, EmptyFiles = 0, EmptyDirectories = 0, LargeFileBytes = 16L << 20, Oddities = false, Seed = i });
        var times = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var cpu = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (int round = 0; round < 2; round++)
        {
            foreach (bool sendfile in new[] { true, false })
            {
                string dst = Path.Join(root, $"dst-sf-{sendfile}-{round}");
                var options = Options(TlsMode.Kernel) with { Sendfile = sendfile };
                var clock = Stopwatch.StartNew();
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var (sent, received) = await Transfer(src, dst, options, options);
                times[sendfile].Add(clock.Elapsed.TotalSeconds);
                cpu[sendfile].Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
                Check(sent.ExitCode == 0 && received.ExitCode == 0, $"exit {sent.ExitCode}/{received.ExitCode}");
                Check(sendfile ? sent.SendfileBytes == 64L << 20 : sent.SendfileBytes == 0, $"sendfile bytes {sent.SendfileBytes} with sendfile={sendfile}");
                Check(TreeComparer.Compare(src, dst).Identical, "copy differs");
                TreeGenerator.Remove(dst);
            }
        }
        double a = times[true].Min(), b = times[false].Min(), ca = cpu[true].Min(), cb = cpu[false].Min();
        return $"64 MiB kernel->kernel, best of 2: sendfile {a:F2} s wall / {ca:F2} s CPU, read()+send() {b:F2} s wall / {cb:F2} s CPU; " +
               $"read/sendfile ratio wall {b / a:F2}, CPU {cb / ca:F2} (both ends in one process)";
    }
}

/// <summary>/proc/net/tls_stat: cumulative counts of software kTLS contexts and decryption errors.</summary>
internal readonly record struct TlsStat(long TxSw, long RxSw, long DecryptError)
{
    public static TlsStat Read()
    {
        var values = File.ReadAllLines("/proc/net/tls_stat")
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        return new TlsStat(values.GetValueOrDefault("TlsTxSw"), values.GetValueOrDefault("TlsRxSw"), values.GetValueOrDefault("TlsDecryptError"));
    }

    public static TlsStat operator -(TlsStat a, TlsStat b) => new(a.TxSw - b.TxSw, a.RxSw - b.RxSw, a.DecryptError - b.DecryptError);
}
