using System.Collections.Concurrent;
using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class PoolTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("pool-tests");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.DisposeAsync();

    [Fact]
    public async Task A_pool_of_4_processes_4_messages_concurrently_and_each_message_exactly_once()
    {
        const int poolSize = 4;
        const int messages = 400;
        var barrier = ActorTestKit.NewSignal(); // opens once poolSize handlers are inside at the same time
        var arrived = 0;
        var perInstanceOverlap = false;
        var handled = new ConcurrentDictionary<int, int>();
        var allHandled = ActorTestKit.NewSignal();
        var actor = _system.Spawn(new Props<int>
        {
            PoolSize = poolSize,
            Factory = () =>
            {
                var busy = 0; // per instance: each instance still handles one message at a time
                return new FuncActor<int>(async (_, m) =>
                {
                    perInstanceOverlap |= Interlocked.Increment(ref busy) > 1;
                    if (m < poolSize)
                    {
                        if (Interlocked.Increment(ref arrived) == poolSize)
                        {
                            barrier.SetResult();
                        }

                        await barrier.Task; // only opens if all 4 instances hold a message at once
                    }
                    else if (m % 7 == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Decrement(ref busy);
                    if (handled.AddOrUpdate(m, 1, (_, n) => n + 1) == 1 && handled.Count == messages)
                    {
                        allHandled.TrySetResult();
                    }
                });
            },
        });

        for (var i = 0; i < messages; i++)
        {
            await actor.TellAsync(i);
        }

        await barrier.Task.WithinEventually();
        await allHandled.Task.WithinEventually();
        Assert.Equal(messages, handled.Count);
        Assert.All(handled, kv => Assert.Equal(1, kv.Value));
        Assert.False(perInstanceOverlap);
    }

    [Fact]
    public async Task Each_pool_instance_is_supervised_on_its_own()
    {
        const int poolSize = 3;
        var instances = 0;
        var allStarted = ActorTestKit.NewSignal(); // no instance takes a message before the whole pool is up
        var handled = new ConcurrentBag<int>();
        var actor = _system.Spawn(new Props<int>
        {
            PoolSize = poolSize,
            Supervisor = SupervisorStrategy.Restart(minBackoff: TimeSpan.Zero),
            Factory = () =>
            {
                if (Interlocked.Increment(ref instances) == poolSize)
                {
                    allStarted.SetResult();
                }

                return new FuncActor<int>(m =>
                {
                    if (m == 0)
                    {
                        throw new TestFailure("one instance fails");
                    }

                    handled.Add(m);
                })
                {
                    OnPreStart = async _ => await allStarted.Task,
                };
            },
        });
        for (var i = 0; i <= 20; i++)
        {
            await actor.TellAsync(i);
        }

        actor.Complete();

        Assert.Null(await actor.StoppedAsync());
        Assert.Equal(poolSize + 1, instances); // only the failed instance was replaced
        Assert.Equal(Enumerable.Range(1, 20), handled.Order());
    }

    [Fact]
    public async Task A_pool_completes_when_all_instances_have_stopped()
    {
        var postStops = 0;
        var actor = _system.Spawn(new Props<int>
        {
            PoolSize = 3,
            Factory = () => new FuncActor<int>(_ => { })
            {
                OnPostStop = () =>
                {
                    Interlocked.Increment(ref postStops);
                    return default;
                },
            },
        });
        for (var i = 0; i < 30; i++)
        {
            await actor.TellAsync(i);
        }

        actor.Complete();

        Assert.Null(await actor.StoppedAsync());
        Assert.Equal(3, postStops);
    }
}
