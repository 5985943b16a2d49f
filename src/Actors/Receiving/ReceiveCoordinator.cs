using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// Knows when an incoming transfer is done: every stream has sent Done (so every byte has arrived, TCP
/// keeps each stream in order) and the writers have accounted for every announced entry, kind by kind. Then it
/// makes the hard links (every first name is in place by then), applies directory owners, modes and mtimes
/// (deepest first, after their content, so writing a child cannot disturb them), removes its temporaries,
/// with --fsync makes it all durable, and tells every stream DoneAck. Committed files are acknowledged in batches.
/// It is the transfer's parent: the FileWriters and a ConnectionReceiver per connection are its children, and its
/// supervisor strategy decides for them (a lost connection stops, and its stream may rejoin; anything else fails
/// the transfer).
/// </summary>
internal sealed class ReceiveCoordinator : UntypedActor, IWithTimers
{
    /// <summary>Adds an authenticated connection of stream <paramref name="Stream"/>; answered with the connection's actor.</summary>
    public sealed record AddConnection(int Stream, ISecureChannel Channel, FrameReader Reader, bool Rejoin);

    /// <summary>Stops the stream's current connection (a rejoin replaces it); answered with <see cref="ConnectionStopped"/> once it has.</summary>
    public sealed record StopConnection(int Stream);

    public sealed record ConnectionStopped
    {
        public static readonly ConnectionStopped Instance = new();
    }

    /// <summary>Answered with <see cref="ConnectionStopped"/> once no connection of the transfer is running.</summary>
    public sealed record WhenConnectionsStopped
    {
        public static readonly WhenConnectionsStopped Instance = new();
    }

    /// <summary>Entries a connection may have queued here before this actor grants more (see <see cref="WriterCredits"/>):
    /// directories are made here one by one, so a stream of Directory frames waits for them instead of piling up.</summary>
    public const int Credits = 256;

    private readonly CreditLedger _credits;

    private readonly int streamCount;
    private readonly ReceiveSession session;
    private readonly DestinationTree tree;
    private readonly TransferOptions options;
    private readonly Guid transferId;
    private readonly TaskCompletionSource<ReceiveOutcome> outcome;
    private readonly StreamProgress[] progress;
    private readonly OwnershipPolicy owners;
    private readonly bool fsync;
    private readonly ILogger _log;
    private readonly List<IActorRef> _writers = [];
    private readonly HashSet<IActorRef> _liveConnections = [];
    private readonly Dictionary<IActorRef, Exception> _lost = [];
    private readonly Dictionary<IActorRef, IActorRef> _stopWaiters = [];
    private readonly List<IActorRef> _allStoppedWaiters = [];

    private readonly ISecureChannel?[] _channels;
    private DirectoryMetadataLog? _directories;
    private HardLinkLog? _links;
    private DirectoryCache? _lookups;
    private readonly List<string> _problems = [];
    /// <summary>What the sender said it could not send: in this side's report, not echoed back in DoneAck.</summary>
    private readonly List<string> _notSent = [];
    private readonly List<ulong> _pendingAcks = [];
    private readonly byte[] _ackFrame = new byte[FrameLimits.HeaderLength + 4 + 8 * FrameLimits.MaxAcksPerFrame];
    private readonly bool[] _done;
    private TransferTotals? _totals;
    private int _doneCount, _ackRotation;
    private long _filesCommitted, _filesFailed, _filesAborted, _symlinks, _symlinksFailed, _specials, _specialsFailed, _directoriesFailed, _bytes, _upToDate;
    private long _linksMade, _otherFailures, _senderSkipped;
    private bool _finished, _countsDeadlineSet;
    /// <summary>--delete: every name the sender mentioned (what is in DEST and not here goes at the end). rsync keeps its
    /// whole file list in memory too; without --delete nothing is remembered.</summary>
    private readonly HashSet<string>? _seen;
    private long _deleted, _deletionsSkipped;
    /// <summary>A dry run counts directories and hard links (their logs would be files in DEST's work area).</summary>
    private long _dryDirectories, _dryLinks;
    /// <summary>--delete: the channel that carried the Deleted frames, which must carry the DoneAck first.</summary>
    private ISecureChannel? _deletionsChannel;

