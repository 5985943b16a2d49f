using System.Runtime.ExceptionServices;
using Akka.Actor;

namespace ActorSync.Engine;

/// <summary>
/// Waiting on I/O inside an actor without ReceiveAsync (which suspends the mailbox and costs a task per message):
/// the work runs in the handler and usually completes there; if not, its completion comes back as a
/// <see cref="Done"/> message, and the actor holds what arrives meanwhile. One place for the three outcomes.
/// </summary>
internal static class Completion
{
    /// <summary>The awaited work finished: with <see cref="Failure"/> when it threw.</summary>
    public sealed record Done(Exception? Failure)
    {
        public static readonly Done Ok = new((Exception?)null);

        /// <summary>Rethrows the work's exception in the actor, as thrown, so its supervisor decides on it.</summary>
        public void ThrowIfFailed()
        {
            if (Failure is not null) ExceptionDispatchInfo.Capture(Failure).Throw();
        }
    }

    /// <summary>The awaited work finished with <see cref="Result"/>, or with <see cref="Failure"/>.</summary>
    public sealed record Done<T>(T Result, Exception? Failure)
    {
        public T ResultOrThrow()
        {
            if (Failure is not null) ExceptionDispatchInfo.Capture(Failure).Throw();
            return Result;
        }
    }

    /// <summary>True when <paramref name="work"/> completed in the handler (a failure is thrown here); false when
    /// <paramref name="self"/> will get a <see cref="Done"/> once it has.</summary>
    public static bool RanToCompletion(ValueTask work, IActorRef self)
    {
        if (work.IsCompleted)
        {
            work.GetAwaiter().GetResult();
            return true;
        }
        TellWhenDone(work.AsTask(), self);
        return false;
    }

    /// <summary>As <see cref="RanToCompletion(ValueTask, IActorRef)"/>, with the work's result (or a <see cref="Done{T}"/>).</summary>
    public static bool RanToCompletion<T>(ValueTask<T> work, IActorRef self, out T result)
    {
        if (work.IsCompleted)
        {
            result = work.GetAwaiter().GetResult();
            return true;
        }
        work.AsTask().ContinueWith(static (t, s) => ((IActorRef)s!).Tell(t.IsCompletedSuccessfully ? new Done<T>(t.Result, null) : new Done<T>(default!, Unwrap(t.Exception))),
            self, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        result = default!;
        return false;
    }

    /// <summary><paramref name="self"/> gets a <see cref="Done"/> when <paramref name="work"/> has finished.</summary>
    public static void TellWhenDone(Task work, IActorRef self) =>
        work.ContinueWith(static (t, s) => ((IActorRef)s!).Tell(t.IsCompletedSuccessfully ? Done.Ok : new Done(Unwrap(t.Exception))),
            self, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>The work's own exception (a cancelled task's is an OperationCanceledException).</summary>
    private static Exception Unwrap(AggregateException? e) =>
        e is { InnerExceptions.Count: 1 } ? e.InnerExceptions[0] : (Exception?)e ?? new OperationCanceledException();
}
