using ActorSync.Cluster;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Cluster;

/// <summary>A sender node's worker in an actor system without ActorSync's configuration (no actorsync-* dispatchers):
/// a unit it cannot start fails for good, with the reason, instead of staying "running" for ever.</summary>
public sealed class UnitSenderTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    [Fact]
    public void A_unit_whose_transfer_cannot_start_fails_fatally_with_the_reason()
    {
        using var scratch = new Scratch("unit-sender");
        Directory.CreateDirectory(scratch.Sub("src"));
        var coordinator = CreateTestProbe();
        var secret = ActorSync.Transport.Handshake.SharedSecret.FromText(new string('k', 64), "test");
        var sender = Sys.ActorOf(Props.Create(() => new UnitSender(coordinator.Ref, secret, new TransferOptions(), NullLoggerFactory.Instance)));
        coordinator.ExpectMsg<PullUnits>();
        var job = Guid.NewGuid();
        var transfer = Guid.NewGuid();
        sender.Tell(new RunUnit(job, 7, transfer, scratch.Sub("src"), "", "127.0.0.1", 9, 1), coordinator.Ref);
        var failed = coordinator.FishForMessage<UnitFailed>(m => m is UnitFailed, TimeSpan.FromSeconds(20));
        Assert.Equal((job, 7L, transfer), (failed.JobId, failed.UnitId, failed.TransferId));
        Assert.True(failed.Fatal);
        Assert.Contains("stopped before it ended", failed.Reason);
    }
}
