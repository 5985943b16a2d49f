namespace ActorSync.Actors;

/// <summary>The reply channel of one ask: a completion source whose first outcome wins.</summary>
internal sealed class ReplyTo<TReply> : IReplyTo<TReply>
{
    private readonly TaskCompletionSource<TReply> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TReply> Task => _reply.Task;

    public void Reply(TReply value) => _reply.TrySetResult(value);

    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _reply.TrySetException(error);
    }

    internal void Cancel() => _reply.TrySetCanceled();
}
