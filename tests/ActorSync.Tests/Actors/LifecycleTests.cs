using System.Collections.Concurrent;
using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class LifecycleTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("lifecycle-tests");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.DisposeAsync();

    [Fact]
    public async Task Complete_drains_queued_messages_then_stops_running_PostStop_once()
    {
        var gate = ActorTestKit.NewSignal();
        var handled = new ConcurrentQueue<int>();
        var postStops = 0;
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(handled.Enqueue)
            {
                OnPreStart = async _ => await gate.Task,
                OnPostStop = () =>
                {
                    Interlocked.Increment(ref postStops);
                    return default;
                },
            },
        });
        for (var i = 0; i < 5; i++)
        {
            await actor.TellAsync(i);
        }

        actor.Complete();
        Assert.False(actor.TryTell(99));
        await Assert.ThrowsAsync<ActorTerminatedException>(() => actor.TellAsync(100).AsTask());
        Assert.False(actor.IsTerminated);
        gate.SetResult();

        Assert.Null(await actor.StoppedAsync());
        Assert.Equal([0, 1, 2, 3, 4], handled);
        Assert.Equal(1, postStops);
    }

    [Fact]
    public async Task Context_exposes_self_parent_system_and_paths()
    {
        var seen = ActorTestKit.NewSignal<(ActorContext Parent, ActorContext Child)>();
        ActorContext? parentContext = null;
        var parent = _system.Spawn(new Props<int>
        {
            Name = "parent",
            Factory = () => new FuncActor<int>(_ => { })
            {
                OnPreStart = ctx =>
                {
                    parentContext = ctx;
                    ctx.Spawn(new Props<int>
                    {
                        Name = "kid",
                        Factory = () => new FuncActor<int>(_ => { })
                        {
                            OnPreStart = childCtx =>
                            {
                                seen.SetResult((parentContext, childCtx));
                                return default;
                            },
                        },
                    });
                    return default;
                },
            },
        });

        var (p, c) = await seen.Task.WithinEventually();
        Assert.Same(parent, p.Self);
        Assert.Null(p.Parent);
        Assert.Same(_system, p.System);
        Assert.Same(parent, c.Parent);
        Assert.Equal("/user/parent", p.Self.Path);
        Assert.Equal("/user/parent/kid", c.Self.Path);
        Assert.Equal(0, c.RestartCount);
        Assert.StartsWith("/user/$", _system.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { }))).Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Children_stop_when_the_parent_stops_and_before_its_PostStop()
    {
        var child = ActorTestKit.NewSignal<IActorRef<int>>();
        var childDoneBeforeParentPostStop = ActorTestKit.NewSignal<bool>();
        var parent = _system.Spawn(new Props<int>
        {
            Factory = () =>
            {
                IActorRef<int>? kid = null;
                return new FuncActor<int>(_ => { })
                {
                    OnPreStart = ctx =>
                    {
                        kid = ctx.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { })));
                        child.SetResult(kid);
                        return default;
                    },
                    OnPostStop = () =>
                    {
                        childDoneBeforeParentPostStop.SetResult(kid!.IsTerminated);
                        return default;
                    },
                };
            },
        });
        var kidRef = await child.Task.WithinEventually();

        parent.Stop();

        Assert.Null(await kidRef.StoppedAsync());
        Assert.Null(await parent.StoppedAsync());
        Assert.True(await childDoneBeforeParentPostStop.Task.WithinEventually());
    }

    [Fact]
    public async Task ShutdownAsync_drains_and_stops_every_actor_including_children()
    {
        var handled = 0;
        var children = new ConcurrentQueue<IActorRef<int>>();
        var actors = Enumerable.Range(0, 3).Select(i => _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(async (_, _) =>
            {
                await Task.Yield();
                Interlocked.Increment(ref handled);
            })
            {
                OnPreStart = ctx =>
                {
                    children.Enqueue(ctx.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => Interlocked.Increment(ref handled)))));
                    return default;
                },
            },
        })).ToArray();
        await ActorTestKit.UntilAsync(() => children.Count == 3);
        foreach (var actor in actors)
        {
            for (var i = 0; i < 10; i++)
            {
                await actor.TellAsync(i);
            }
        }

        foreach (var kid in children)
        {
            await kid.TellAsync(1);
        }

        await _system.ShutdownAsync(ActorTestKit.Eventually).WithinEventually();

        Assert.All(actors, a => Assert.True(a.IsTerminated));
        Assert.All(children, c => Assert.True(c.IsTerminated));
        Assert.Equal(33, handled); // an orderly shutdown loses nothing that was queued
        Assert.Throws<InvalidOperationException>(() => _system.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { }))));
    }

    [Fact]
    public async Task ShutdownAsync_stops_actors_that_do_not_drain_in_time()
    {
        var gate = ActorTestKit.NewSignal();
        var inHandler = ActorTestKit.NewSignal();
        var handled = 0;
        var postStopped = ActorTestKit.NewSignal();
        var slow = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(async (_, _) =>
            {
                inHandler.TrySetResult();
                await gate.Task;
                Interlocked.Increment(ref handled);
            })
            {
                OnPostStop = () =>
                {
                    postStopped.SetResult();
                    return default;
                },
            },
        });
        for (var i = 0; i < 5; i++)
        {
            await slow.TellAsync(i);
        }

        await inHandler.Task.WithinEventually();
        var shutdown = _system.ShutdownAsync(TimeSpan.FromMilliseconds(100));
        // Past the drain timeout the system gives up and calls Stop(); wait for that (an internal flag) rather
        // than for a time, so a slow machine cannot open the gate first.
        await ActorTestKit.UntilAsync(() => ((LocalActorRef<int>)slow).StopRequested);
        gate.SetResult();
        await shutdown.WithinEventually();

        Assert.True(slow.IsTerminated);
        Assert.True(postStopped.Task.IsCompleted);
        Assert.Equal(1, handled); // the message in progress finished; the 4 queued behind it were dropped
    }
}
