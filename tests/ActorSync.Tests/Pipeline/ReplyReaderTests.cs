using ActorSync.Sending;
using ActorSync.Tests.Support;
using ActorSync.Transport.Frames;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Pipeline;

/// <summary>
/// What a stream's receiver says, read by a child actor of the stream: acknowledgements go to the stream, file acks and
/// the receiver's last word to the coordinator, and the connection's end stops the reader (death-watch) with the stream
/// told it is lost. With Akka's TestKit; a scripted channel stands in for the connection.
/// </summary>
public sealed class ReplyReaderTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private (ScriptedChannel Channel, Akka.TestKit.TestProbe Coordinator, Task Ended) Start()
    {
        var channel = new ScriptedChannel();
        var coordinator = CreateTestProbe();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Sys.ActorOf(Props.Create(() => new TestParent(
            Props.Create(() => new ReplyReader(channel, new FrameReader(channel), 3, coordinator.Ref, CancellationToken.None, ended)), TestActor)));
        return (channel, coordinator, ended.Task);
    }

    private static byte[] Frame(Func<byte[], int> write)
    {
        byte[] buffer = new byte[256];
        return buffer[..write(buffer)];
    }

    [Fact]
    public async Task Acknowledgements_go_to_the_stream_and_the_connections_end_is_reported_and_stops_the_reader()
    {
        var (channel, coordinator, ended) = Start();
        channel.Feed(Frame(b => FrameWriter.StreamOffset(b, FrameType.StreamAck, 300)));
        channel.Feed(Frame(b => FrameWriter.Ack(b, [1, 2, 3])));
        channel.Feed(Frame(b => FrameWriter.StreamOffset(b, FrameType.StreamAck, 900)));
        Assert.Equal(300, ExpectMsg<ReplyReader.Acknowledged>(Long).Offset);
        var reader = LastSender;
        Watch(reader);
        Assert.Equal(900, ExpectMsg<ReplyReader.Acknowledged>(Long).Offset);
        Assert.Equal(3, coordinator.ExpectMsg<SendEvent.Acked>(Long).Files);
        Assert.False(ended.IsCompleted);

        channel.End();
        // The loss comes by way of the parent, the Terminated straight from death-watch: either may be first.
        var last = ReceiveN(2, Long);
        Assert.Contains(last, m => m is ReplyReader.Lost);
        Assert.Contains(last, m => m is Terminated t && t.ActorRef.Equals(reader));
        await ended.WaitAsync(Long);
    }

    [Fact]
    public async Task The_receivers_error_goes_to_the_coordinator_and_ends_the_reader_without_a_loss()
    {
        var (channel, coordinator, ended) = Start();
        channel.Feed(Frame(b => FrameWriter.Error(b, new ErrorFrame(ErrorCode.Failed, "disk full"))));
        var failed = coordinator.ExpectMsg<SendEvent.StreamFailed>(Long);
        var reader = coordinator.LastSender;
        Watch(reader);
        Assert.Equal(3, failed.Stream);
        Assert.Contains("the receiver reports: disk full", failed.Error.Message, StringComparison.Ordinal);
        ExpectTerminated(reader, Long);
        await ended.WaitAsync(Long);
        ExpectNoMsg(TimeSpan.Zero);
    }
}
