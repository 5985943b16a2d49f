using ActorSync.Actors;

namespace ActorSync.Tests.Actors;

/// <summary>Helpers shared by the kernel tests.</summary>
internal static class ActorTestKit
{
    /// <summary>Upper bound for anything that should happen "eventually"; generous so a loaded CI box never flakes.</summary>
    public static readonly TimeSpan Eventually = TimeSpan.FromSeconds(10);

    public static Task WithinEventually(this Task task) => task.WaitAsync(Eventually);

    public static Task<T> WithinEventually<T>(this Task<T> task) => task.WaitAsync(Eventually);

    /// <summary>Awaits Completion whether it succeeds or faults; returns the fault (null for an orderly stop).</summary>
    public static async Task<Exception?> StoppedAsync(this IActorRef actor)
    {
        try
        {
            await actor.Completion.WithinEventually();
            return null;
        }
        catch (TimeoutException)
        {
            throw;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    public static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Polls a condition that has no event of its own (e.g. a mailbox count) until it holds.</summary>
    public static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Eventually;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Condition not reached in time.");
            }

            await Task.Delay(5);
        }
    }
}
