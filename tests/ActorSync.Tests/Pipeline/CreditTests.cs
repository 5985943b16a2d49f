using ActorSync.Engine;
using ActorSync.Receiving;
using ActorSync.Tests.Support;
using ActorSync.Transport.Frames;
using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Pipeline;

/// <summary>
/// Backpressure on the receiver without blocking: a connection has a window of credits per writer, spends one per
/// command, and stops reading its stream when a writer has none left; the writer grants them back in halves as it
/// works. With Akka's TestKit, probes standing in for the writer or the connection.
/// </summary>
public sealed class CreditTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static async Task<ReceiveSession> SessionAsync(Scratch scratch, TransferOptions options)
    {
        var tree = await DestinationTree.OpenAsync(scratch.Sub("dst"), TimeSpan.FromSeconds(5), CancellationToken.None);
        return new ReceiveSession(Guid.NewGuid(), tree, new BufferPool(options.ChunkSize, 8), new TransferStats(), options,
            new OwnershipPolicy(false, false, tree.CreatedGid), CancellationToken.None);
    }

    [Fact]
    public async Task A_connection_reads_no_further_than_its_credits_at_a_writer_allow_and_on_with_each_grant()
    {
        using var scratch = new Scratch("credits-connection");
        var options = new TransferOptions { Writers = 1, WriterCredits = 16 };
        var session = await SessionAsync(scratch, options);
        const int Links = 40;
        var stream = new List<byte>();
        var frame = new byte[512];
        for (int i = 0; i < Links; i++)
            stream.AddRange(frame.AsSpan(0, FrameWriter.Symlink(frame, new SymlinkFrame($"l{i:D2}", "target", new FileTime(1, 0)))).ToArray());
        stream.AddRange(frame.AsSpan(0, FrameWriter.Done(frame, new TransferTotals(0, 0, Links, 0, 0))).ToArray());
        var channel = new BytesChannel([.. stream], []);
        var writer = CreateTestProbe();
        Sys.ActorOf(Props.Create(() => new TestParent(
            Props.Create(() => new ConnectionReceiver(session, 0, channel, new FrameReader(channel), new[] { writer.Ref }, new StreamProgress(), NullLogger.Instance)), TestActor)));

        Assert.Equal(16, Commands(writer, 16));
        var connection = writer.LastSender;
        // Out of credits at the writer: the stream is not read on, though 24 more links are waiting in it.
        writer.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        connection.Tell(new WriterCredits(0, 8), writer.Ref);
        Assert.Equal(8, Commands(writer, 8));
        writer.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        ExpectNoMsg(TimeSpan.Zero);

        connection.Tell(new WriterCredits(0, 24), writer.Ref);
        Assert.Equal(16, Commands(writer, 16));
        Assert.Equal(Links, ExpectMsg<ReceiveEvent.StreamDone>(Long).Totals.Symlinks);
        session.Tree.Dispose();
    }

    /// <summary>Commands received in batches until <paramref name="expected"/> have come (or, past it, how many did).</summary>
    private static int Commands(Akka.TestKit.TestProbe writer, int expected)
    {
        int n = 0;
        while (n < expected)
        {
            var batch = writer.ExpectMsg<WriteBatch>(Long);
            Assert.All(batch.Commands, c => Assert.Equal(WriteKind.Symlink, c.Kind));
            n += batch.Commands.Length;
        }
        return n;
    }

    [Fact]
    public async Task A_writer_grants_a_connections_credits_back_in_halves_as_it_takes_its_commands()
    {
        using var scratch = new Scratch("credits-writer");
        var options = new TransferOptions { Writers = 1, WriterCredits = 16 };
        var session = await SessionAsync(scratch, options);
        var connection = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new TestParent(Props.Create(() => new FileWriter(session, 0, NullLogger.Instance)), TestActor)));

        for (int i = 0; i < 16; i++)
            parent.Tell(new WriteBatch([WriteCommand.ForSymlink(new SymlinkFrame($"l{i:D2}", "target", new FileTime(1, 0)))]), connection.Ref);
        Assert.Equal(new WriterCredits(0, 8), connection.ExpectMsg<WriterCredits>(Long));
        Assert.Equal(new WriterCredits(0, 8), connection.ExpectMsg<WriterCredits>(Long));
        for (int i = 0; i < 16; i++) Assert.Equal(EntryType.Symlink, ExpectMsg<ReceiveEvent.EntryCommitted>(Long).Type);
        Assert.Equal(16, Directory.EnumerateFileSystemEntries(scratch.Sub("dst")).Count(p => Path.GetFileName(p).StartsWith('l')));
        session.Tree.Dispose();
    }
    /// <summary>
    /// A stream that goes quiet is acknowledged as soon as 128 KiB (FrameLimits.QuietAckBytes) are unacknowledged, not
    /// only every 512 KiB: a sender holding pooled buffers for what it sent gets them back although no regular
    /// acknowledgement is due. 100 KiB then going quiet draws no StreamAck; 100 KiB more does, for all 200.
    /// </summary>
    [Fact]
    public async Task A_stream_that_goes_quiet_is_acknowledged_once_128_KiB_are_unacknowledged()
    {
        using var scratch = new Scratch("quiet-ack");
        var options = new TransferOptions { Writers = 1 };
        var session = await SessionAsync(scratch, options);
        var channel = new ScriptedChannel();
        var progress = new StreamProgress();
        Sys.ActorOf(Props.Create(() => new TestParent(
            Props.Create(() => new ConnectionReceiver(session, 0, channel, new FrameReader(channel), new[] { CreateTestProbe().Ref }, progress, NullLogger.Instance)), TestActor)));

        byte[] padding = new byte[100 << 10];
        FrameWriter.Padding(padding, padding.Length);
        channel.Feed(padding);
        // Taken in, and the connection waits on its channel: under 128 KiB, nothing is due.
        AwaitCondition(() => progress.Consumed == padding.Length, Long);
        Assert.False(channel.Sent.TryRead(out _));
        channel.Feed(padding);
        using var wait = new CancellationTokenSource(Long);
        byte[] ack = await channel.Sent.ReadAsync(wait.Token);
        Assert.Equal(FrameType.StreamAck, (FrameType)ack[0]);
        Assert.Equal(2L * padding.Length, FrameParser.StreamOffset(ack.AsSpan(FrameLimits.HeaderLength)));
        Assert.False(channel.Sent.TryRead(out _));
        session.Tree.Dispose();
    }
}
