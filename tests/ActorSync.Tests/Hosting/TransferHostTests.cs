using System.Net;
using ActorSync.Engine;
using ActorSync.Hosting;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Hosting;

/// <summary>The public message protocol of ActorSync's actor in an Akka.NET system, with Akka's TestKit.</summary>
public sealed class TransferHostTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(2);

    private IActorRef NewHost() => Sys.ActorOf(Props.Create(() => new TransferHost(new ActorSyncEngine(Loopback.Options(3), null))));

    [Fact]
    public void A_receive_and_a_send_report_started_progress_and_completed_and_the_tree_arrives()
    {
        using var scratch = new Scratch("akka-host");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 300, LargeFileBytes = 4 << 20 });
        var host = NewHost();
        var receiver = CreateTestProbe();
        var sender = CreateTestProbe();
        host.Tell(new StartReceive(scratch.Sub("dst"), new IPEndPoint(IPAddress.Loopback, 0), Loopback.Secret, ProgressEvery: TimeSpan.FromMilliseconds(20)), receiver.Ref);
        var listening = receiver.ExpectMsg<TransferStarted>(Long);
        Assert.NotNull(listening.ListeningOn);
        Assert.NotEqual(0, listening.ListeningOn!.Port);

        host.Tell(new StartSend(scratch.Sub("src"), "127.0.0.1", listening.ListeningOn.Port, Loopback.Secret, ProgressEvery: TimeSpan.FromMilliseconds(20)), sender.Ref);
        var sending = sender.ExpectMsg<TransferStarted>(Long);
        Assert.Null(sending.ListeningOn);
        var progress = new List<TransferProgress>();
        TransferCompleted? done = null;
        while (done is null)
        {
            var m = sender.ReceiveOne(Long);
            if (m is TransferProgress p) progress.Add(p);
            else done = Assert.IsType<TransferCompleted>(m);
        }
        Assert.Equal(sending.TransferId, done.TransferId);
        Assert.Equal(0, done.Summary.ExitCode);
        Assert.True(done.Final);
        // A last snapshot comes before the completion, whatever the timer did; the counts only grow.
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(sending.TransferId, p.TransferId));
        Assert.Equal(progress.Select(p => p.BytesDone).Order(), progress.Select(p => p.BytesDone));
        Assert.Equal(done.Summary.Files, progress[^1].FilesDone);
        Assert.True(progress[^1].WalkComplete);

        var received = receiver.FishForMessage<TransferCompleted>(_ => true, Long);
        Assert.Equal(0, received.Summary.ExitCode);
        Assert.Equal(listening.TransferId, received.TransferId);
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    [Fact]
    public void A_request_that_cannot_start_is_answered_with_a_failed_completion_and_the_host_goes_on()
    {
        using var scratch = new Scratch("akka-bad");
        var host = NewHost();
        Watch(host);
        host.Tell(new StartSend(scratch.Sub("missing"), "127.0.0.1", 9, Loopback.Secret));
        var started = ExpectMsg<TransferStarted>(Long);
        var done = FishForMessage<TransferCompleted>(_ => true, Long);
        Assert.Equal(started.TransferId, done.TransferId);
        Assert.Equal(ExitCodes.Usage, done.Summary.ExitCode);
        Assert.Contains("is not a directory", done.Summary.Error);

        // A port another receiver listens on: the receive cannot start at all (and does not share the port).
        using var taken = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        host.Tell(new StartReceive(scratch.Sub("dst"), (IPEndPoint)taken.LocalEndPoint!, Loopback.Secret));
        var refused = ExpectMsg<TransferCompleted>(Long);
        Assert.Equal(ExitCodes.Usage, refused.Summary.ExitCode);
        Assert.StartsWith("cannot listen on", refused.Summary.Error);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_cancelled_receive_completes_as_cancelled_and_lets_go_of_its_port()
    {
        using var scratch = new Scratch("akka-cancel");
        var host = NewHost();
        host.Tell(new StartReceive(scratch.Sub("dst"), new IPEndPoint(IPAddress.Loopback, 0), Loopback.Secret, ProgressEvery: TimeSpan.Zero));
        var started = ExpectMsg<TransferStarted>(Long);
        host.Tell(new CancelTransfer(started.TransferId));
        var done = FishForMessage<TransferCompleted>(_ => true, Long);
        Assert.Equal(started.TransferId, done.TransferId);
        Assert.NotEqual(ExitCodes.Success, done.Summary.ExitCode);
        using var again = ActorSyncEngine.Listen(IPAddress.Loopback, started.ListeningOn!.Port);
    }

    [Fact]
    public void Stopping_the_host_cancels_its_transfers_and_their_requesters_hear_of_it()
    {
        using var scratch = new Scratch("akka-stop");
        var host = NewHost();
        host.Tell(new StartReceive(scratch.Sub("dst"), new IPEndPoint(IPAddress.Loopback, 0), Loopback.Secret, ProgressEvery: TimeSpan.Zero));
        var started = ExpectMsg<TransferStarted>(Long);
        Watch(host);
        Sys.Stop(host);
        // The runner stops (and says so) before its parent can.
        var done = ExpectMsg<TransferCompleted>(Long);
        Assert.Equal(started.TransferId, done.TransferId);
        Assert.NotEqual(ExitCodes.Success, done.Summary.ExitCode);
        ExpectTerminated(host, Long);
    }
}
