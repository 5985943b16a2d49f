using System.Collections.Concurrent;
using ActorSync.Actors;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class DeathWatchTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new("deathwatch-tests");
    private readonly ConcurrentQueue<(IActorRef Actor, Exception? Reason)> _notifications = new();
    private readonly TaskCompletionSource _notified = ActorTestKit.NewSignal();
    private IActorRef<WatcherActor.Command> _watcher = null!;

    public Task InitializeAsync()
    {
        _watcher = _system.Spawn(Props.Create(() => new WatcherActor(_notifications, _notified), "watcher"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _system.DisposeAsync();

    private IActorRef<int> SpawnTarget() => _system.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { })));

    /// <summary>A round trip through the watcher: everything queued to it before has been handled.</summary>
    private Task<int> NotificationCountAsync() =>
        _watcher.AskAsync<WatcherActor.Command, int>(r => new WatcherActor.Ping(r), ActorTestKit.Eventually);

    /// <summary>Lets any duplicate notification arrive before counting: continuations run on the thread pool.</summary>
    private async Task<int> SettledNotificationCountAsync()
    {
        await NotificationCountAsync();
        await Task.Delay(50);
        return await NotificationCountAsync();
    }

    [Fact]
    public async Task Watcher_is_notified_exactly_once_when_the_target_stops()
    {
        var target = SpawnTarget();
        await _watcher.TellAsync(new WatcherActor.WatchIt(target));
        await _watcher.TellAsync(new WatcherActor.WatchIt(target)); // watching twice still notifies once
        await NotificationCountAsync();

        target.Stop();
        await _notified.Task.WithinEventually();

        Assert.Equal(1, await SettledNotificationCountAsync());
        var (who, reason) = Assert.Single(_notifications);
        Assert.Same(target, who);
        Assert.Null(reason); // an orderly stop has no reason
    }

    [Fact]
    public async Task Watching_an_already_stopped_actor_notifies_exactly_once()
    {
        var target = SpawnTarget();
        target.Stop();
        await target.Completion.WithinEventually();

        await _watcher.TellAsync(new WatcherActor.WatchIt(target));
        await _notified.Task.WithinEventually();

        Assert.Equal(1, await SettledNotificationCountAsync());
        Assert.Same(target, Assert.Single(_notifications).Actor);
    }

    [Fact]
    public async Task Unwatch_cancels_the_notification_and_rewatching_notifies_once()
    {
        var unwatched = SpawnTarget();
        var rewatched = SpawnTarget();
        await _watcher.TellAsync(new WatcherActor.WatchIt(unwatched));
        await _watcher.TellAsync(new WatcherActor.UnwatchIt(unwatched));
        await _watcher.TellAsync(new WatcherActor.WatchIt(rewatched));
        await _watcher.TellAsync(new WatcherActor.UnwatchIt(rewatched));
        await _watcher.TellAsync(new WatcherActor.WatchIt(rewatched));
        await NotificationCountAsync();

        unwatched.Stop();
        rewatched.Stop();
        await Task.WhenAll(unwatched.Completion, rewatched.Completion).WithinEventually();
        await _notified.Task.WithinEventually();

        Assert.Equal(1, await SettledNotificationCountAsync());
        Assert.Same(rewatched, Assert.Single(_notifications).Actor);
    }

    [Fact]
    public async Task Notifications_are_handled_between_messages_never_concurrently()
    {
        var active = 0;
        var overlap = false;
        var terminatedSeen = ActorTestKit.NewSignal();
        var targets = Enumerable.Range(0, 20).Select(_ => SpawnTarget()).ToArray();
        var watcher = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(async (ctx, m) =>
            {
                overlap |= Interlocked.Increment(ref active) > 1;
                if (m < 0)
                {
                    foreach (var t in targets)
                    {
                        ctx.Watch(t);
                    }
                }

                await Task.Yield();
                Interlocked.Decrement(ref active);
            })
            {
                OnTerminated = async (_, _) =>
                {
                    overlap |= Interlocked.Increment(ref active) > 1;
                    await Task.Yield();
                    if (Interlocked.Decrement(ref active) == 0 && targets.All(t => t.IsTerminated))
                    {
                        terminatedSeen.TrySetResult();
                    }
                },
            },
        });

        await watcher.TellAsync(-1);
        foreach (var t in targets)
        {
            t.Stop();
        }

        for (var i = 0; i < 200; i++)
        {
            await watcher.TellAsync(i);
        }

        await terminatedSeen.Task.WithinEventually();
        Assert.False(overlap);
    }
}
