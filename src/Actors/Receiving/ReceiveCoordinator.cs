using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Microsoft.Extensions.Logging;

namespace ActorSync.Receiving;

/// <summary>
/// Knows when an incoming transfer is done: every stream has sent Done (so every byte has arrived, TCP
/// keeps each stream in order) and the writers have accounted for every announced entry. Then it applies
/// directory modes and mtimes (deepest first, after their content, so writing a child cannot disturb them),
/// removes its temporaries and tells every stream DoneAck. Committed files are acknowledged in batches.
/// </summary>
internal sealed class ReceiveCoordinator(int streamCount, DestinationTree tree, TransferOptions options, Guid transferId,
    TaskCompletionSource<ReceiveOutcome> outcome, StreamProgress[] progress) : Actor<ReceiveEvent>
{
    private readonly ISecureChannel?[] _channels = new ISecureChannel?[streamCount];
    private readonly bool[] _done = new bool[streamCount];
    private DirectoryMetadataLog? _directories;
    private readonly List<string> _problems = [];
    private readonly List<ulong> _pendingAcks = [];
    private readonly byte[] _ackFrame = new byte[FrameLimits.HeaderLength + 4 + 8 * 4096];
    private TransferTotals? _totals;
    private int _doneCount, _ackRotation;
    private long _filesCommitted, _filesFailed, _filesAborted, _symlinks, _symlinksFailed, _directoriesFailed, _bytes, _upToDate;
    private bool _finished, _countsDeadlineSet;

    protected internal override async ValueTask ReceiveAsync(ReceiveEvent message)
    {
        if (message is ReceiveEvent.StreamJoined j)
        {
            _channels[j.Stream] = j.Channel;
            Context.Watch(j.Connection);
            // A stream that comes back after the end still needs to hear that everything is committed.
            if (_finished) await SendDoneAckAsync(j.Channel).ConfigureAwait(false);
            return;
        }
        if (_finished) return;
        switch (message)
        {
            case ReceiveEvent.CountsDeadline:
                if (_totals is { } announced)
                    ThrowHelper.ThrowProtocol($"the sender announced {announced.Files} files, {announced.Symlinks} symlinks and {announced.Directories} dirs, " +
                        $"but only {_filesCommitted + _filesFailed + _filesAborted}, {_symlinks + _symlinksFailed} and {DirectoryCount} arrived");
                break;
            case ReceiveEvent.RejoinDeadline d:
                if (progress[d.Stream].Epoch == d.Epoch && progress[d.Stream].Connection is { IsTerminated: true })
                    throw new IOException($"stream {d.Stream} was lost ({d.Reason}) and not re-established within {options.RejoinGrace.TotalSeconds:0.#} s; the transfer is incomplete");
                break;
            case ReceiveEvent.DirectorySeen d:
                (_directories ??= new DirectoryMetadataLog(tree, transferId)).Add(d.Directory);
                int fd = tree.OpenDirectory(d.Directory.Path, create: true);
                if (fd >= 0) Libc.Close(fd);
                else if (Libc.IsOutOfSpace(-fd)) throw new DestinationFullException(d.Directory.Path, -fd);
                else Problem(d.Directory.Path, DestinationTree.DescribeOpenFailure(d.Directory.Path, -fd), ref _directoriesFailed);
                break;
            case ReceiveEvent.FileCommitted c:
                _filesCommitted++;
                _bytes += c.Bytes;
                _pendingAcks.Add(c.FileId);
                if (_pendingAcks.Count >= options.AckBatch) await FlushAcksAsync().ConfigureAwait(false);
                break;
            case ReceiveEvent.SymlinkCommitted:
                _symlinks++;
                break;
            case ReceiveEvent.EntryFailed f:
                if (f.IsSymlink) Problem(f.Path, f.Reason, ref _symlinksFailed);
                else Problem(f.Path, f.Reason, ref _filesFailed);
                break;
            case ReceiveEvent.FileAborted a:
                _filesAborted++;
                Context.Log.LogWarning("sender dropped {What}", a.Reason);
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
        await CheckCompleteAsync().ConfigureAwait(false);
    }

    private void Problem(string path, string reason, ref long counter)
    {
        counter++;
        Context.Log.LogWarning("cannot write {Path}: {Reason}", path, reason);
        if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add($"{path}: {reason}");
    }

    private async ValueTask CheckCompleteAsync()
    {
        if (_doneCount < streamCount || _totals is not { } t) return;
        long files = _filesCommitted + _filesFailed + _filesAborted;
        long links = _symlinks + _symlinksFailed;
        Context.Log.LogDebug("all streams done; {Files}/{Total} files, {Links}/{TotalLinks} symlinks, {Dirs}/{TotalDirs} dirs accounted for",
            files, t.Files, links, t.Symlinks, DirectoryCount, t.Directories);
        if (files > t.Files || links > t.Symlinks || DirectoryCount > t.Directories)
            ThrowHelper.ThrowProtocol($"received more entries than the sender announced ({files}/{t.Files} files, {links}/{t.Symlinks} symlinks, {DirectoryCount}/{t.Directories} dirs)");
        if (files < t.Files || links < t.Symlinks || DirectoryCount < t.Directories)
        {
            // Every stream has said Done, so every byte is here: once the writers have drained (seconds),
            // the counts add up. If they still don't after the idle timeout, the totals were a lie, and waiting
            // longer would let a peer hold the receiver forever.
            if (!_countsDeadlineSet)
            {
                _countsDeadlineSet = true;
                var self = (IActorRef<ReceiveEvent>)Context.Self;
                _ = Task.Delay(options.IdleTimeout).ContinueWith(_ => self.TryTell(new ReceiveEvent.CountsDeadline()), TaskScheduler.Default);
            }
            return;
        }

        _finished = true;
        await FlushAcksAsync().ConfigureAwait(false);
        ApplyDirectoryMetadata();
        _directories?.Dispose();
        tree.RemoveTemporaries(transferId);
        tree.RemovePartials();
        long failures = _filesFailed + _symlinksFailed + _directoriesFailed;
        foreach (var channel in _channels) await SendDoneAckAsync(channel!).ConfigureAwait(false);
        outcome.TrySetResult(new ReceiveOutcome(_filesCommitted, DirectoryCount, _symlinks, _bytes, failures, _upToDate, t.Skipped, [.. _problems],
            _channels.Select(c => c!.CryptoMode).Distinct().ToArray()));
    }

    private async ValueTask SendDoneAckAsync(ISecureChannel channel)
    {
        long failures = _filesFailed + _symlinksFailed + _directoriesFailed;
        var ack = new DoneAckFrame(_filesCommitted, _bytes, (int)Math.Min(int.MaxValue, failures), _problems);
        byte[] frame = new byte[FrameLimits.HeaderLength + FrameLimits.MaxMetadataBody];
        int n = FrameWriter.DoneAck(frame, ack);
        try { await channel.SendAsync(frame.AsMemory(0, n)).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { /* that stream rejoins and hears it then */ }
    }

    /// <summary>
    /// A connection actor stopped. After a clean end that is expected; after a loss the stream has
    /// <see cref="TransferOptions.RejoinGrace"/> to come back before the transfer is declared incomplete.
    /// </summary>
    protected internal override ValueTask OnTerminatedAsync(IActorRef actor, Exception? reason)
    {
        if (reason is null || _finished) return ValueTask.CompletedTask;
        int stream = Array.FindIndex(progress, p => ReferenceEquals(p.Connection, actor));
        if (stream < 0) return ValueTask.CompletedTask;   // an older connection of a stream that has rejoined
        int epoch = progress[stream].Epoch;
        Context.Log.LogWarning("stream {Stream} lost: {Reason}; waiting up to {Grace} s for the sender to re-establish it",
            stream, TransferFailure.Describe(reason), options.RejoinGrace.TotalSeconds);
        var self = (IActorRef<ReceiveEvent>)Context.Self;
        string why = TransferFailure.Describe(reason);
        _ = Task.Delay(options.RejoinGrace).ContinueWith(_ => self.TryTell(new ReceiveEvent.RejoinDeadline(stream, epoch, why)), TaskScheduler.Default);
        return ValueTask.CompletedTask;
    }

    private void ApplyDirectoryMetadata()
    {
        uint keep = options.PreserveSpecialBits ? 0xFFFu : 0x1FFu;
        using var parents = new DirectoryCache(tree);
        if (_directories is null) return;
        foreach (var d in _directories.DeepestFirst())
        {
            var (parent, name) = RelativePath.Split(d.Path);
            int fd = parents.Get(parent);
            if (fd < 0) continue;
            if (Libc.SetModeAt(fd, name, d.Mode & keep) != 0 || Libc.SetModificationTimeAt(fd, name, d.MTime.Seconds, d.MTime.Nanoseconds) != 0)
                Problem(d.Path, $"cannot set directory mode/mtime: {Libc.Describe(Libc.LastErrno)}", ref _directoriesFailed);
        }
    }

    private long DirectoryCount => _directories?.Count ?? 0;

    protected internal override ValueTask PostStopAsync()
    {
        _directories?.Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask FlushAcksAsync()
    {
        if (_pendingAcks.Count == 0) return;
        var channel = _channels[_ackRotation++ % streamCount];
        int n = FrameWriter.Ack(_ackFrame, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pendingAcks));
        _pendingAcks.Clear();
        if (channel is null || n == 0) return;
        try { await channel.SendAsync(_ackFrame.AsMemory(0, n)).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { /* acks are progress only; Done decides */ }
    }
}

/// <param name="SenderSkipped">Entries the sender found but could not send (unreadable, vanished, changed while
/// read): DEST is then not a complete copy, and the receiver says so too.</param>
internal sealed record ReceiveOutcome(long Files, long Directories, long Symlinks, long Bytes, long Failures, long UpToDate, long SenderSkipped,
    IReadOnlyList<string> Problems, string[] CryptoModes);
