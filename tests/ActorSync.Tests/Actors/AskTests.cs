using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class AskTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("ask-tests");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.DisposeAsync();

    private sealed record Square(int Value, IReplyTo<int> ReplyTo);

    [Fact]
    public async Task Ask_returns_the_reply()
    {
        var actor = _system.Spawn(Props.Create<Square>(() => new FuncActor<Square>(m => m.ReplyTo.Reply(m.Value * m.Value))));

        var reply = await actor.AskAsync<Square, int>(r => new Square(7, r), ActorTestKit.Eventually);

        Assert.Equal(49, reply);
    }

    [Fact]
    public async Task Ask_times_out_when_the_actor_never_replies()
    {
        var actor = _system.Spawn(Props.Create<Square>(() => new FuncActor<Square>(_ => { })));

        var ask = actor.AskAsync<Square, int>(r => new Square(1, r), TimeSpan.FromMilliseconds(100));

        Assert.Same(ask, await Task.WhenAny(ask, Task.Delay(ActorTestKit.Eventually))); // it gives up by itself
        await Assert.ThrowsAsync<TimeoutException>(() => ask);
    }

    [Fact]
    public async Task Ask_surfaces_a_failure_reply()
    {
        var actor = _system.Spawn(Props.Create<Square>(() => new FuncActor<Square>(m => m.ReplyTo.Fail(new TestFailure("nope")))));

        var error = await Assert.ThrowsAsync<TestFailure>(() => actor.AskAsync<Square, int>(r => new Square(1, r), ActorTestKit.Eventually));

        Assert.Equal("nope", error.Message);
    }

    [Fact]
    public async Task Ask_fails_fast_when_the_actor_stops_without_replying()
    {
        var actor = _system.Spawn(new Props<Square>
        {
            Factory = () => new FuncActor<Square>(_ => throw new TestFailure("dead")),
            Supervisor = SupervisorStrategy.StoppingStrategy,
        });

        await Assert.ThrowsAsync<ActorTerminatedException>(
            () => actor.AskAsync<Square, int>(r => new Square(1, r), ActorTestKit.Eventually).WithinEventually());
    }

    [Fact]
    public async Task Ask_honours_the_callers_cancellation()
    {
        var actor = _system.Spawn(Props.Create<Square>(() => new FuncActor<Square>(_ => { })));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => actor.AskAsync<Square, int>(r => new Square(1, r), ActorTestKit.Eventually, cts.Token));
    }
}
