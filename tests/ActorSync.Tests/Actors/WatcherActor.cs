using System.Collections.Concurrent;
using ActorSync.Actors;

namespace ActorSync.Tests.Actors;

/// <summary>Watches the refs it is sent and reports every death-watch notification it gets.</summary>
internal sealed class WatcherActor(ConcurrentQueue<(IActorRef Actor, Exception? Reason)> notifications, TaskCompletionSource? firstNotification = null)
    : Actor<WatcherActor.Command>
{
    internal abstract record Command;

    internal sealed record WatchIt(IActorRef Target) : Command;

    internal sealed record UnwatchIt(IActorRef Target) : Command;

    /// <summary>Round trip: everything queued before it has been handled once it is answered.</summary>
    internal sealed record Ping(IReplyTo<int> ReplyTo) : Command;

    protected internal override ValueTask ReceiveAsync(Command message)
    {
        switch (message)
        {
            case WatchIt w:
                Context.Watch(w.Target);
                break;
            case UnwatchIt u:
                Context.Unwatch(u.Target);
                break;
            case Ping p:
                p.ReplyTo.Reply(notifications.Count);
                break;
        }

        return default;
    }

    protected internal override ValueTask OnTerminatedAsync(IActorRef actor, Exception? reason)
    {
        notifications.Enqueue((actor, reason));
        firstNotification?.TrySetResult();
        return default;
    }
}
