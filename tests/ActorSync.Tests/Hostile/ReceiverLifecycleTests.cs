using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>How a receiver starts, waits and ends: DEST's lock between back-to-back transfers, strangers on the
/// port, and transfers whose streams never all come.</summary>
public sealed class ReceiverLifecycleTests
{
    /// <summary>
    /// A --serve receiver; transfer A is held half way (the relay holds the receiver's answers, so A keeps DEST's
    /// lock), transfer B comes meanwhile and waits for the lock. <paramref name="whileWaiting"/> runs once B's
    /// streams are all in (they have sent their handshakes and headers).
    /// </summary>
    private static async Task<(TransferSummary A, TransferSummary B)> BackToBackAsync(Scratch scratch, Func<IPEndPoint, Task> whileWaiting)
    {
        TreeGenerator.Generate(scratch.Sub("srcA"), new TreeSpec { SmallFiles = 2000, LargeFileBytes = 16 << 20, Oddities = false, Seed = 1 });
        TreeGenerator.Generate(Path.Join(scratch.Sub("srcB"), "bee"), new TreeSpec { SmallFiles = 500, LargeFileBytes = 0, Oddities = false, Seed = 2 });
        var options = Loopback.Options(streams: 2) with { LockWait = TimeSpan.FromSeconds(60) };
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var done = new ConcurrentQueue<TransferSummary>();
        var serving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: true, options, onTransfer: done.Enqueue, cancellationToken: stop.Token);
        await using var relayA = new TcpRelay(endpoint) { HoldRepliesAfterClientBytes = 64 << 10, Record = false };
        await using var relayB = new TcpRelay(endpoint) { Record = false };
        var a = engine.SendAsync(scratch.Sub("srcA"), "127.0.0.1", relayA.Port, Loopback.Secret, options, cancellationToken: stop.Token);
        while (relayA.ClientByteCount < 64 << 10) await Task.Delay(20, stop.Token);
        var b = engine.SendAsync(scratch.Sub("srcB"), "127.0.0.1", relayB.Port, Loopback.Secret, options, cancellationToken: stop.Token);
        // B's two streams: handshake (40 + 32 bytes), then a record with the transfer header, each.
        while (relayB.Connections < 2 || relayB.ClientByteCount < 2 * (40 + 32 + 22 + 33)) await Task.Delay(20, stop.Token);
        await whileWaiting(endpoint);
        relayA.ReleaseReplies();
        var sentA = await a;
        var sentB = await b;
        await stop.CancelAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        return (sentA, sentB);
    }

    /// <summary>Was refused with "cannot create DEST/.actorsync/tmp": the finishing transfer removed the work area
    /// and its lock file while the waiting one held descriptors to them, so it got a lock on a dead inode.</summary>
    [Fact]
    public async Task Back_to_back_serve_transfers_into_one_dest_both_land()
    {
        using var scratch = new Scratch("backtoback");
        var (a, b) = await BackToBackAsync(scratch, _ => Task.CompletedTask);
        Assert.True(a.ExitCode == 0, a.Error);
        Assert.True(b.ExitCode == 0, b.Error);
        var copy = TreeComparer.Compare(Path.Join(scratch.Sub("srcB"), "bee"), Path.Join(scratch.Sub("dst"), "bee"));
        Assert.True(copy.Identical, string.Join("\n", copy.Differences));
        // A's copy is whole too: the only difference from A's source is B's directory beside it.
        Assert.Equal(["unexpected: bee"], TreeComparer.Compare(scratch.Sub("srcA"), scratch.Sub("dst")).Differences);
    }

    /// <summary>
    /// A one-shot receiver running its transfer refuses a second sender as busy, and its own transfer goes on. Was:
    /// with receive.max-transfers = 1 the refusal was the max-transfers one, which ended the one-shot receiver with
    /// it, aborting the transfer it was running.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task A_second_sender_is_refused_as_busy_and_the_one_shot_transfer_completes(int maxTransfers)
    {
        using var scratch = new Scratch("oneshot-busy");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 500, LargeFileBytes = 4 << 20, Oddities = false, Seed = 3 });
        var options = Loopback.Options(streams: 2) with { MaxTransfers = maxTransfers };
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var receiving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: false, options, cancellationToken: stop.Token);
        // The first transfer is held half way: its answers wait at the relay, so it is running when the second comes.
        await using var relay = new TcpRelay(endpoint) { HoldRepliesAfterClientBytes = 64 << 10, Record = false };
        var first = engine.SendAsync(scratch.Sub("src"), "127.0.0.1", relay.Port, Loopback.Secret, options, cancellationToken: stop.Token);
        while (relay.ClientByteCount < 64 << 10) await Task.Delay(20, stop.Token);

        var second = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", endpoint.Port, Loopback.Secret, options, cancellationToken: stop.Token);
        Assert.Equal(ExitCodes.TransferFailed, second.ExitCode);
        Assert.Contains("busy: this receiver takes one transfer", second.Error);
        relay.ReleaseReplies();
        var sent = await first;
        var received = (await receiving)!;
        Assert.True(sent.ExitCode == 0, sent.Error);
        Assert.True(received.ExitCode == 0, received.Error);
        var copy = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.True(copy.Identical, string.Join("\n", copy.Differences));
    }

    /// <summary>Was stalled: the lock wait slept while holding the server's gate, which the accept loop, every
    /// handshake that joins a transfer and every rejoin take too.</summary>
    [Fact]
    public async Task While_a_transfer_waits_for_dest_the_receiver_still_accepts_and_authenticates_others()
    {
        using var scratch = new Scratch("lockwait");
        var (a, b) = await BackToBackAsync(scratch, async endpoint =>
        {
            // Before, the accept loop itself waited for the gate B held while it slept on DEST's lock (60 s here): this
            // handshake timed out. Now it completes, B still waiting.
            await using var probe = await SecureConnection.ConnectAsync(endpoint, Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(20), CancellationToken.None,
                connectTimeout: TimeSpan.FromSeconds(20), tls: TlsMode.User);
        });
        Assert.True(a.ExitCode == 0 && b.ExitCode == 0, $"{a.Error} / {b.Error}");
    }

    /// <summary>Was exit 3 at the first connection that was not an actorsync client (a port scan, nc -z, a load
    /// balancer's health check): only a peer that sent a proper hello and then failed the proof is an
    /// authentication failure.</summary>
    [Fact]
    public async Task Port_probes_and_stray_requests_do_not_end_a_one_shot_receiver()
    {
        using var scratch = new Scratch("probes");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 50, LargeFileBytes = 0 });
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "probe-test-secret-0123456789abcdef");
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--json"]);
        await Cli.WaitForListenerAsync(port);
        // nc -z: connect and close; an HTTP health check; half a hello then a close.
        foreach (byte[] bytes in new[] { Array.Empty<byte>(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), "ASYN\u0001"u8.ToArray() })
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(IPAddress.Loopback, port);
            if (bytes.Length > 0) await probe.SendAsync(bytes);
            probe.Shutdown(SocketShutdown.Send);
            var answer = new byte[256];
            try { while (await probe.ReceiveAsync(answer) > 0) { } } catch (SocketException) { }
        }
        Assert.False(recv.HasExited, "the receiver exited after port probes");
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key], null, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);
        Assert.Contains("not an actorsync client", received.Stderr);
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    /// <summary>Was held for ever (with DEST's lock and a transfer slot): a peer announcing two streams that brings
    /// one, which says Done and closes cleanly. Every announced stream has a join deadline now.</summary>
    [Fact]
    public async Task Announced_streams_that_never_join_fail_the_transfer_at_the_join_deadline()
    {
        using var scratch = new Scratch("nojoin");
        var options = Loopback.Options(streams: 2) with { JoinTimeout = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(30) };
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var receiving = new ActorSyncEngine(options).ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: false, options);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using (var channel = await SecureConnection.ConnectAsync(listener.LocalEndPoint!, Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(10), CancellationToken.None))
        {
            var frames = new byte[256];
            int n = FrameWriter.TransferHeader(frames, new TransferHeaderFrame(Guid.NewGuid(), 0, 2, 0x1301, 0));
            n += FrameWriter.Done(frames.AsSpan(n), new TransferTotals(0, 0, 0, 0, 0));
            await channel.SendAsync(frames.AsMemory(0, n));
            await channel.CloseAsync();
            var received = (await receiving.WaitAsync(TimeSpan.FromSeconds(20)))!;
            Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
            Assert.Contains("stream 1 of the 2 the sender announced never joined within 1 s", received.Error);
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync")), "DEST's work area (and lock) left behind");
    }
}
