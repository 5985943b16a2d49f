namespace ActorSync.Actors;

public static class ActorRefExtensions
{
    /// <summary>
    /// Ask pattern: sends <paramref name="makeMessage"/>(replyTo) and awaits the reply.
    /// </summary>
    /// <exception cref="TimeoutException">No reply (nor room in the mailbox) within <paramref name="timeout"/>.</exception>
    /// <exception cref="ActorTerminatedException">The actor stopped before replying.</exception>
    public static async Task<TReply> AskAsync<T, TReply>(
        this IActorRef<T> actor, Func<IReplyTo<TReply>, T> makeMessage, TimeSpan timeout, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(makeMessage);

        var reply = new ReplyTo<TReply>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await using var registration = deadline.Token.UnsafeRegister(static s => ((ReplyTo<TReply>)s!).Cancel(), reply).ConfigureAwait(false);
        try
        {
            await actor.TellAsync(makeMessage(reply), deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw TimedOut(actor, timeout);
        }

        // WhenAny removes its continuation from Completion afterwards, so asks do not pile up on a long-lived actor.
        await Task.WhenAny(reply.Task, actor.Completion).ConfigureAwait(false);
        if (!reply.Task.IsCompleted)
        {
            throw new ActorTerminatedException(actor.Path);
        }

        if (reply.Task.IsCanceled && !ct.IsCancellationRequested)
        {
            throw TimedOut(actor, timeout);
        }

        return await reply.Task.ConfigureAwait(false);
    }

    private static TimeoutException TimedOut(IActorRef actor, TimeSpan timeout) =>
        new($"Ask to {actor.Path} got no reply within {timeout}.");
}