    /// <summary>
    /// Directories whose contents are not complete: something below failed here, or was not sent. They get their
    /// owner and mode at the end like the rest, but not their mtime, which would make them look finished. A
    /// bounded set: past it, every directory counts as incomplete (the safe side).
    /// </summary>
    private readonly HashSet<string> _incomplete = new(StringComparer.Ordinal);
    private bool _allIncomplete;
    private const int MaxIncompleteRemembered = 65_536;

    public ReceiveCoordinator(int streamCount, ReceiveSession session, TransferOptions options, TaskCompletionSource<ReceiveOutcome> outcome,
        StreamProgress[] progress, OwnershipPolicy owners, bool fsync, ILogger log)
    {
        this.streamCount = streamCount;
        this.session = session;
        tree = session.Tree;
        this.options = options;
        transferId = session.TransferId;
        this.outcome = outcome;
        this.progress = progress;
        this.owners = owners;
        this.fsync = fsync;
        _log = log;
        _credits = new CreditLedger(Credits, options.Writers);
        _channels = new ISecureChannel?[streamCount];
        _done = new bool[streamCount];
        if (session.Deletion is not null) _seen = new HashSet<string>(StringComparer.Ordinal);
        // Synchronous: an event per committed file is the hot message here. Its few sends (an Ack frame per batch of
        // files, DoneAck at the end) block this actor's own thread (it runs on the socket dispatcher).
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ReceiveEvent m:
                if (_liveConnections.Contains(Sender)) _credits.Taken(Sender);
                Guarded(() => OnEvent(m));
                break;
            case AddConnection m:
                Guarded(() => Add(m));
                break;
            case StopConnection m:
                if (progress[m.Stream].Connection is { } old && _liveConnections.Contains(old))
                {
                    progress[m.Stream].Channel?.Abort();
                    _stopWaiters[old] = Sender;
                }
                else Sender.Tell(ConnectionStopped.Instance);
                break;
            case WhenConnectionsStopped:
                if (_liveConnections.Count == 0) Sender.Tell(ConnectionStopped.Instance);
                else _allStoppedWaiters.Add(Sender);
                break;
            case Terminated t:
                OnTerminated(t.ActorRef);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;


    protected override void PreStart()
    {
        _lookups = new DirectoryCache(tree);
        // Every stream the transfer announced must join within the join timeout of its first: one that never
        // comes would otherwise hold DEST's lock and a transfer slot for ever.
        Timers.StartSingleTimer(nameof(ReceiveEvent.JoinDeadline), new ReceiveEvent.JoinDeadline(), options.JoinTimeout);
        for (int i = 0; i < options.Writers; i++)
        {
            int index = i;
            _writers.Add(Context.ActorOf(ActorProps.Of(() => new FileWriter(session, index, _log)).WithDispatcher(Engine.ActorSyncDispatchers.File), $"writer-{i}"));
        }
    }

    /// <summary>A failure of this actor's own is the transfer's: reported, never a restart that would forget the counts.</summary>
    private void Guarded(Action handler)
    {
        try { handler(); }
        catch (Exception e)
        {
            outcome.TrySetException(e);
        }
    }

    private void Add(AddConnection m)
    {
        var p = progress[m.Stream];
        var connection = Context.ActorOf(ActorProps.Of(() => new ConnectionReceiver(session, m.Stream, m.Channel, m.Reader, _writers, p, _log))
            .WithDispatcher(Engine.ActorSyncDispatchers.ForSocket(blocking: m.Channel is Transport.Kernel.KernelTlsChannel)), $"connection-{m.Stream}-{p.Epoch}");
        p.Connection = connection;
        Context.Watch(connection);
        _liveConnections.Add(connection);
        Sender.Tell(connection);
        _channels[m.Stream] = m.Channel;
        // A stream that comes back after the end still needs to hear that everything is committed.
        if (_finished) SendDoneAck(m.Channel);
    }

    /// <summary>Connections: a lost one stops (its stream may rejoin), one that breaks the protocol or integrity
    /// fails the transfer. Writers never restart: a failure there (a full disk) is the transfer's.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new PerChildStrategy(0, null, Decide);

    private Directive Decide(IActorRef child, Exception e)
    {
        if (e is IOException or System.Net.Sockets.SocketException or TimeoutException or ObjectDisposedException && e is not DestinationFullException && _liveConnections.Contains(child))
            _lost[child] = e;
        else outcome.TrySetException(e);
        return Directive.Stop;
    }

    private void OnEvent(ReceiveEvent message)
    {
        if (_finished) return;
        switch (message)
        {
            case ReceiveEvent.JoinDeadline:
                int missing = Array.FindIndex(_channels, c => c is null);
                if (missing >= 0)
                    throw new IOException($"stream {missing} of the {streamCount} the sender announced never joined within {options.JoinTimeout.TotalSeconds:0.#} s; the transfer is incomplete");
                break;
            case ReceiveEvent.CountsDeadline:
                if (_totals is { } announced)
                    ThrowHelper.ThrowProtocol($"the sender announced {announced.Files} files, {announced.Symlinks} symlinks, {announced.HardLinks} hard links, " +
                        $"{announced.Specials} special files and {announced.Directories} dirs, but only {FilesAccounted}, {SymlinksAccounted}, {LinkCount}, " +
                        $"{SpecialsAccounted} and {DirectoryCount} arrived");
                break;
            case ReceiveEvent.RejoinDeadline d:
                if (progress[d.Stream].Epoch == d.Epoch && progress[d.Stream].Connection is { } gone && !_liveConnections.Contains(gone))
                    throw new IOException($"stream {d.Stream} was lost ({d.Reason}) and not re-established within {options.RejoinGrace.TotalSeconds:0.#} s; the transfer is incomplete");
                break;
            case ReceiveEvent.NamesSeen n:
                foreach (string path in n.Paths) _seen?.Add(path);
                break;
            case ReceiveEvent.DirectorySeen d when tree.DryRun:
                _seen?.Add(d.Directory.Path);
                _dryDirectories++;
                break;
            case ReceiveEvent.DirectorySeen d:
                _seen?.Add(d.Directory.Path);
                (_directories ??= new DirectoryMetadataLog(tree, transferId)).Add(d.Directory);
                int fd = _lookups!.Get(d.Directory.Path);
                if (fd < 0 && Libc.IsOutOfSpace(-fd)) throw new DestinationFullException(d.Directory.Path, -fd);
                if (fd < 0)
                {
                    Problem(d.Directory.Path, DestinationTree.DescribeOpenFailure(d.Directory.Path, -fd), ref _directoriesFailed);
                    MarkIncomplete(d.Directory.Path, itself: true);
                }
                break;
            case ReceiveEvent.DirectoryAttributes when tree.DryRun:
                break;
            case ReceiveEvent.DirectoryAttributes a:
                SetDirectoryAttributes(a.Attributes);
                break;
            case ReceiveEvent.HardLinkSeen h when tree.DryRun:
                _seen?.Add(h.Link.Path);
                _dryLinks++;
                break;
            case ReceiveEvent.HardLinkSeen h:
                _seen?.Add(h.Link.Path);
                (_links ??= new HardLinkLog(tree, transferId)).Add(h.Link);
                break;
            case ReceiveEvent.FilesCommitted c:
                _filesCommitted += c.FileIds.Length;
                _bytes += c.Bytes;
                _pendingAcks.AddRange(c.FileIds);
                if (_pendingAcks.Count >= options.AckBatch) FlushAcks();
                break;
            case ReceiveEvent.EntryCommitted c:
                if (c.Type == EntryType.Symlink) _symlinks++;
                else _specials++;
                break;
            case ReceiveEvent.SenderSkipped s when s.Entry.SentIncomplete:
                Problem(s.Entry.Path, $"sent incomplete: {s.Entry.Reason}", ref _otherFailures);
                break;
            case ReceiveEvent.SenderSkipped s:
                _senderSkipped++;
                string skipped = RelativePath.Printable(s.Entry.Path);
                _log.LogWarning("the sender could not send {Path}: {Reason}", skipped, s.Entry.Reason);
                if (_notSent.Count < TransferSummary.MaxProblemsListed) _notSent.Add($"{skipped}: not sent: {s.Entry.Reason}");
                MarkIncomplete(s.Entry.Path, itself: s.Entry.Directory);
                break;
            case ReceiveEvent.EntryFailed f:
                MarkIncomplete(f.Path, itself: false);
                if (f.Type == EntryType.File) Problem(f.Path, f.Reason, ref _filesFailed);
                else if (f.Type == EntryType.Symlink) Problem(f.Path, f.Reason, ref _symlinksFailed);
                else Problem(f.Path, f.Reason, ref _specialsFailed);
                break;
            case ReceiveEvent.EntryIncomplete i:
                Problem(i.Path, i.Reason, ref _otherFailures);
                break;
            case ReceiveEvent.FileAborted a:
                _filesAborted++;
                _log.LogWarning("sender dropped {What}", a.Reason);
                break;
            case ReceiveEvent.StreamDone d:
                if (_totals is { } t && t != d.Totals) ThrowHelper.ThrowProtocol("streams disagree about the transfer's totals");
                if (_done[d.Stream]) ThrowHelper.ThrowProtocol($"stream {d.Stream} sent Done twice");
                _totals = d.Totals;
                _done[d.Stream] = true;
                _doneCount++;
                break;
            case ReceiveEvent.AlreadyThere a:
                _upToDate += a.Files;
                break;
        }
        CheckComplete();
    }

    private long FilesAccounted => _filesCommitted + _filesFailed + _filesAborted;
    private long SymlinksAccounted => _symlinks + _symlinksFailed;
    private long SpecialsAccounted => _specials + _specialsFailed;
    private long LinkCount => (_links?.Count ?? 0) + _dryLinks;
    private long DirectoryCount => (_directories?.Count ?? 0) + _dryDirectories;

    private void Problem(string path, string reason, ref long counter)
    {
        counter++;
        string printable = RelativePath.Printable(path);
        _log.LogWarning("cannot write {Path}: {Reason}", printable, reason);
        if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add($"{printable}: {reason}");
    }

    private void CheckComplete()
    {
        if (_doneCount < streamCount || _totals is not { } t) return;
        _log.LogDebug("all streams done; {Files}/{Total} files, {Links}/{TotalLinks} symlinks, {HardLinks}/{TotalHardLinks} hard links, {Specials}/{TotalSpecials} special, {Dirs}/{TotalDirs} dirs accounted for",
            FilesAccounted, t.Files, SymlinksAccounted, t.Symlinks, LinkCount, t.HardLinks, SpecialsAccounted, t.Specials, DirectoryCount, t.Directories);
        if (FilesAccounted > t.Files || SymlinksAccounted > t.Symlinks || LinkCount > t.HardLinks || SpecialsAccounted > t.Specials || DirectoryCount > t.Directories)
            ThrowHelper.ThrowProtocol($"received more entries than the sender announced ({FilesAccounted}/{t.Files} files, {SymlinksAccounted}/{t.Symlinks} symlinks, " +
                $"{LinkCount}/{t.HardLinks} hard links, {SpecialsAccounted}/{t.Specials} special files, {DirectoryCount}/{t.Directories} dirs)");
        if (FilesAccounted < t.Files || SymlinksAccounted < t.Symlinks || LinkCount < t.HardLinks || SpecialsAccounted < t.Specials || DirectoryCount < t.Directories)
        {
            // Every stream has said Done, so every byte is here: once the writers have drained (seconds),
            // the counts add up. If they still don't after the idle timeout, the totals were a lie, and waiting
            // longer would let a peer hold the receiver forever.
            if (!_countsDeadlineSet)
            {
                _countsDeadlineSet = true;
                Timers.StartSingleTimer(nameof(ReceiveEvent.CountsDeadline), new ReceiveEvent.CountsDeadline(), options.IdleTimeout);
            }
            return;
        }

        _finished = true;
        FlushAcks();
        // Files the sender announced and then dropped (their source changed) are not in DEST either.
        long senderFailures = Math.Max(t.Failed, Math.Max(_filesAborted, _senderSkipped));
        if (tree.DryRun) DeleteExtraneous(senderFailures);
        else
        {
            MakeHardLinks();
            // Before the directories get their mtimes: removing an entry changes its directory's.
            DeleteExtraneous(senderFailures);
            ApplyDirectoryMetadata();
            _directories?.Dispose();
            _links?.Dispose();
            tree.RemoveTemporaries(transferId);
            tree.RemoveResumeState();
            if (fsync && tree.SyncAll() is int errno and not 0)
                throw new IOException($"cannot make the received files durable (syncfs): {Libc.Describe(errno)}");
        }
        long failures = Failures;
        // The sender finishes on the first DoneAck it reads: after deletions were named, that must be the one behind them.
        if (_deletionsChannel is null || !SendDoneAck(_deletionsChannel))
            foreach (var channel in _channels) SendDoneAck(channel!);
        outcome.TrySetResult(new ReceiveOutcome(_filesCommitted, DirectoryCount, _symlinks, _linksMade, _specials, _bytes, failures, _upToDate, senderFailures, _deleted, _deletionsSkipped,
            [.. _problems, .. _notSent.Take(TransferSummary.MaxProblemsListed - _problems.Count)], _channels.Select(c => c!.CryptoMode).Distinct().ToArray()));
    }

    /// <summary>
    /// --delete: removes what DEST has and the source does not (see <see cref="DeletionPass"/>), naming each to the sender
    /// in Deleted frames; nothing at all when any entry failed, on either side (its name would look extraneous).
    /// </summary>
    private void DeleteExtraneous(long senderFailures)
    {
        if (session.Deletion is not { } policy) return;
        if (Failures > 0 || senderFailures > 0)
        {
            _log.LogWarning("--delete: nothing deleted, as {Count} entries failed", Failures + senderFailures);
            if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add($"--delete: nothing deleted, as {Failures + senderFailures} entries failed");
            return;
        }
        var names = new List<string>();
        byte[] frame = new byte[FrameLimits.HeaderLength + FrameLimits.MaxMetadataBody];
        _deletionsChannel = _channels[0];
        void Flush()
        {
            for (int from = 0; from < names.Count;)
            {
                int n = FrameWriter.Deleted(frame, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(names)[from..], tree.DryRun, out int taken);
                from += taken;
                if (_deletionsChannel is null) continue;
                try { Send(_deletionsChannel, frame.AsMemory(0, n)); }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    // That stream is gone: the rest go unnamed (counted in DoneAck all the same), and DoneAck on every stream.
                    _deletionsChannel = null;
                }
            }
            names.Clear();
        }
        // A dry run into a DEST that does not exist yet: nothing there to delete.
        if (tree.RootFd < 0) return;
        var pass = new DeletionPass(tree.RootFd, policy, _seen!, tree.DryRun,
            deleted: path =>
            {
                _log.LogDebug("deleted {Path}", RelativePath.Printable(path));
                session.Stats.Report(new TransferItem(tree.DryRun ? TransferItemKind.WouldDelete : TransferItemKind.Deleted, path));
                // A name longer than a frame's path limit (an old tree deeper than PATH_MAX) is counted, not named.
                if (FileNames.GetByteCount(path) <= FrameLimits.MaxPathBytes) names.Add(path);
                if (names.Count >= FrameLimits.MaxAcksPerFrame) Flush();
            },
            problem: (path, reason) => Problem(path, reason, ref _otherFailures));
        pass.Run();
        Flush();
        _deleted = pass.Deleted;
        _deletionsSkipped = pass.Skipped;
        if (pass.Skipped > 0) _log.LogWarning("--max-delete {Max} reached: {Skipped} entries not deleted", policy.MaxDelete, pass.Skipped);
    }

