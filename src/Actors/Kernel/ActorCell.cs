using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace ActorSync.Actors;

/// <summary>
/// The runtime of one actor instance slot: its message loop, its supervision (restart budget, backoff),
/// its death-watch subscriptions and its children. A pool has one cell per instance over a shared mailbox.
/// Everything except the Post/Watch/Spawn entry points runs on the cell's own loop, one step at a time.
/// </summary>
internal sealed class ActorCell<T> : IActorCell
{
    private readonly LocalActorRef<T> _self;
    private readonly ConcurrentQueue<SystemMessage> _systemMessages = new();
    private readonly HashSet<IActorRef> _watching = new(ReferenceEqualityComparer.Instance);
    private readonly List<IInternalActorRef> _children = [];
    private readonly Queue<long> _restartTimestamps = new(); // only used when the budget has a window
    private ActorContext? _context;
    private Actor<T>? _actor;
    private bool _childrenClosed;
    private int _restartCount;
    private int _restartsInLifetime;
    private bool _hasRedelivery;
    private T? _redelivery;
    private Exception? _failure;
    private bool _escalate;

    public ActorCell(LocalActorRef<T> self) => _self = self;

    internal Doorbell Bell { get; } = new();

    public string Path => _self.Path;

    public IActorRef? Self => _self;

    public int RestartCount => Volatile.Read(ref _restartCount);

    internal void Start() =>
        ThreadPool.UnsafeQueueUserWorkItem(static cell => _ = cell.RunAsync(), this, preferLocal: false);

    private async Task RunAsync()
    {
        try
        {
            if (!_self.StopRequested && await StartInstanceAsync().ConfigureAwait(false))
            {
                await MessageLoopAsync().ConfigureAwait(false);
            }

            await StopInstanceAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Only a kernel bug gets here (user code is always wrapped); never leave Completion hanging.
            _failure ??= ex;
            KernelLog.StoppingOnFailure(_self.System.Log, Path, "internal error in the actor loop", ex);
        }

        if (_escalate && _failure is not null)
        {
            _self.Parent.ChildEscalated(_self, _failure);
        }

        _self.OnCellStopped(_failure);
    }

