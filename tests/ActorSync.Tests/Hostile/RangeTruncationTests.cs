using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// Large files on kernel-TLS hosts go out by reference (sendfile): the kernel reads their bytes only when a
/// stream sends them. A source file cut short while its ranges are in flight, or before a lost stream re-sends
/// them, is reported once by name and not committed (exit 1); before, every such range sent its own FileAbort
/// and the receiver called the second one a protocol violation (exit 4, "file 1 aborted twice"). The file-range
/// path is forced on userspace streams here (this host has no kTLS); it is the same code above the channel.
/// </summary>
public sealed class RangeTruncationTests
{
    private static TransferOptions Options(int streams) => Loopback.Options(streams) with { FileRangesForTests = true, BufferMemory = 8 << 20, MinBackoff = TimeSpan.FromMilliseconds(50) };

    [Fact]
    public async Task A_file_truncated_while_its_ranges_are_in_flight_is_aborted_once_and_reported()
    {
        using var scratch = new Scratch("truncate");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 200, EmptyFiles = 5, LargeFileBytes = 0, Oddities = false });
        RandomFile.Write(Path.Join(src, "big/shard.bin"), 64 << 20, 1);
        var options = Options(streams: 4);
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        // The receiver's acks are held once 16 MiB went over: the sender's 8 MiB pool fills with ranges of the
        // 64 MiB file, and the sender stalls with the rest of it still to go.
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port)) { HoldRepliesAfterClientBytes = 16 << 20, Record = false };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var receiving = engine.ReceiveAsync(dst, listener, Loopback.Secret, serve: false, options, cancellationToken: cts.Token);
        var sending = engine.SendAsync(src, "127.0.0.1", relay.Port, Loopback.Secret, options, cancellationToken: cts.Token);
        // Past 16 MiB the acks are held: shard.bin's ranges are on the wire, and at most its first 24 MiB can ever go
        // out before the replies are released (16 MiB, then the 8 MiB pool), so most of its ranges meet the cut.
        while (relay.ClientByteCount < 16 << 20) await Task.Delay(10, cts.Token);
        new FileInfo(Path.Join(src, "big/shard.bin")).Open(FileMode.Open).SetLength(1 << 20);
        relay.ReleaseReplies();

        var sent = await sending;
        var received = (await receiving)!;
        Assert.True(sent.ExitCode == ExitCodes.TransferFailed, sent.Error);
        Assert.True(received.ExitCode == ExitCodes.TransferFailed, received.Error);
        string problem = Assert.Single(sent.Problems);
        Assert.StartsWith("big/shard.bin: ", problem);
        Assert.Equal("the sender could not read 1 entry (see its output); they were not copied", received.Error);
        Assert.False(File.Exists(Path.Join(dst, "big/shard.bin")), "a truncated file was committed");
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync", "tmp")), "temporaries left behind");
        // 205 generated files and the shard: all but the shard sent and committed.
        Assert.Equal(205, sent.Files);
        Assert.Equal(205, received.Files);
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 205, string.Join("\n", whole.Differences));
    }

    [Fact]
    public async Task A_file_cut_before_a_lost_stream_re_sends_its_ranges_is_aborted_once_not_committed()
    {
        using var scratch = new Scratch("resend-cut");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        RandomFile.Write(Path.Join(src, "a.txt"), 1000, 2);
        RandomFile.Write(Path.Join(src, "big.bin"), 32 << 20, 3);
        var options = Options(streams: 1);
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        // The one stream's bytes stop reaching the receiver after 2 MiB: what the sender sends next is in flight
        // (in kernel buffers) and unacknowledged when the connection is then reset, so the rejoin re-sends it,
        // reading the source again, which by then is 1 MiB long.
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port)) { HoldFirstClientAfter = 2 << 20, Record = false };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var receiving = engine.ReceiveAsync(dst, listener, Loopback.Secret, serve: false, options, cancellationToken: cts.Token);
        var sending = engine.SendAsync(src, "127.0.0.1", relay.Port, Loopback.Secret, options, cancellationToken: cts.Token);
        await relay.FirstHeldWithBytesWaiting.WaitAsync(cts.Token);
        new FileInfo(Path.Join(src, "big.bin")).Open(FileMode.Open).SetLength(1 << 20);
        relay.ResetFirst();

        var sent = await sending;
        var received = (await receiving)!;
        Assert.True(sent.ExitCode == ExitCodes.TransferFailed, sent.Error);
        Assert.True(received.ExitCode == ExitCodes.TransferFailed, received.Error);
        // Cut while the stream was lost: the re-send finds it first (almost always), or a range sent after the
        // reconnect does; either way one abort, the file named once.
        Assert.Matches("^big.bin: (changed while being read, not copied \\(a re-run copies it\\): changed before a lost stream re-sent it|source file ended .*)$", Assert.Single(sent.Problems));
        Assert.False(File.Exists(Path.Join(dst, "big.bin")), "a file cut short was committed");
        Assert.Equal(2, relay.Connections);
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 1, string.Join("\n", whole.Differences));
    }

    /// <summary>
    /// The whole of a small large-file is sent, its FileEnd and the Done behind it, and none of it reaches the
    /// receiver before the stream is lost; the source is then rewritten in place. The rejoin reads the ranges again,
    /// finds the change, and the FileAbort must come before the FileEnd and the Done it had already sent once
    /// (before: "FileAbort frame after Done", exit 4, or, had the bytes been read unchecked, the new content
    /// committed under the old verdict).
    /// </summary>
    [Fact]
    public async Task A_file_rewritten_before_a_lost_stream_re_sends_it_is_aborted_ahead_of_its_end_and_the_done()
    {
        using var scratch = new Scratch("resend-rewrite");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        RandomFile.Write(Path.Join(src, "a.txt"), 200_000, 4);
        RandomFile.Write(Path.Join(src, "big.bin"), 1 << 20, 5);
        var options = Options(streams: 1);
        var engine = new ActorSyncEngine(options, FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        // Held 64 KiB in: past the handshake and the one Offer (answered), inside a.txt. The rest (a.txt's tail, the
        // four ranges of big.bin, its FileEnd, the Done) fits in the kernel's buffers, so the sender has sent it all
        // when the relay reports the stream held.
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port)) { HoldFirstClientAfter = 64 << 10, Record = false };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var receiving = engine.ReceiveAsync(dst, listener, Loopback.Secret, serve: false, options, cancellationToken: cts.Token);
        var sending = engine.SendAsync(src, "127.0.0.1", relay.Port, Loopback.Secret, options, cancellationToken: cts.Token);
        await relay.FirstHeldWithBytesWaiting.WaitAsync(cts.Token);
        RandomFile.Write(Path.Join(src, "big.bin"), 1 << 20, 6);   // same size, other bytes, new mtime
        relay.ResetFirst();

        var sent = await sending;
        var received = (await receiving)!;
        Assert.True(sent.ExitCode == ExitCodes.TransferFailed, sent.Error);
        Assert.True(received.ExitCode == ExitCodes.TransferFailed, received.Error);
        Assert.Equal("big.bin: changed while being read, not copied (a re-run copies it): changed before a lost stream re-sent it", Assert.Single(sent.Problems));
        Assert.False(File.Exists(Path.Join(dst, "big.bin")), "a file changed before its re-send was committed");
        Assert.Equal(2, relay.Connections);
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 1, string.Join("\n", whole.Differences));
    }
}
