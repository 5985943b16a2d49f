using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace ActorSync.Actors;

/// <summary>
/// The runtime of one actor as seen from outside: the bounded mailbox, the instance cells that drain it
/// (one, or PoolSize for a balancing pool), and the Completion they share.
/// </summary>
internal sealed class LocalActorRef<T> : IActorRef<T>, IInternalActorRef
{
    private readonly Channel<T> _mailbox;
    private readonly ActorCell<T>[] _cells;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopCts = new();
    private Exception? _failure;
    private int _liveCells;
    private int _stopRequested;
    private int _nextWake; // where a pool starts looking for an idle instance; races are harmless, it is a hint

    private LocalActorRef(ActorSystem system, IActorParent parent, string path, Props<T> props)
    {
        System = system;
        Parent = parent;
        Path = path;
        Props = props;
        _mailbox = Channel.CreateBounded<T>(new BoundedChannelOptions(props.MailboxCapacity)
        {
            SingleReader = props.PoolSize == 1,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false, // a producer's write must never run actor code inline
        });
        _cells = new ActorCell<T>[props.PoolSize];
        for (var i = 0; i < _cells.Length; i++)
        {
            _cells[i] = new ActorCell<T>(this);
        }

        _liveCells = _cells.Length;
    }

    public string Path { get; }

    public Task Completion => _completion.Task;

    public bool IsTerminated => _completion.Task.IsCompleted;

    public int MailboxCount => _mailbox.Reader.Count;

    internal ActorSystem System { get; }

    internal IActorParent Parent { get; }

    internal Props<T> Props { get; }

    internal ChannelReader<T> Reader => _mailbox.Reader;

    internal bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Cancelled by Stop() so a restart backoff does not delay stopping.</summary>
    internal CancellationToken StopToken => _stopCts.Token;

    /// <summary>Validates <paramref name="props"/> and builds the ref; the caller registers it as a child, then calls Start.</summary>
    internal static LocalActorRef<T> Create(ActorSystem system, IActorParent parent, Props<T> props)
    {
        ArgumentNullException.ThrowIfNull(props);
        ArgumentNullException.ThrowIfNull(props.Factory, nameof(props.Factory));
        ArgumentNullException.ThrowIfNull(props.Supervisor, nameof(props.Supervisor));
        ArgumentOutOfRangeException.ThrowIfLessThan(props.MailboxCapacity, 1, nameof(props.MailboxCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(props.PoolSize, 1, nameof(props.PoolSize));
        if (props.Name is { } name && (name.Length == 0 || name.Contains('/')))
        {
            throw new ArgumentException($"Invalid actor name '{name}': it must be non-empty and contain no '/'.", nameof(props));
        }

        var path = parent.Path + "/" + (props.Name ?? system.NextAutoName());
        return new LocalActorRef<T>(system, parent, path, props);
    }

    internal void Start()
    {
        System.Register(this);
        foreach (var cell in _cells)
        {
            cell.Start();
        }
    }

    public bool TryTell(T message)
    {
        if (!_mailbox.Writer.TryWrite(message))
        {
            return false;
        }

        WakeIdleCell();
        return true;
    }

    public ValueTask TellAsync(T message, CancellationToken cancellationToken = default)
    {
        // Fast path: no async state machine when there is room.
        if (_mailbox.Writer.TryWrite(message))
        {
            WakeIdleCell();
            return default;
        }

        return TellSlowAsync(message, cancellationToken);
    }

    // Pooled: under sustained backpressure producers take this path often; don't allocate a box each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask TellSlowAsync(T message, CancellationToken cancellationToken)
    {
        try
        {
            await _mailbox.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ActorTerminatedException(Path);
        }

        WakeIdleCell();
    }

    public void Complete()
    {
        if (_mailbox.Writer.TryComplete())
        {
            WakeAllCells();
        }
    }

    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            return;
        }

        _mailbox.Writer.TryComplete(); // blocked TellAsync callers get ActorTerminatedException now
        _stopCts.Cancel();
        WakeAllCells();
    }

    /// <summary>Called by each cell once its instance has stopped; the last one completes the actor.</summary>
    internal void OnCellStopped(Exception? failure)
    {
        if (failure is not null)
        {
            Interlocked.CompareExchange(ref _failure, failure, null);
        }

        if (Interlocked.Decrement(ref _liveCells) != 0)
        {
            return;
        }

        _mailbox.Writer.TryComplete();
        while (_mailbox.Reader.TryRead(out _))
        {
            // drop what Stop() left queued so it can be collected
        }

        Parent.ChildStopped(this);
        System.Unregister(this);
        KernelLog.Stopped(System.Log, Path);
        if (_failure is { } reason)
        {
            _completion.TrySetException(reason);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private void WakeIdleCell()
    {
        Interlocked.MemoryBarrier(); // pairs with Doorbell.Arm: the write above is visible before we read its state
        var cells = _cells;
        if (cells.Length == 1)
        {
            cells[0].Bell.TryRing();
            return;
        }

        var start = (int)((uint)_nextWake++ % (uint)cells.Length);
        for (var i = 0; i < cells.Length; i++)
        {
            if (cells[(start + i) % cells.Length].Bell.TryRing())
            {
                return;
            }
        }
    }

    private void WakeAllCells()
    {
        Interlocked.MemoryBarrier();
        foreach (var cell in _cells)
        {
            cell.Bell.TryRing();
        }
    }

    public override string ToString() => Path;
}
