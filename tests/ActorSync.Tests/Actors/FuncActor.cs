using ActorSync.Actors;

namespace ActorSync.Tests.Actors;

/// <summary>An actor assembled from delegates, for tests that need only one or two hooks.</summary>
internal sealed class FuncActor<T>(Func<ActorContext, T, ValueTask> receive) : Actor<T>
{
    public Func<ActorContext, ValueTask>? OnPreStart { get; init; }

    public Func<ValueTask>? OnPostStop { get; init; }

    public Action<Exception, T?>? OnPreRestart { get; init; }

    public Func<IActorRef, Exception?, ValueTask>? OnTerminated { get; init; }

    public FuncActor(Action<T> receive)
        : this((_, m) =>
        {
            receive(m);
            return default;
        })
    {
    }

    protected internal override ValueTask ReceiveAsync(T message) => receive(Context, message);

    protected internal override ValueTask PreStartAsync() => OnPreStart?.Invoke(Context) ?? default;

    protected internal override ValueTask PostStopAsync() => OnPostStop?.Invoke() ?? default;

    protected internal override void PreRestart(Exception reason, T? failedMessage) => OnPreRestart?.Invoke(reason, failedMessage);

    protected internal override ValueTask OnTerminatedAsync(IActorRef actor, Exception? reason) =>
        OnTerminated?.Invoke(actor, reason) ?? default;
}
