using System.Collections.Concurrent;
using System.Diagnostics;
using ActorSync.Actors;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ActorSync.Tests.Actors;

public sealed class SupervisionTests : IAsyncLifetime
{
    private static readonly SupervisorStrategy RestartAtOnce = SupervisorStrategy.Restart(minBackoff: TimeSpan.Zero);

    private readonly ListLoggerFactory _logs = new();
    private readonly ActorSystem _system;

    public SupervisionTests() => _system = new ActorSystem("supervision-tests", _logs);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.DisposeAsync();

    /// <summary>Handles ints; fails once on <see cref="FailOn"/>; records who handled what and every lifecycle hook.</summary>
    private sealed class Recorder
    {
        public int FailOn { get; init; } = -1;

        public int FailuresLeft = 1;

        public int Instances;

        public ConcurrentQueue<(int Instance, int Message)> Handled { get; } = new();

        public ConcurrentQueue<string> Events { get; } = new();

        public TaskCompletionSource Done { get; } = ActorTestKit.NewSignal();

        public int DoneAfter { get; init; }

        public TaskCompletionSource StartGate { get; } = ActorTestKit.NewSignal();

        public Actor<int> Create()
        {
            var instance = Interlocked.Increment(ref Instances);
            return new FuncActor<int>((_, m) =>
            {
                if (m == FailOn && Interlocked.Decrement(ref FailuresLeft) >= 0)
                {
                    throw new TestFailure($"boom on {m}");
                }

                Handled.Enqueue((instance, m));
                if (m == DoneAfter)
                {
                    Done.TrySetResult();
                }

                return default;
            })
            {
                OnPreStart = async _ =>
                {
                    Events.Enqueue($"PreStart#{instance}");
                    await StartGate.Task;
                },
                OnPreRestart = (reason, failed) => Events.Enqueue($"PreRestart#{instance}({failed}:{reason.Message})"),
                OnPostStop = () =>
                {
                    Events.Enqueue($"PostStop#{instance}");
                    return default;
                },
            };
        }
    }

    /// <summary>Spawns an actor whose first instance starts only once 1..count are queued, so all sit behind the failure.</summary>
    private async Task SpawnWithQueuedMessages(Recorder recorder, int count, bool redeliver = false)
    {
        var actor = _system.Spawn(new Props<int>
        {
            Factory = recorder.Create,
            Supervisor = RestartAtOnce,
            RedeliverOnRestart = redeliver,
        });
        for (var i = 1; i <= count; i++)
        {
            await actor.TellAsync(i);
        }

        recorder.StartGate.SetResult();
    }

    [Fact]
    public async Task Restart_keeps_the_mailbox_uses_a_new_instance_and_drops_the_failed_message()
    {
        var recorder = new Recorder { FailOn = 3, DoneAfter = 10 };
        await SpawnWithQueuedMessages(recorder, 10);
        await recorder.Done.Task.WithinEventually();

        Assert.Equal(2, recorder.Instances);
        Assert.Equal([1, 2, 4, 5, 6, 7, 8, 9, 10], recorder.Handled.Select(h => h.Message));
        Assert.All(recorder.Handled.Where(h => h.Message > 3), h => Assert.Equal(2, h.Instance));
        Assert.Equal(["PreStart#1", "PreRestart#1(3:boom on 3)", "PostStop#1", "PreStart#2"], recorder.Events);
    }

    [Fact]
    public async Task RedeliverOnRestart_delivers_the_failed_message_exactly_once_more_and_first()
    {
        var recorder = new Recorder { FailOn = 3, DoneAfter = 10 };
        await SpawnWithQueuedMessages(recorder, 10, redeliver: true);
        await recorder.Done.Task.WithinEventually();

        Assert.Equal(Enumerable.Range(1, 10), recorder.Handled.Select(h => h.Message));
        Assert.Equal((2, 3), recorder.Handled.ElementAt(2));
    }

