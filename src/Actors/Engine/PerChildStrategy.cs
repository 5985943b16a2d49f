using Akka.Actor;

namespace ActorSync.Engine;

/// <summary>
/// <see cref="OneForOneStrategy"/> (its retry budget: at most <paramref name="maxRetries"/> restarts per child within
/// <paramref name="within"/>, then the child is stopped) whose decision may depend on which child failed: a
/// transfer's parent restarts a stream but not a reader. Failures are reported by the decision, not logged by Akka.
/// </summary>
internal sealed class PerChildStrategy(int maxRetries, TimeSpan? within, Func<IActorRef, Exception, Directive> decide)
    : OneForOneStrategy(maxRetries, within is { } w ? (int)Math.Min(int.MaxValue, w.TotalMilliseconds) : -1, static _ => Directive.Stop, loggingEnabled: false)
{
    protected override Directive Handle(IActorRef child, Exception exception) =>
        decide(child, exception is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : exception);
}
