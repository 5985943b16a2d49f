using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorSync.Actors;

/// <summary>Hosts a tree of actors under "/user"; shutting it down drains, then stops, every actor.</summary>
public sealed class ActorSystem : IAsyncDisposable
{
    /// <summary>DisposeAsync's drain budget: long enough for in-flight chunk writes to finish, short enough
    /// that a stuck actor does not hold up process exit.</summary>
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>After Stop(), a handler mid-message cannot be interrupted; bound the wait for it so one hung
    /// handler cannot hang the host's shutdown.</summary>
    private static readonly TimeSpan StopGracePeriod = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<IInternalActorRef, byte> _live = new(ReferenceEqualityComparer.Instance);
    private readonly UserGuardian _guardian;
    private readonly Lock _shutdownLock = new();
    private Task? _shutdown;
    private long _nameCounter;

    public ActorSystem(string name, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Log = LoggerFactory.CreateLogger<ActorSystem>();
        _guardian = new UserGuardian(this);
    }

    public string Name { get; }

    /// <summary>A top-level actor escalated a failure (or an escalation reached the root).</summary>
    public event Action<IActorRef, Exception>? UnhandledFailure;

    internal ILoggerFactory LoggerFactory { get; }

    /// <summary>The kernel's own log (restarts, stops), with the actor path in every message.</summary>
    internal ILogger Log { get; }

    /// <summary>Spawns a top-level actor under "/user".</summary>
    public IActorRef<T> Spawn<T>(Props<T> props)
    {
        if (Volatile.Read(ref _shutdown) is not null)
        {
            throw new InvalidOperationException($"Actor system {Name} is shutting down.");
        }

        return _guardian.Spawn(props);
    }

    /// <summary>Complete()s every actor, waits up to <paramref name="timeout"/> for them to drain, then Stop()s the rest.</summary>
    public Task ShutdownAsync(TimeSpan timeout)
    {
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        lock (_shutdownLock)
        {
            return _shutdown ??= ShutdownCoreAsync(timeout);
        }
    }

    public async ValueTask DisposeAsync() => await ShutdownAsync(DisposeTimeout).ConfigureAwait(false);

    private async Task ShutdownCoreAsync(TimeSpan timeout)
    {
        await Task.Yield(); // never run actor teardown inline in the caller, which may hold the lock above

        // Loop: actors may spawn children while they drain; those are completed on the next pass.
        var started = Stopwatch.GetTimestamp();
        while (!_live.IsEmpty)
        {
            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - Stopwatch.GetElapsedTime(started);
            if (remaining != Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero)
            {
                break;
            }

            var actors = _live.Keys.ToArray();
            foreach (var actor in actors)
            {
                actor.Complete();
            }

            await WhenAllStopped(actors).WaitAsync(remaining).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_live.IsEmpty)
        {
            return;
        }

        var stragglers = _live.Keys.ToArray();
        KernelLog.ShutdownStragglers(Log, Name, stragglers.Length);
        foreach (var actor in stragglers)
        {
            actor.Stop();
        }

        await WhenAllStopped(stragglers).WaitAsync(StopGracePeriod).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private static Task WhenAllStopped(IInternalActorRef[] actors) => Task.WhenAll(actors.Select(static a => a.Completion));

    internal void Register(IInternalActorRef actor) => _live.TryAdd(actor, 0);

    internal void Unregister(IInternalActorRef actor) => _live.TryRemove(actor, out _);

    internal string NextAutoName() => "$" + Interlocked.Increment(ref _nameCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal ILogger CreateActorLogger(Type actorType) => LoggerFactory.CreateLogger(actorType.FullName ?? actorType.Name);

    internal void RaiseUnhandledFailure(IActorRef actor, Exception reason)
    {
        KernelLog.UnhandledFailure(Log, actor.Path, reason);
        if (UnhandledFailure is not { } handlers)
        {
            return;
        }

        // One throwing subscriber must not hide the failure from the others, nor crash the actor loop.
        foreach (var handler in handlers.GetInvocationList().Cast<Action<IActorRef, Exception>>())
        {
            try
            {
                handler(actor, reason);
            }
            catch (Exception ex)
            {
                KernelLog.HookFailed(Log, actor.Path, nameof(UnhandledFailure) + " handler", ex);
            }
        }
    }
}
