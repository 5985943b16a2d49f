using Akka.Actor;

namespace ActorSync.Tests.Support;

/// <summary>
/// Stands in for a pipeline actor's parent: creates the actor under test as its child ("child") and passes what the
/// child tells it, and the child's failures, to the test; what the test sends it goes to the child.
/// </summary>
public sealed class TestParent : UntypedActor
{
    private readonly IActorRef _child;
    private readonly IActorRef _test;

    public TestParent(Props child, IActorRef test)
    {
        _test = test;
        _child = Context.ActorOf(child, "child");
    }

    protected override void OnReceive(object message)
    {
        if (Sender.Equals(_child)) _test.Forward(message);
        else _child.Forward(message);
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
