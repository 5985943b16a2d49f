using ActorSync.Engine;
using Akka.Actor;

namespace ActorSync.Hosting;

/// <summary>
/// ActorSync's actor in a host's ActorSystem (registered as <see cref="ActorSyncCoordinator"/>): one
/// <see cref="TransferRunner"/> child per request. A transfer that fails unexpectedly is stopped, never
/// restarted (its requester gets a failed <see cref="TransferCompleted"/>; re-running it is the requester's
/// choice, and a re-run resumes), and the others go on.
/// </summary>
internal sealed class TransferHost : UntypedActor
{
    private readonly Dictionary<Guid, IActorRef> _running = [];

    private readonly ActorSyncEngine _engine;

    public TransferHost(ActorSyncEngine engine) => _engine = engine;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case StartSend m:
                var sendRequester = Sender;
                Start(id => TransferRunner.ForSend(id, _engine, m, sendRequester));
                break;
            case StartReceive m:
                var receiveRequester = Sender;
                Start(id => TransferRunner.ForReceive(id, _engine, m, receiveRequester));
                break;
            case CancelTransfer m:
                if (_running.TryGetValue(m.TransferId, out var runner)) runner.Forward(m);
                break;
            case RunnerEnded m:
                _running.Remove(m.TransferId);
                break;
            default:
                Unhandled(message);
                break;
        }
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
