namespace ActorSync.Actors;

/// <summary>
/// Base class of an actor handling messages of type <typeparamref name="T"/>. The kernel calls every member
/// from one logical thread at a time, so instance state needs no locking.
/// </summary>
public abstract class Actor<T>
{
    private ActorContext? _context;

    /// <summary>The actor's view of the kernel; available from PreStartAsync on (not in the constructor).</summary>
    protected ActorContext Context =>
        _context ?? throw new InvalidOperationException("Context is set by the kernel before PreStartAsync; it is not available in the constructor.");

    protected internal abstract ValueTask ReceiveAsync(T message);

    /// <summary>Runs on start and, on the new instance, after each restart.</summary>
    protected internal virtual ValueTask PreStartAsync() => default;

    /// <summary>Runs on stop, and on the old instance before a restart.</summary>
    protected internal virtual ValueTask PostStopAsync() => default;

    /// <summary>Runs on the failed instance before it is replaced; <paramref name="failedMessage"/> is default when
    /// the failure was not caused by a message (start-up, death-watch handler, child escalation).</summary>
    protected internal virtual void PreRestart(Exception reason, T? failedMessage)
    {
    }

    /// <summary>Death-watch notification; delivered between messages, never concurrently with them.</summary>
    protected internal virtual ValueTask OnTerminatedAsync(IActorRef actor, Exception? reason) => default;

    internal void Bind(ActorContext context) => _context = context;
}
