using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Transport.Frames;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Tracks a sending transfer: problems per entry, acknowledgements, and completion, which is when every
/// stream has had its DoneAck. The first fatal event ends the transfer.
/// </summary>
internal sealed class TransferCoordinator(int streams, TransferStats stats, TaskCompletionSource<SendOutcome> outcome) : Actor<SendEvent>
{
    private readonly List<string> _problems = [];
    private int _finished;
    private DoneAckFrame _receiverView;

    protected internal override ValueTask ReceiveAsync(SendEvent message)
    {
        switch (message)
        {
            case SendEvent.Problem p:
                string path = RelativePath.Printable(p.Path);
                Context.Log.LogWarning("skipped {Path}: {Reason}", path, p.Reason);
                if (_problems.Count < TransferSummary.MaxProblemsListed) _problems.Add($"{path}: {p.Reason}");
                break;
            case SendEvent.TotalsRequest r:
                // Done carries exactly what was announced, kind by kind, as the readers counted it where they wrote
                // each entry's first frame: the receiver completes when it has accounted for all of them.
                r.ReplyTo.Reply(new TransferTotals(stats.AnnouncedFiles, stats.AnnouncedDirectories, stats.AnnouncedSymlinks, r.Walk.Bytes, stats.FailedEntries,
                    stats.AnnouncedHardLinks, stats.AnnouncedSpecials));
                break;
            case SendEvent.Acked a:
                stats.Done(a.Files, 0);
                break;
            case SendEvent.StreamFinished f:
                // The receiver answers DoneAck only once everything is committed: one is enough. Waiting for
                // all would let a stream lost at the very end fail a finished copy.
                _receiverView = f.Ack;
                _finished++;
                outcome.TrySetResult(new SendOutcome(_receiverView, [.. _problems]));
                break;
            case SendEvent.StreamFailed f:
                outcome.TrySetException(f.Error);
                break;
            case SendEvent.WatchStreams w:
                foreach (var sender in w.Senders) Context.Watch(sender);
                break;
        }
        return ValueTask.CompletedTask;
    }

    protected internal override ValueTask OnTerminatedAsync(IActorRef actor, Exception? reason)
    {
        if (reason is not null && !outcome.Task.IsCompleted)
            outcome.TrySetException(new TransferFailedException(
                $"{actor.Path} gave up after its restart budget ({TransferFailure.Describe(reason)}); " +
                $"{stats.FilesDone} of {stats.FilesFound} files confirmed by the receiver, the rest incomplete"));
        else if (_finished < streams && !outcome.Task.IsCompleted)
            outcome.TrySetException(new TransferFailedException($"{actor.Path} stopped before the transfer was complete"));
        return ValueTask.CompletedTask;
    }
}

internal sealed record SendOutcome(DoneAckFrame Receiver, IReadOnlyList<string> Problems);
