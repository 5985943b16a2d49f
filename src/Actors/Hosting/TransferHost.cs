using ActorSync.Engine;
using Akka.Actor;

namespace ActorSync.Hosting;

/// <summary>
/// ActorSync's actor in a host's ActorSystem (registered as <see cref="ActorSyncCoordinator"/>): one
/// <see cref="TransferRunner"/> child per request. A transfer that fails unexpectedly is stopped, never
/// restarted (its requester gets a failed <see cref="TransferCompleted"/>; re-running it is the requester's
/// choice, and a re-run resumes), and the others go on.
/// </summary>
internal sealed class TransferHost : ReceiveActor
{
    private readonly Dictionary<Guid, IActorRef> _running = [];

    public TransferHost(ActorSyncEngine engine)
    {
        Receive<StartSend>(m => Start(id => TransferRunner.ForSend(id, engine, m, Sender)));
        Receive<StartReceive>(m => Start(id => TransferRunner.ForReceive(id, engine, m, Sender)));
        Receive<CancelTransfer>(m =>
        {
            if (_running.TryGetValue(m.TransferId, out var runner)) runner.Forward(m);
        });
        Receive<RunnerEnded>(m => _running.Remove(m.TransferId));
    }

    private void Start(Func<Guid, Props> props)
    {
        var id = Guid.NewGuid();
        var runner = Context.ActorOf(props(id), $"transfer-{id:N}");
        _running[id] = runner;
        Context.WatchWith(runner, new RunnerEnded(id));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    private sealed record RunnerEnded(Guid TransferId);
}