    [Fact]
    public async Task Restarts_back_off_exponentially()
    {
        var minBackoff = TimeSpan.FromMilliseconds(20);
        var failures = new ConcurrentQueue<long>();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ =>
            {
                failures.Enqueue(Stopwatch.GetTimestamp());
                throw new TestFailure("always");
            }),
            Supervisor = SupervisorStrategy.Restart(maxRetries: 3, minBackoff: minBackoff, maxBackoff: TimeSpan.FromSeconds(1)),
            RedeliverOnRestart = true, // the same message fails again on every new instance
        });
        actor.TryTell(1);
        await actor.StoppedAsync();

        var times = failures.ToArray();
        Assert.Equal(4, times.Length); // the first run plus 3 restarts
        for (var i = 1; i < times.Length; i++)
        {
            var gap = Stopwatch.GetElapsedTime(times[i - 1], times[i]);
            var expected = minBackoff * Math.Pow(2, i - 1); // 20, 40, 80 ms
            Assert.True(gap >= expected, $"restart {i}: waited {gap.TotalMilliseconds} ms, expected at least {expected.TotalMilliseconds} ms");
        }
    }

    [Fact]
    public async Task Exceeding_MaxRetries_stops_the_actor_with_the_failure_and_tells_watchers()
    {
        var notifications = new ConcurrentQueue<(IActorRef Actor, Exception? Reason)>();
        var notified = ActorTestKit.NewSignal();
        var watcher = _system.Spawn(Props.Create(() => new WatcherActor(notifications, notified)));
        var attempts = 0;
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(m =>
            {
                Interlocked.Increment(ref attempts);
                throw new TestFailure($"fail {m}");
            }),
            Supervisor = SupervisorStrategy.Restart(maxRetries: 2, minBackoff: TimeSpan.Zero),
        });
        await watcher.TellAsync(new WatcherActor.WatchIt(actor));
        await watcher.AskAsync<WatcherActor.Command, int>(r => new WatcherActor.Ping(r), ActorTestKit.Eventually);
        for (var i = 1; i <= 5; i++)
        {
            actor.TryTell(i);
        }

        var reason = await actor.StoppedAsync();
        await notified.Task.WithinEventually();

        Assert.Equal("fail 3", Assert.IsType<TestFailure>(reason).Message); // 2 restarts allowed, the 3rd failure stops it
        Assert.Equal(3, attempts);
        var (who, why) = Assert.Single(notifications);
        Assert.Same(actor, who);
        Assert.Same(reason, why);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(actor.Path, StringComparison.Ordinal) && e.Message.Contains("restarting", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(actor.Path, StringComparison.Ordinal) && e.Message.Contains("budget", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_budget_window_forgets_old_restarts()
    {
        var window = TimeSpan.FromMilliseconds(100);
        var instances = 0;
        var handled = ActorTestKit.NewSignal();
        var actor = _system.Spawn(new Props<string>
        {
            Factory = () =>
            {
                Interlocked.Increment(ref instances);
                return new FuncActor<string>(m =>
                {
                    if (m == "fail")
                    {
                        throw new TestFailure("windowed");
                    }

                    handled.TrySetResult();
                });
            },
            Supervisor = SupervisorStrategy.Restart(maxRetries: 1, minBackoff: TimeSpan.Zero, within: window),
        });

        actor.TryTell("fail");
        await ActorTestKit.UntilAsync(() => Volatile.Read(ref instances) == 2);
        await Task.Delay(window * 2); // the one restart leaves the window
        actor.TryTell("fail");
        actor.TryTell("ok");
        await handled.Task.WithinEventually();

        Assert.False(actor.IsTerminated);
        Assert.Equal(3, instances);
    }

    [Fact]
    public async Task Resume_keeps_the_instance_and_its_state()
    {
        var instances = 0;
        var total = ActorTestKit.NewSignal<int>();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () =>
            {
                Interlocked.Increment(ref instances);
                var sum = 0;
                return new FuncActor<int>(m =>
                {
                    if (m < 0)
                    {
                        throw new ArgumentException("negative");
                    }

                    sum += m;
                    if (m == 0)
                    {
                        total.SetResult(sum);
                    }
                });
            },
            Supervisor = SupervisorStrategy.Decide(ex => ex is ArgumentException ? Directive.Resume : Directive.Stop),
        });

        foreach (var m in new[] { 5, -1, 7, -2, 0 })
        {
            await actor.TellAsync(m);
        }

        Assert.Equal(12, await total.Task.WithinEventually());
        Assert.Equal(1, instances);
    }

    [Fact]
    public async Task Stop_directive_stops_the_actor_with_a_faulted_Completion()
    {
        var postStops = 0;
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ => throw new TestFailure("stop me"))
            {
                OnPostStop = () =>
                {
                    Interlocked.Increment(ref postStops);
                    return default;
                },
            },
            Supervisor = SupervisorStrategy.StoppingStrategy,
        });
        actor.TryTell(1);

        Assert.Equal("stop me", Assert.IsType<TestFailure>(await actor.StoppedAsync()).Message);
        Assert.Equal(1, postStops);
        Assert.False(actor.TryTell(2));
    }

    [Fact]
    public async Task A_PreStart_failure_is_supervised_like_any_other()
    {
        var instances = 0;
        var handled = ActorTestKit.NewSignal<int>();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () =>
            {
                var n = Interlocked.Increment(ref instances);
                return new FuncActor<int>(m => handled.TrySetResult(n))
                {
                    OnPreStart = _ => n == 1 ? throw new TestFailure("cannot start") : default,
                };
            },
            Supervisor = RestartAtOnce,
        });
        actor.TryTell(1);

        Assert.Equal(2, await handled.Task.WithinEventually());
    }

    [Fact]
    public async Task A_PreStart_failure_with_a_stopping_supervisor_stops_the_actor()
    {
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ => { }) { OnPreStart = _ => throw new TestFailure("no start") },
            Supervisor = SupervisorStrategy.StoppingStrategy,
        });

        Assert.IsType<TestFailure>(await actor.StoppedAsync());
    }

    [Fact]
    public async Task Escalation_from_a_child_fails_the_parent_under_the_parents_supervisor()
    {
        var parentInstances = 0;
        var preRestartReason = ActorTestKit.NewSignal<Exception>();
        var children = new ConcurrentQueue<IActorRef<string>>();
        var restartedParentStarted = ActorTestKit.NewSignal<IActorRef<string>>();
        var parent = _system.Spawn(new Props<string>
        {
            Name = "parent",
            Factory = () =>
            {
                var n = Interlocked.Increment(ref parentInstances);
                return new FuncActor<string>(m => { })
                {
                    OnPreStart = ctx =>
                    {
                        var child = ctx.Spawn(new Props<string>
                        {
                            Name = "child",
                            Factory = () => new FuncActor<string>(m => throw new TestFailure(m)),
                            Supervisor = SupervisorStrategy.EscalatingStrategy,
                        });
                        children.Enqueue(child);
                        if (n == 2)
                        {
                            restartedParentStarted.SetResult(child);
                        }

                        return default;
                    },
                    OnPreRestart = (reason, _) => preRestartReason.TrySetResult(reason),
                };
            },
            Supervisor = RestartAtOnce,
        });
        await ActorTestKit.UntilAsync(() => !children.IsEmpty);
        var firstChild = children.Single();
        Assert.Equal("/user/parent/child", firstChild.Path);

        firstChild.TryTell("child broke");

        var childFailure = Assert.IsType<TestFailure>(await firstChild.StoppedAsync());
        Assert.Same(childFailure, await preRestartReason.Task.WithinEventually());
        var secondChild = await restartedParentStarted.Task.WithinEventually();
        Assert.Equal(2, parentInstances);
        Assert.NotSame(firstChild, secondChild);
        Assert.False(parent.IsTerminated);
    }

    [Fact]
    public async Task Simultaneous_escalations_from_children_of_one_instance_restart_the_parent_once()
    {
        var parentInstances = 0;
        var children = new ConcurrentQueue<IActorRef<int>>();
        var bothInside = 0;
        var failTogether = ActorTestKit.NewSignal();
        var parent = _system.Spawn(new Props<IReplyTo<int>>
        {
            Factory = () =>
            {
                var n = Interlocked.Increment(ref parentInstances);
                return new FuncActor<IReplyTo<int>>(r => r.Reply(n))
                {
                    OnPreStart = ctx =>
                    {
                        for (var i = 0; i < 2; i++)
                        {
                            children.Enqueue(ctx.Spawn(new Props<int>
                            {
                                Factory = () => new FuncActor<int>(async (_, _) =>
                                {
                                    if (Interlocked.Increment(ref bothInside) == 2)
                                    {
                                        failTogether.SetResult();
                                    }

                                    await failTogether.Task;
                                    throw new TestFailure("network down");
                                }),
                                Supervisor = SupervisorStrategy.EscalatingStrategy,
                            }));
                        }

                        return default;
                    },
                };
            },
            Supervisor = RestartAtOnce,
        });
        await ActorTestKit.UntilAsync(() => children.Count == 2);
        var firstGeneration = children.ToArray();
        foreach (var child in firstGeneration)
        {
            child.TryTell(1);
        }

        foreach (var child in firstGeneration)
        {
            Assert.IsType<TestFailure>(await child.StoppedAsync());
        }

        // Both escalations were queued before the children completed, so they are handled before this ask.
        var incarnation = await parent.AskAsync<IReplyTo<int>, int>(r => r, ActorTestKit.Eventually);

        Assert.Equal(2, incarnation);
        Assert.Equal(2, parentInstances);
    }

    [Fact]
    public async Task Escalation_to_a_stopping_parent_stops_the_parent_with_the_childs_failure()
    {
        var child = ActorTestKit.NewSignal<IActorRef<string>>();
        var parent = _system.Spawn(new Props<string>
        {
            Factory = () => new FuncActor<string>(m => { })
            {
                OnPreStart = ctx =>
                {
                    child.SetResult(ctx.Spawn(new Props<string>
                    {
                        Factory = () => new FuncActor<string>(m => throw new TestFailure(m)),
                        Supervisor = SupervisorStrategy.EscalatingStrategy,
                    }));
                    return default;
                },
            },
            Supervisor = SupervisorStrategy.StoppingStrategy,
        });
        (await child.Task.WithinEventually()).TryTell("fatal");

        Assert.Equal("fatal", Assert.IsType<TestFailure>(await parent.StoppedAsync()).Message);
    }

    [Fact]
    public async Task Escalation_from_a_top_level_actor_raises_UnhandledFailure()
    {
        var unhandled = ActorTestKit.NewSignal<(IActorRef Actor, Exception Error)>();
        _system.UnhandledFailure += (actor, error) => unhandled.TrySetResult((actor, error));
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ => throw new TestFailure("to the root")),
            Supervisor = SupervisorStrategy.EscalatingStrategy,
        });
        actor.TryTell(1);

        var (who, error) = await unhandled.Task.WithinEventually();
        Assert.Same(actor, who);
        Assert.Equal("to the root", error.Message);
        Assert.Same(error, await actor.StoppedAsync());
    }

    [Fact]
    public async Task Restart_stops_the_children_of_the_old_instance()
    {
        var children = new ConcurrentQueue<IActorRef<int>>();
        var parent = _system.Spawn(new Props<string>
        {
            Factory = () => new FuncActor<string>(m => throw new TestFailure(m))
            {
                OnPreStart = ctx =>
                {
                    children.Enqueue(ctx.Spawn(Props.Create<int>(() => new FuncActor<int>(_ => { }))));
                    return default;
                },
            },
            Supervisor = RestartAtOnce,
        });
        await ActorTestKit.UntilAsync(() => children.Count == 1);
        var first = children.Single();
        parent.TryTell("restart");

        Assert.Null(await first.StoppedAsync());
        await ActorTestKit.UntilAsync(() => children.Count == 2);
        Assert.False(children.Last().IsTerminated);
    }

    [Fact]
    public async Task Stop_interrupts_a_restart_backoff()
    {
        var failed = ActorTestKit.NewSignal();
        var actor = _system.Spawn(new Props<int>
        {
            Factory = () => new FuncActor<int>(_ =>
            {
                failed.TrySetResult();
                throw new TestFailure("slow restart");
            }),
            Supervisor = SupervisorStrategy.Restart(minBackoff: TimeSpan.FromMinutes(10)),
        });
        actor.TryTell(1);
        await failed.Task.WithinEventually();
        var stopwatch = Stopwatch.StartNew();

        actor.Stop();

        Assert.Null(await actor.StoppedAsync());
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Strategy_backoff_doubles_and_is_capped()
    {
        var strategy = SupervisorStrategy.Restart(minBackoff: TimeSpan.FromMilliseconds(100), maxBackoff: TimeSpan.FromMilliseconds(500));

        Assert.Equal(
            new[] { 100.0, 200, 400, 500, 500 },
            Enumerable.Range(0, 5).Select(i => strategy.BackoffFor(i).TotalMilliseconds));
        Assert.Equal(Directive.Restart, strategy.Decider(new IOException()));
        Assert.Equal(Directive.Stop, SupervisorStrategy.StoppingStrategy.Decider(new IOException()));
        Assert.Equal(Directive.Escalate, SupervisorStrategy.EscalatingStrategy.Decider(new IOException()));
    }
}