    private long Failures => _filesFailed + _symlinksFailed + _specialsFailed + _directoriesFailed + _otherFailures;

    /// <summary>The directories above <paramref name="path"/> (and it too, if it is a directory that is itself
    /// incomplete) are not complete.</summary>
    private void MarkIncomplete(string path, bool itself)
    {
        if (_allIncomplete) return;
        for (string dir = itself ? path : RelativePath.Split(path).Parent; _incomplete.Add(dir); dir = RelativePath.Split(dir).Parent)
        {
            if (_incomplete.Count > MaxIncompleteRemembered)
            {
                _allIncomplete = true;
                _incomplete.Clear();
                return;
            }
            if (dir.Length == 0) return;
        }
    }

    /// <summary>False when that stream is gone (it rejoins and hears it then).</summary>
    private bool SendDoneAck(ISecureChannel channel)
    {
        var ack = new DoneAckFrame(_filesCommitted, _bytes, (int)Math.Min(int.MaxValue, Failures), _problems, _deleted, _deletionsSkipped);
        byte[] frame = new byte[FrameLimits.HeaderLength + FrameLimits.MaxMetadataBody];
        int n = FrameWriter.DoneAck(frame, ack);
        try { Send(channel, frame.AsMemory(0, n)); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { return false; }
        return true;
    }

    /// <summary>
    /// A connection actor stopped. After a clean end that is expected; after a loss the stream has
    /// <see cref="TransferOptions.RejoinGrace"/> to come back before the transfer is declared incomplete.
    /// </summary>
    private void OnTerminated(IActorRef actor)
    {
        _liveConnections.Remove(actor);
        if (_stopWaiters.Remove(actor, out var waiter)) waiter.Tell(ConnectionStopped.Instance);
        if (_liveConnections.Count == 0)
        {
            foreach (var w in _allStoppedWaiters) w.Tell(ConnectionStopped.Instance);
            _allStoppedWaiters.Clear();
        }
        if (!_lost.Remove(actor, out var reason) || _finished) return;
        int stream = Array.FindIndex(progress, p => p.Connection is { } c && c.Equals(actor));
        if (stream < 0) return;   // an older connection of a stream that has rejoined
        int epoch = progress[stream].Epoch;
        string why = TransferFailure.Describe(reason);
        _log.LogWarning("stream {Stream} lost: {Reason}; waiting up to {Grace} s for the sender to re-establish it", stream, why, options.RejoinGrace.TotalSeconds);
        session.StreamLost?.Invoke(session.TransferId);
        Timers.StartSingleTimer($"rejoin-{stream}-{epoch}", new ReceiveEvent.RejoinDeadline(stream, epoch, why), options.RejoinGrace);
    }

    /// <summary>A directory's extended attributes, set as soon as it exists (its contents do not change them).</summary>
    private void SetDirectoryAttributes(AttributesFrame attributes)
    {
        string path = attributes.DirectoryPath!;
        int fd = _lookups!.Get(path, create: false);
        if (fd < 0) return;   // it could not be created: already reported
        foreach (var (name, value) in attributes.Attributes)
        {
            if (!owners.MaySetAttribute(name)) continue;
            int errno = Libc.WriteAttribute(fd, name, value);
            if (errno != 0) Problem(path, $"cannot set extended attribute {FileNames.Printable(name)}: {Libc.Describe(errno)}", ref _otherFailures);
        }
    }

    /// <summary>
    /// Each link is made once its first name is in place as the sender had it (same size and mtime; a first name
    /// that failed, or is another version, is not linked to). Made in the temporary area and renamed over the
    /// name, so it replaces what is there; a name that already is that inode is left alone.
    /// </summary>
    private void MakeHardLinks()
    {
        if (_links is null) return;
        using var parents = new DirectoryCache(tree);
        long n = 0;
        foreach (var link in _links.All())
        {
            var (targetParent, targetName) = RelativePath.Split(link.Target);
            int targetDir = parents.Get(targetParent, create: false);
            if (targetDir < 0 || Libc.StatNoFollow(targetDir, targetName, out var target) != 0 || (target.Mode & Libc.S_IFMT) != Libc.S_IFREG
                || (long)target.Size != link.TargetSize || target.Mtime.Sec != link.TargetMTime.Seconds || target.Mtime.Nsec != link.TargetMTime.Nanoseconds)
            {
                NotLinked(link.Path, $"not linked: its first name \"{RelativePath.Printable(link.Target)}\" did not arrive as the sender has it");
                continue;
            }
            var (parent, name) = RelativePath.Split(link.Path);
            int dir = parents.Get(parent);
            if (dir < 0) { NotLinked(link.Path, DestinationTree.DescribeOpenFailure(parent, -dir)); continue; }
            if (Libc.StatNoFollow(dir, name, out var existing) == 0 && existing.Ino == target.Ino && existing.DevMajor == target.DevMajor && existing.DevMinor == target.DevMinor)
            {
                _linksMade++;
                continue;
            }
            string temp = $"{transferId:N}-h{n++}";
            if (Libc.Link(targetDir, targetName, tree.TempFd, temp) != 0)
            {
                int e = Libc.LastErrno;
                if (Libc.IsOutOfSpace(e)) throw new DestinationFullException(link.Path, e);
                NotLinked(link.Path, $"cannot link to \"{RelativePath.Printable(link.Target)}\": {Libc.Describe(e)}");
                continue;
            }
            if (Libc.Rename(tree.TempFd, temp, dir, name) != 0)
            {
                int e = Libc.LastErrno;
                Libc.Unlink(tree.TempFd, temp);
                NotLinked(link.Path, e is Libc.EISDIR or Libc.ENOTEMPTY or Libc.EEXIST ? "a directory of that name is in the way" : $"cannot move into place: {Libc.Describe(e)}");
                continue;
            }
            _linksMade++;
        }
    }

    /// <summary>A hard link not made: a problem, and its directories are not complete (their mtimes stay unset).</summary>
    private void NotLinked(string path, string reason)
    {
        Problem(path, reason, ref _otherFailures);
        MarkIncomplete(path, itself: false);
    }

    /// <summary>
    /// Owner, mode and mtime of every directory, deepest first (the mtime only where the contents are complete).
    /// By name below a parent opened without following symlinks, each call refusing a symlink in the directory's
    /// place: a directory swapped for a link meanwhile changes nothing outside DEST.
    /// </summary>
    private void ApplyDirectoryMetadata()
    {
        uint keep = options.ModeMask;
        using var parents = new DirectoryCache(tree);
        if (_directories is null) return;
        foreach (var d in _directories.DeepestFirst())
        {
            var (parent, name) = RelativePath.Split(d.Path);
            int fd = parents.Get(parent, create: false);
            if (fd < 0 || Libc.StatNoFollow(fd, name, out var st) != 0) continue;
            if ((st.Mode & Libc.S_IFMT) != Libc.S_IFDIR)
            {
                Problem(d.Path, "not a directory any more; its mode and mtime were not set", ref _directoriesFailed);
                continue;
            }
            bool complete = !_allIncomplete && !_incomplete.Contains(d.Path);
            bool ok = (owners.For(d.Uid, d.Gid, st.Uid, st.Gid) is not { } owner || Libc.SetOwnerAt(fd, name, owner.Uid, owner.Gid) == 0)
                && Libc.SetModeAt(fd, name, d.Mode & keep) == 0
                && (!complete || Libc.SetModificationTimeAt(fd, name, d.MTime.Seconds, d.MTime.Nanoseconds) == 0);
            if (!ok) Problem(d.Path, $"cannot set directory owner/mode/mtime: {Libc.Describe(Libc.LastErrno)}", ref _directoriesFailed);
        }
    }

    protected override void PostStop()
    {
        _directories?.Dispose();
        _links?.Dispose();
        _lookups?.Dispose();
    }

    /// <summary>Sends on a stream from this actor's own thread, and waits until the send is done.</summary>
    private static void Send(ISecureChannel channel, ReadOnlyMemory<byte> frame)
    {
        var sending = channel.SendAsync(frame);
        if (!sending.IsCompletedSuccessfully) sending.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Acknowledges the committed files, a frame per ack-batch (commits come in batches, so there may be more).</summary>
    private void FlushAcks()
    {
        var pending = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pendingAcks);
        for (int from = 0; from < pending.Length; from += options.AckBatch)
        {
            var channel = _channels[_ackRotation++ % streamCount];
            int n = FrameWriter.Ack(_ackFrame, pending.Slice(from, Math.Min(options.AckBatch, pending.Length - from)));
            if (channel is null || n == 0) continue;
            try { Send(channel, _ackFrame.AsMemory(0, n)); }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { /* acks are progress only; Done decides */ }
        }
        _pendingAcks.Clear();
    }
}

/// <param name="SenderFailures">Entries the sender found but could not send (unreadable, vanished, changed while
/// read): DEST is then not a complete copy, and the receiver says so too.</param>
internal sealed record ReceiveOutcome(long Files, long Directories, long Symlinks, long HardLinks, long Specials, long Bytes, long Failures, long UpToDate,
    long SenderFailures, long Deleted, long DeletionsSkipped, IReadOnlyList<string> Problems, string[] CryptoModes);
