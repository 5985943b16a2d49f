using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class RouterTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("router-tests");
    private readonly TaskCompletionSource _gate = ActorTestKit.NewSignal();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _gate.TrySetResult();
        await _system.DisposeAsync();
    }

    /// <summary>Routees that start only when the gate opens, so their mailbox counts hold still.</summary>
    private IActorRef<int>[] HeldRoutees(int count) => Enumerable.Range(0, count)
        .Select(i => _system.Spawn(new Props<int>
        {
            Name = $"routee-{i}",
            Factory = () => new FuncActor<int>(_ => { }) { OnPreStart = async _ => await _gate.Task },
        }))
        .ToArray();

    [Fact]
    public void SmallestMailbox_sends_to_the_least_loaded_routee()
    {
        var routees = HeldRoutees(3);
        Fill(routees[0], 3);
        Fill(routees[1], 1);
        Fill(routees[2], 2);
        var router = Router.SmallestMailbox(routees, "/user/router");

        Assert.True(router.TryTell(42));
        Assert.Equal([3, 2, 2], routees.Select(r => r.MailboxCount));

        Assert.True(router.TryTell(43)); // routee-1 and routee-2 tie at 2: one of them gets it, never routee-0
        Assert.Equal(3, routees[0].MailboxCount);
        Assert.Equal([2, 3], routees.Skip(1).Select(r => r.MailboxCount).Order());
        Assert.Equal(8, router.MailboxCount);
    }

    [Fact]
    public async Task SmallestMailbox_breaks_ties_round_robin()
    {
        var routees = HeldRoutees(3);
        var router = Router.SmallestMailbox(routees, "/user/router");

        for (var i = 0; i < 6; i++)
        {
            await router.TellAsync(i);
        }

        Assert.Equal([2, 2, 2], routees.Select(r => r.MailboxCount));
    }

    [Fact]
    public async Task SmallestMailbox_skips_stopped_routees()
    {
        var stopped = _system.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { }), "stopped"));
        stopped.Stop();
        await stopped.Completion.WithinEventually();
        var live = HeldRoutees(2);
        var router = Router.SmallestMailbox([stopped, .. live], "/user/router");

        for (var i = 0; i < 4; i++)
        {
            Assert.True(router.TryTell(i));
        }

        await router.TellAsync(4);
        Assert.Equal([2, 3], live.Select(r => r.MailboxCount).Order());
        Assert.False(router.IsTerminated);
    }

    [Fact]
    public async Task Router_Complete_and_Completion_cover_all_routees()
    {
        var routees = HeldRoutees(2);
        var router = Router.SmallestMailbox(routees, "/user/router");
        await router.TellAsync(1);
        await router.TellAsync(2);

        router.Complete();
        Assert.False(router.TryTell(3));
        await Assert.ThrowsAsync<ActorTerminatedException>(() => router.TellAsync(4).AsTask());
        _gate.SetResult();

        await router.Completion.WithinEventually();
        Assert.All(routees, r => Assert.True(r.IsTerminated));
        Assert.True(router.IsTerminated);
    }

    private static void Fill(IActorRef<int> routee, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(routee.TryTell(i));
        }
    }
}
