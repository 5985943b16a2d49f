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

/// <summary>A --serve receiver stays within its connection and transfer caps, and keeps serving after.</summary>
public sealed class ServeLimitTests
{
    [Fact]
    public async Task Connections_past_the_cap_are_closed_at_once_and_slow_handshakes_time_out()
    {
        using var scratch = new Scratch("conncap");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false });
        var options = Loopback.Options(streams: 2) with { MaxConnections = 2, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        var engine = new ActorSyncEngine(options);
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var stop = new CancellationTokenSource();
        var serving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: true, options, cancellationToken: stop.Token);

        var silent = new List<Socket>();
        for (int i = 0; i < 3; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(endpoint);
            silent.Add(s);
        }
        var buffer = new byte[1];
        // The third is over the cap (accepts go in order): closed without a word, while the first two hold their
        // slots until the handshake timeout (5 s) drops them.
        var third = silent[2].ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask();
        var first = silent[0].ReceiveAsync(new byte[1].AsMemory(), SocketFlags.None).AsTask();
        Assert.Same(third, await Task.WhenAny(third, first).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await third);
        Assert.False(first.IsCompleted, "a slot holder was dropped before its handshake timeout");
        Assert.Equal(0, await first.WaitAsync(TimeSpan.FromSeconds(30)));
        foreach (var s in silent) s.Dispose();
        // Whether or not the server has let go of the second yet, the sender's streams get in (one may retry).

        var sent = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", endpoint.Port, Loopback.Secret, options);
        Assert.True(sent.ExitCode == 0, sent.Error);
        await stop.CancelAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    /// <summary>A slow loris: a valid-looking handshake a byte at a time, each byte well inside any per-read
    /// timeout. The handshake timeout is a deadline for the whole exchange, so the peer is dropped on time.</summary>
    [Fact]
    public async Task A_trickled_handshake_is_dropped_at_the_deadline_garbage_is_refused_and_serving_goes_on()
    {
        using var scratch = new Scratch("loris");
        var options = Loopback.Options(streams: 1) with { HandshakeTimeout = TimeSpan.FromSeconds(1) };
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var serving = new ActorSyncEngine(options).ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: true, options, cancellationToken: stop.Token);
        using var loris = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await loris.ConnectAsync(listener.LocalEndPoint!);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var hello = new byte[72];
        "ASYN"u8.CopyTo(hello);
        bool dropped = false;
        for (int i = 0; i < hello.Length && !dropped; i++)
        {
            try { await loris.SendAsync(hello.AsMemory(i, 1), SocketFlags.None); }
            catch (SocketException) { dropped = true; break; }
            await Task.Delay(150);
            dropped = loris.Poll(0, SelectMode.SelectRead) && loris.Available == 0;   // readable with nothing to read: closed
        }
        Assert.True(dropped, "the trickling peer was never dropped");
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Assert.False(Directory.Exists(scratch.Sub("dst")));

        // Then garbage, then a truncated hello: refused, nothing created, and the server still serves.
        foreach (byte[] junk in new[] { System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + new string('x', 100)), "ASYN"u8.ToArray() })
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await peer.ConnectAsync(listener.LocalEndPoint!);
            await peer.SendAsync(junk, SocketFlags.None);
            peer.Shutdown(SocketShutdown.Send);
            var answer = new byte[256];
            try { while (await peer.ReceiveAsync(answer, SocketFlags.None) > 0) { } } catch (SocketException) { }
        }
        Assert.False(Directory.Exists(scratch.Sub("dst")));
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false });
        var sent = await new ActorSyncEngine(options).SendAsync(scratch.Sub("src"), "127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, Loopback.Secret, options);
        Assert.True(sent.ExitCode == ExitCodes.Success, sent.Error);
        await stop.CancelAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        var copy = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.True(copy.Identical, string.Join("\n", copy.Differences));
    }

    [Fact]
    public async Task Transfers_past_the_cap_are_refused_as_busy_and_served_once_there_is_room()
    {
        using var scratch = new Scratch("xfercap");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false });
        var options = Loopback.Options(streams: 1) with { MaxTransfers = 1, RejoinGrace = TimeSpan.FromMilliseconds(300), IdleTimeout = TimeSpan.FromSeconds(30) };
        var engine = new ActorSyncEngine(options);
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var stop = new CancellationTokenSource();
        var done = new ConcurrentQueue<TransferSummary>();
        var serving = engine.ReceiveAsync(scratch.Sub("other"), listener, Loopback.Secret, serve: true, options, onTransfer: done.Enqueue, cancellationToken: stop.Token);

        // A transfer that announces two streams and brings one: it stays open, taking the only slot.
        var holder = await SecureConnection.ConnectAsync(endpoint, Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(5), CancellationToken.None);
        var header = new byte[64];
        int n = FrameWriter.TransferHeader(header, new TransferHeaderFrame(Guid.NewGuid(), 0, 2, 0x1301, 0));
        await holder.SendAsync(header.AsMemory(0, n));
        // The held transfer has started once it holds DEST's lock.
        while (!File.Exists(Path.Join(scratch.Sub("other"), ".actorsync", "lock"))) await Task.Delay(10);

        var refused = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", endpoint.Port, Loopback.Secret, options);
        Assert.Equal(ExitCodes.TransferFailed, refused.ExitCode);
        Assert.Contains("max-transfers", refused.Error);

        holder.Abort();   // the held transfer loses its stream and fails after the rejoin grace
        for (int i = 0; i < 600 && done.IsEmpty; i++) await Task.Delay(50);
        Assert.Single(done);
        var sent = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", endpoint.Port, Loopback.Secret, options);
        Assert.True(sent.ExitCode == 0, sent.Error);
        await stop.CancelAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("other")).Identical);
    }
}
