using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport.Handshake;
using Xunit;

namespace ActorSync.Tests.EndToEnd;

/// <summary>Whole transfers through the real engine over loopback sockets, compared byte for byte.</summary>
public sealed class TransferTests
{
    private static void AssertIdentical(string src, string dst)
    {
        var result = TreeComparer.Compare(src, dst);
        Assert.True(result.Identical, string.Join("\n", result.Differences));
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync")), "work area left behind");
    }

    [Fact]
    public async Task Ten_thousand_small_files_with_empty_files_dirs_symlinks_odd_names_modes_and_mtimes()
    {
        using var scratch = new Scratch("small");
        var (files, _) = TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 10_000, MaxSmallFileBytes = 4096, Directories = 40, EmptyFiles = 20, LargeFileBytes = 0, EmptyDirectories = 4 });
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options(streams: 8));
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        Assert.Equal(files, sent.Files);
        Assert.Equal(files, received.Files);
        Assert.Equal(4, received.Symlinks);
        Assert.Equal("user", sent.Crypto);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task A_one_gibibyte_file_over_eight_streams()
    {
        using var scratch = new Scratch("large");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 50, Directories = 2, EmptyFiles = 1, LargeFileBytes = 1L << 30, Oddities = false });
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options(streams: 8));
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        Assert.Equal(8, received.Streams);
        Assert.True(sent.PayloadBytesSent >= 1L << 30);
        // Records add 22 bytes per 16 KiB and frames a few per chunk: the wire carries little more than the payload.
        Assert.InRange(sent.WireBytes, sent.PayloadBytesSent, (long)(sent.PayloadBytesSent * 1.01));
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task Aes_256_gcm_and_one_stream_also_copy_exactly()
    {
        using var scratch = new Scratch("aes256");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 500, LargeFileBytes = 3 << 20 });
        var options = Loopback.Options(streams: 1) with { Cipher = ActorSync.Transport.Records.CipherSuite.Aes256Gcm };
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), options);
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal("AES-256-GCM", received.Cipher);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task Wrong_secret_exits_3_on_both_sides_and_creates_nothing()
    {
        using var scratch = new Scratch("wrongkey");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false });
        var wrong = SharedSecret.FromText("a-completely-different-secret-value", "test");
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options(), wrong);
        Assert.Equal(ExitCodes.AuthenticationFailed, sent.ExitCode);
        Assert.Equal(ExitCodes.AuthenticationFailed, received.ExitCode);
        Assert.Contains("authentication failed", sent.Error);
        Assert.False(Directory.Exists(scratch.Sub("dst")), "DEST was created for an unauthenticated peer");
    }

    [Fact]
    public async Task A_flipped_byte_in_flight_is_detected_exit_4_and_no_corrupt_file_is_committed()
    {
        using var scratch = new Scratch("tamper");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 200, LargeFileBytes = 16 << 20, Oddities = false });
        await using var relayHolder = new RelayHolder();
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options(streams: 2),
            routeThrough: port => relayHolder.Start(port, flipAt: 300_000));
        Assert.Equal(ExitCodes.ProtocolViolation, received.ExitCode);
        Assert.Contains("integrity", received.Error);
        Assert.NotEqual(ExitCodes.Success, sent.ExitCode);
        // Whatever was committed before the detection is intact; nothing else is under a final name.
        foreach (string file in Directory.EnumerateFiles(scratch.Sub("dst"), "*", SearchOption.AllDirectories))
        {
            if (new FileInfo(file).LinkTarget is not null) continue;   // a link's target may rightly be missing
            string rel = Path.GetRelativePath(scratch.Sub("dst"), file);
            Assert.False(rel.StartsWith(".actorsync/tmp", StringComparison.Ordinal), $"temporary left: {rel}");
            if (rel.StartsWith(".actorsync", StringComparison.Ordinal)) continue;   // resume state (lock, verified partials) is kept on purpose
            Assert.Equal(await File.ReadAllBytesAsync(Path.Join(scratch.Sub("src"), rel)), await File.ReadAllBytesAsync(file));
        }
    }

    [Fact]
    public async Task A_symlink_planted_in_dest_is_never_written_through()
    {
        using var scratch = new Scratch("plant");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst"), outside = scratch.Sub("outside");
        Directory.CreateDirectory(Path.Join(src, "victim"));
        await File.WriteAllTextAsync(Path.Join(src, "victim", "payload"), "should not escape");
        await File.WriteAllTextAsync(Path.Join(src, "fine"), "ok");
        Directory.CreateDirectory(outside);
        Directory.CreateDirectory(dst);
        File.CreateSymbolicLink(Path.Join(dst, "victim"), outside);

        var (sent, received) = await Loopback.TransferAsync(src, dst);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Contains(received.Problems, p => p.Contains("symlink", StringComparison.Ordinal));
        Assert.Equal("ok", await File.ReadAllTextAsync(Path.Join(dst, "fine")));
    }

    [Fact]
    public async Task The_sender_retries_until_a_late_receiver_listens()
    {
        using var scratch = new Scratch("late");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 100, LargeFileBytes = 1 << 20, Oddities = false });
        var options = Loopback.Options(streams: 3) with { MinBackoff = TimeSpan.FromMilliseconds(100), MaxRestarts = 10 };
        var engine = new ActorSyncEngine(options);
        int port;
        using (var probe = ActorSyncEngine.Listen(IPAddress.Loopback, 0)) port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        Task<TransferSummary> sending;
        // Until the sender has tried twice, the port is held by a listener that drops every connection at once.
        using (var refuser = ActorSyncEngine.Listen(IPAddress.Loopback, port))
        {
            var sending0 = engine.SendAsync(scratch.Sub("src"), "127.0.0.1", port, Loopback.Secret, options);
            for (int attempts = 0; attempts < 2; attempts++) (await refuser.AcceptAsync().WaitAsync(TimeSpan.FromMinutes(1))).Dispose();
            sending = sending0;
        }
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, port);
        var received = await engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: false, options);
        var sent = await sending;
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received!.ExitCode);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task Nobody_listening_fails_with_exit_1_once_the_retry_budget_is_spent()
    {
        using var scratch = new Scratch("nolisten");
        Directory.CreateDirectory(scratch.Sub("src"));
        await File.WriteAllTextAsync(Path.Join(scratch.Sub("src"), "a"), "a");
        int port;
        using (var probe = ActorSyncEngine.Listen(IPAddress.Loopback, 0)) port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        var options = Loopback.Options(streams: 2) with { MinBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50), MaxRestarts = 3 };
        var sent = await new ActorSyncEngine(options).SendAsync(scratch.Sub("src"), "127.0.0.1", port, Loopback.Secret, options).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Contains("refused", sent.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Re_sending_into_an_existing_copy_replaces_files_and_stays_exact()
    {
        using var scratch = new Scratch("again");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 300, LargeFileBytes = 2 << 20 });
        var first = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(ExitCodes.Success, first.Received.ExitCode);
        await File.WriteAllTextAsync(Path.Join(scratch.Sub("src"), "dir000", "file000000.bin"), "changed");
        var second = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(ExitCodes.Success, second.Received.ExitCode);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task A_peer_that_authenticates_and_then_goes_silent_is_dropped_after_the_idle_timeout()
    {
        using var scratch = new Scratch("idle");
        var options = Loopback.Options(streams: 1) with { IdleTimeout = TimeSpan.FromMilliseconds(500), RejoinGrace = TimeSpan.FromMilliseconds(500) };
        var engine = new ActorSyncEngine(options);
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var receiving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: false, options);
        await using var channel = await ActorSync.Transport.SecureConnection.ConnectAsync(listener.LocalEndPoint!, Loopback.Secret,
            ActorSync.Transport.Records.CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(5), CancellationToken.None);
        var header = new byte[64];
        int n = ActorSync.Transport.Frames.FrameWriter.TransferHeader(header, new(Guid.NewGuid(), 0, 1, 0x1301, 0));
        await channel.SendAsync(header.AsMemory(0, n));
        var received = await receiving.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ExitCodes.TransferFailed, received!.ExitCode);
        Assert.Contains("sent nothing", received.Error);
        Assert.Contains("not re-established", received.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch.Sub("dst")));
    }

    /// <summary>
    /// The smallest pool the configuration allows (streams + readers + 2 buffers) on a tree whose chunks are mostly tiny
    /// (2,000 small files in 400 directories, flushed as they come, then files of 200 KiB and 5 MiB). Was: each tiny
    /// chunk held a whole pooled buffer until a StreamAck every 512 KiB that was not due, and the transfer hung once the
    /// pool was out; now small chunks are kept for re-sending in copies (and a receiver that has caught up acknowledges
    /// what it holds: CreditTests).
    /// </summary>
    [Fact]
    public async Task The_smallest_pool_allowed_never_waits_for_an_acknowledgement_that_is_not_due()
    {
        using var scratch = new Scratch("smallpool");
        string src = scratch.Sub("src");
        for (int i = 0; i < 2000; i++)
        {
            string path = Path.Join(src, $"d{i % 400:D3}", $"tiny{i:D4}");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, new byte[i % 97]);
        }
        for (int i = 0; i < 40; i++) RandomFile.Write(Path.Join(src, "mid", $"f{i:D2}"), 200 << 10, seed: i);
        for (int i = 0; i < 3; i++) RandomFile.Write(Path.Join(src, "big", $"b{i}"), 5 << 20, seed: 100 + i);
        var options = Loopback.Options(streams: 8);
        options = options with { BufferMemory = (long)options.MinimumBuffers * options.ChunkSize };
        Assert.Equal(options.MinimumBuffers, options.SenderBufferCount);
        var (sent, received) = await Loopback.TransferAsync(src, scratch.Sub("dst"), options, timeout: TimeSpan.FromSeconds(60));
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, $"{sent.Error} / {received.Error}");
        var result = TreeComparer.Compare(src, scratch.Sub("dst"));
        Assert.True(result.Identical, string.Join("\n", result.Differences));
    }

    /// <summary>Owns the tampering relay for the duration of a test.</summary>
    private sealed class RelayHolder : IAsyncDisposable
    {
        private TcpRelay? _relay;

        public int Start(int targetPort, long flipAt)
        {
            _relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, targetPort)) { FlipClientByteAt = flipAt };
            return _relay.Port;
        }

        public async ValueTask DisposeAsync()
        {
            if (_relay is not null) await _relay.DisposeAsync();
        }
    }
}
