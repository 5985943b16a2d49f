using ActorSync.Cluster;
using Akka.Actor;

namespace ActorSync.Host.Cli;

/// <summary>
/// `actorsync job` inside its remoting-only system: submits the job (under an id of its own) through a node's
/// gateway, then hears the coordinator's statuses. When they stop coming, or the acceptance never came (the
/// coordinator's node was lost, and another takes over), it submits the same job again through the next contact node:
/// the new coordinator joins it to the job it restarted from the replicated record, or starts it if no record was made.
/// </summary>
internal sealed class JobClient : UntypedActor, IWithTimers
{
    /// <summary>The coordinator reports every second; this much silence means it moved (a take-over takes ~10 s).</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(4);

    /// <summary>How long the job may go unheard of before the client gives up on the cluster: longer than a take-over.</summary>
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(60);

    private readonly string[] _gateways;
    private readonly SubmitJob _submit;
    private bool _accepted;
    private readonly TaskCompletionSource<JobStatus> _done;
    private readonly Action<JobStatus>? _progress;
    private DateTime _heard = DateTime.UtcNow;
    private int _next;
    private string? _waiting;

    public JobClient(string[] gateways, SubmitJob submit, TaskCompletionSource<JobStatus> done, Action<JobStatus>? progress)
    {
        _gateways = gateways;
        _submit = submit with { JobId = submit.JobId ?? Guid.NewGuid() };
        _done = done;
        _progress = progress;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Context.ActorSelection(_gateways[0]).Tell(_submit);
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(1));
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case JobAccepted:
                _accepted = true;
                _heard = DateTime.UtcNow;
                break;
            case JobStatus s:
                _heard = DateTime.UtcNow;
                if (s.Final)
                {
                    _done.TrySetResult(s);
                    Context.Stop(Self);
                }
                else
                {
                    // Said once, whatever --progress: a job that cannot start must not look like one that hangs.
                    if (s.Waiting is { } waiting && waiting != _waiting)
                        Console.Error.WriteLine($"actorsync job: waiting: {waiting}");
                    _waiting = s.Waiting;
                    _progress?.Invoke(s);
                }
                break;
            case Tick:
                var silent = DateTime.UtcNow - _heard;
                if (silent > GiveUp)
                    Fail(_accepted
                        ? $"lost touch with the cluster for {GiveUp.TotalSeconds:F0} s; job {_submit.JobId} may still be running there"
                        : $"no node took the job within {GiveUp.TotalSeconds:F0} s");
                else if (silent > Silence)
                    Context.ActorSelection(_gateways[++_next % _gateways.Length]).Tell(_submit);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Fail(string reason)
    {
        _done.TrySetException(new NoAnswerException(reason));
        Context.Stop(Self);
    }

    public sealed class NoAnswerException(string message) : Exception(message);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