    private async Task MessageLoopAsync()
    {
        var reader = _self.Reader;
        while (!_self.StopRequested)
        {
            T message;
            if (_hasRedelivery)
            {
                message = _redelivery!;
                _hasRedelivery = false;
                _redelivery = default;
            }
            else if (_systemMessages.TryDequeue(out var systemMessage))
            {
                if (!await HandleSystemMessageAsync(systemMessage).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }
            else if (!reader.TryRead(out message!))
            {
                if (reader.Completion.IsCompleted)
                {
                    return; // Complete() was called and the mailbox is drained
                }

                Bell.Arm();
                if (!HasWork(reader) || !Bell.TryDisarm())
                {
                    await Bell.WaitAsync().ConfigureAwait(false);
                }

                continue;
            }

            // Awaiting the ValueTask inline keeps a synchronously completing handler allocation-free, and an
            // asynchronous one reuses this method's single state-machine box.
            try
            {
                await _actor!.ReceiveAsync(message).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (!await HandleFailureAsync(ex, message, hasMessage: true, duringStart: false).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    private bool HasWork(ChannelReader<T> reader) =>
        _self.StopRequested || !_systemMessages.IsEmpty || reader.TryPeek(out _) || reader.Completion.IsCompleted;

    private async ValueTask<bool> HandleSystemMessageAsync(SystemMessage message)
    {
        if (message.IsChildFailure)
        {
            if (message.Incarnation != RestartCount)
            {
                return true; // the child belonged to an instance already restarted away (its children were stopped)
            }

            return await HandleFailureAsync(message.Reason!, default, hasMessage: false, duringStart: false).ConfigureAwait(false);
        }

        lock (_watching)
        {
            if (!_watching.Remove(message.Actor))
            {
                return true; // unwatched, or already notified
            }
        }

        try
        {
            await _actor!.OnTerminatedAsync(message.Actor, message.Reason).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            return await HandleFailureAsync(ex, default, hasMessage: false, duringStart: false).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> StartInstanceAsync()
    {
        var error = await CreateInstanceAsync().ConfigureAwait(false);
        return error is null || await HandleFailureAsync(error, default, hasMessage: false, duringStart: true).ConfigureAwait(false);
    }

    /// <summary>Factory + PreStartAsync; returns their exception instead of throwing so the caller supervises it.</summary>
    private async ValueTask<Exception?> CreateInstanceAsync()
    {
        try
        {
            var actor = _self.Props.Factory() ?? throw new InvalidOperationException($"The factory of {Path} returned null.");
            _context ??= new ActorContext(this, _self, _self.System, _self.Parent.Self, _self.System.CreateActorLogger(actor.GetType()));
            actor.Bind(_context);
            _actor = actor;
            await actor.PreStartAsync().ConfigureAwait(false);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>Applies the supervisor to a failure. True: keep running (resumed or restarted); false: stop.</summary>
    private async ValueTask<bool> HandleFailureAsync(Exception error, T? failedMessage, bool hasMessage, bool duringStart)
    {
        var strategy = _self.Props.Supervisor;
        var log = _self.System.Log;
        while (true)
        {
            switch (Decide(strategy, error))
            {
                case Directive.Resume when !duringStart:
                    KernelLog.Resumed(log, Path, error);
                    return true;
                case Directive.Stop:
                    return Fail(error, "supervisor directive Stop", escalate: false);
                case Directive.Escalate:
                    return Fail(error, "escalating to the parent", escalate: true);
                default:
                    break; // Restart; also Resume of an instance that never finished starting, as there is nothing to resume
            }

            if (!TryTakeRestart(strategy, out var backoff))
            {
                return Fail(error, $"restart budget of {strategy.MaxRetries} exhausted", escalate: false);
            }

            KernelLog.Restarting(log, Path, backoff, RestartCount + 1, error);
            var old = _actor;
            _actor = null;
            if (old is not null)
            {
                try
                {
                    old.PreRestart(error, failedMessage);
                }
                catch (Exception ex)
                {
                    KernelLog.HookFailed(log, Path, nameof(Actor<T>.PreRestart), ex);
                }
            }

            await StopChildrenAsync(graceful: false, final: false).ConfigureAwait(false);
            if (old is not null)
            {
                await PostStopSafelyAsync(old).ConfigureAwait(false);
            }

            if (hasMessage && _self.Props.RedeliverOnRestart)
            {
                _redelivery = failedMessage;
                _hasRedelivery = true;
            }

            await BackOffAsync(backoff).ConfigureAwait(false);
            if (_self.StopRequested)
            {
                return false;
            }

            Interlocked.Increment(ref _restartCount);
            var startError = await CreateInstanceAsync().ConfigureAwait(false);
            if (startError is null)
            {
                return true;
            }

            (error, failedMessage, hasMessage, duringStart) = (startError, default, false, true);
        }
    }

    /// <summary>Waits at least <paramref name="backoff"/>, or until Stop().</summary>
    private async ValueTask BackOffAsync(TimeSpan backoff)
    {
        // Timers tick on a coarse clock (4 ms on Linux) and can fire a little early; the backoff is a lower
        // bound callers rely on, so top it up until it has really elapsed.
        var started = Stopwatch.GetTimestamp();
        for (var left = backoff; left > TimeSpan.Zero && !_self.StopRequested; left = backoff - Stopwatch.GetElapsedTime(started))
        {
            // ForceYielding: Stop() cancels this delay, and the restart must not continue on Stop()'s thread.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)), _self.StopToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        }
    }

    private Directive Decide(SupervisorStrategy strategy, Exception error)
    {
        try
        {
            return strategy.Decider(error);
        }
        catch (Exception ex)
        {
            KernelLog.HookFailed(_self.System.Log, Path, "supervisor decider", ex);
            return Directive.Stop;
        }
    }

    private bool Fail(Exception error, string why, bool escalate)
    {
        _failure = error;
        _escalate = escalate;
        // An escalated failure is logged once, by whoever handles it (the parent's own decision, or the root).
        if (escalate) KernelLog.Escalating(_self.System.Log, Path, error);
        else KernelLog.StoppingOnFailure(_self.System.Log, Path, why, error);
        return false;
    }

    /// <summary>Spends one restart from the budget and says how long to back off before it.</summary>
    private bool TryTakeRestart(SupervisorStrategy strategy, out TimeSpan backoff)
    {
        int restartsSoFar;
        if (strategy.Within is { } within)
        {
            var now = Stopwatch.GetTimestamp();
            while (_restartTimestamps.Count > 0 && Stopwatch.GetElapsedTime(_restartTimestamps.Peek(), now) > within)
            {
                _restartTimestamps.Dequeue();
            }

            restartsSoFar = _restartTimestamps.Count;
            if (restartsSoFar < strategy.MaxRetries)
            {
                _restartTimestamps.Enqueue(now);
            }
        }
        else
        {
            restartsSoFar = _restartsInLifetime;
            if (restartsSoFar < strategy.MaxRetries)
            {
                _restartsInLifetime++;
            }
        }

        backoff = strategy.BackoffFor(restartsSoFar);
        return restartsSoFar < strategy.MaxRetries;
    }

    private async Task StopInstanceAsync()
    {
        // An orderly drain (Complete) drains the children too; a stop or a failure stops them.
        var graceful = _failure is null && !_self.StopRequested;
        await StopChildrenAsync(graceful, final: true).ConfigureAwait(false);
        if (_actor is { } actor)
        {
            _actor = null;
            await PostStopSafelyAsync(actor).ConfigureAwait(false);
        }
    }

    private async ValueTask PostStopSafelyAsync(Actor<T> actor)
    {
        try
        {
            await actor.PostStopAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            KernelLog.HookFailed(_self.System.Log, Path, nameof(Actor<T>.PostStopAsync), ex);
        }
    }

    private async ValueTask StopChildrenAsync(bool graceful, bool final)
    {
        IInternalActorRef[] children;
        lock (_children)
        {
            children = [.. _children];
            _childrenClosed |= final;
        }

        if (children.Length == 0)
        {
            return;
        }

        var completions = new Task[children.Length];
        for (var i = 0; i < children.Length; i++)
        {
            if (graceful)
            {
                children[i].Complete();
            }
            else
            {
                children[i].Stop();
            }

            completions[i] = children[i].Completion;
        }

        // Akka order: children are gone before the parent's PostStop or restart; their failures are theirs.
        await Task.WhenAll(completions).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void Post(SystemMessage message)
    {
        _systemMessages.Enqueue(message);
        Interlocked.MemoryBarrier(); // pairs with Doorbell.Arm
        Bell.TryRing();
    }

    public void Watch(IActorRef other)
    {
        ArgumentNullException.ThrowIfNull(other);
        lock (_watching)
        {
            if (!_watching.Add(other))
            {
                return;
            }
        }

        // Runs at once if `other` already stopped. The watch set, checked on delivery, makes it exactly once
        // even when a stale continuation from an earlier Watch/Unwatch also fires.
        other.Completion.ContinueWith(
            static (completion, state) =>
            {
                var (cell, actor) = ((ActorCell<T>, IActorRef))state!;
                cell.Post(new SystemMessage(actor, completion.Exception?.InnerException, IsChildFailure: false));
            },
            (this, other), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public void Unwatch(IActorRef other)
    {
        lock (_watching)
        {
            _watching.Remove(other);
        }
    }

    public IActorRef<TChild> Spawn<TChild>(Props<TChild> props)
    {
        var child = LocalActorRef<TChild>.Create(_self.System, this, props);
        bool closed;
        lock (_children)
        {
            closed = _childrenClosed;
            if (!closed)
            {
                _children.Add(child);
            }
        }

        if (closed)
        {
            child.Stop(); // spawned from PostStop: never run it, it would outlive its parent
        }

        child.Start();
        return child;
    }

    public void ChildStopped(IActorRef child)
    {
        lock (_children)
        {
            _children.Remove((IInternalActorRef)child);
        }
    }

    // A child posts this before it completes, and a restart waits for the old children to complete before it
    // bumps RestartCount, so the tag always names the incarnation the child belonged to.
    public void ChildEscalated(IActorRef child, Exception reason) =>
        Post(new SystemMessage(child, reason, IsChildFailure: true, RestartCount));
}
