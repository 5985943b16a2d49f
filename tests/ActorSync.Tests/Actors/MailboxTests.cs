using System.Collections.Concurrent;
using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class MailboxTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("mailbox-tests");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.DisposeAsync();

    [Fact]
    public async Task Handles_one_message_at_a_time_in_fifo_order_per_producer()
    {
        const int producers = 4;
        const int perProducer = 500;
        var active = 0;
        var maxActive = 0;
        var processed = 0;
        var lastSeq = new int[producers];
        Array.Fill(lastSeq, -1);
        var outOfOrder = 0;
        var done = ActorTestKit.NewSignal();

        var actor = _system.Spawn(new Props<(int Producer, int Seq)>
        {
            Factory = () => new FuncActor<(int Producer, int Seq)>(async (_, m) =>
            {
                var now = Interlocked.Increment(ref active);
                InterlockedMax(ref maxActive, now);
                if (m.Seq % 3 == 0)
                {
                    await Task.Yield(); // an asynchronous handler must still hold the actor until it completes
                }

                if (m.Seq != lastSeq[m.Producer] + 1)
                {
                    outOfOrder++;
                }

                lastSeq[m.Producer] = m.Seq;
                Interlocked.Decrement(ref active);
                if (++processed == producers * perProducer)
                {
                    done.SetResult();
                }
            }),
            MailboxCapacity = 8, // small, so producers also exercise the waiting path
        });

        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i++)
            {
                await actor.TellAsync((p, i));
            }
        })));
        await done.Task.WithinEventually();

        Assert.Equal(1, Volatile.Read(ref maxActive));
        Assert.Equal(0, outOfOrder);
        Assert.All(lastSeq, last => Assert.Equal(perProducer - 1, last));
    }

    [Fact]
    public async Task TellAsync_waits_while_the_mailbox_is_full_until_the_actor_consumes()
    {
        const int capacity = 4;
        var gate = ActorTestKit.NewSignal();
        var inHandler = ActorTestKit.NewSignal();
        var received = new ConcurrentQueue<int>();
        var allReceived = ActorTestKit.NewSignal();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(async (_, m) =>
            {
                inHandler.TrySetResult();
                await gate.Task;
                received.Enqueue(m);
                if (received.Count == capacity + 2)
                {
                    allReceived.SetResult();
                }
            }),
            MailboxCapacity = capacity,
        });

        await actor.TellAsync(0);
        await inHandler.Task.WithinEventually(); // message 0 is out of the mailbox, held by the gate
        for (var i = 1; i <= capacity; i++)
        {
            Assert.True(actor.TellAsync(i).IsCompletedSuccessfully, $"message {i} fits and must not wait");
        }

        var blocked = actor.TellAsync(capacity + 1).AsTask(); // the (capacity+1)-th queued message
        await Task.Delay(50); // give a broken kernel the chance to let it through
        Assert.False(blocked.IsCompleted, "TellAsync must wait while the mailbox is full");
        Assert.False(actor.TryTell(99));
        Assert.Equal(capacity, actor.MailboxCount);

        gate.SetResult();
        await blocked.WithinEventually();
        await allReceived.Task.WithinEventually();
        Assert.Equal(Enumerable.Range(0, capacity + 2), received);
    }

    [Fact]
    public async Task TryTell_returns_false_when_full()
    {
        var gate = ActorTestKit.NewSignal();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ => { }) { OnPreStart = async _ => await gate.Task },
            MailboxCapacity = 3,
        });

        Assert.True(actor.TryTell(1));
        Assert.True(actor.TryTell(2));
        Assert.True(actor.TryTell(3));
        Assert.False(actor.TryTell(4));
        Assert.Equal(3, actor.MailboxCount);
        gate.SetResult();
        await ActorTestKit.UntilAsync(() => actor.MailboxCount == 0);
        Assert.True(actor.TryTell(5));
    }

    [Fact]
    public async Task Stop_drops_pending_messages_runs_PostStop_and_rejects_further_messages()
    {
        var gate = ActorTestKit.NewSignal();
        var inHandler = ActorTestKit.NewSignal();
        var handled = 0;
        var postStops = 0;
        var actor = _system.Spawn(new Props<int>
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
                    Interlocked.Increment(ref postStops);
                    return default;
                },
            },
            MailboxCapacity = 2,
        });
        await actor.TellAsync(1);
        await inHandler.Task.WithinEventually();
        await actor.TellAsync(2);
        await actor.TellAsync(3);
        var blockedWriter = actor.TellAsync(4).AsTask();

        actor.Stop();
        await Assert.ThrowsAsync<ActorTerminatedException>(() => blockedWriter.WithinEventually());
        Assert.False(actor.TryTell(5));
        gate.SetResult(); // the message in progress finishes; the queued ones are dropped
        Assert.Null(await actor.StoppedAsync());

        Assert.True(actor.IsTerminated);
        Assert.Equal(1, handled);
        Assert.Equal(1, postStops);
        await Assert.ThrowsAsync<ActorTerminatedException>(() => actor.TellAsync(6).AsTask());
    }

    [Fact]
    public async Task Idle_actor_wakes_for_each_message()
    {
        // Exercises the park/ring hand-off: every message arrives after the actor went idle.
        var received = ActorTestKit.NewSignal<int>();
        var next = received;
        var actor = _system.Spawn(Props.Create<int>(() => new FuncActor<int>(m => Volatile.Read(ref next).TrySetResult(m))));
        for (var i = 0; i < 200; i++)
        {
            Volatile.Write(ref next, ActorTestKit.NewSignal<int>());
            Assert.True(actor.TryTell(i));
            Assert.Equal(i, await Volatile.Read(ref next).Task.WithinEventually());
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
