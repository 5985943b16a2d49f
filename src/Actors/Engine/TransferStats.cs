using System.Diagnostics;

namespace ActorSync.Engine;

/// <summary>Live counters of one transfer, updated by many actors with Interlocked, read by the progress bar.</summary>
public sealed class TransferStats
{
    private long _filesFound, _bytesFound, _filesDone, _bytesDone, _payloadBytesSent, _wireBytes, _failed, _sendfileBytes, _sendfileRanges, _upToDate, _resumed;
    private long _announcedFiles, _announcedDirectories, _announcedSymlinks, _announcedHardLinks, _announcedSpecials, _abortedFiles;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    /// <summary>Stopwatch ticks at the first file data handed to a stream; 0 until then.</summary>
    private long _firstPayloadTicks;
    private volatile bool _walkComplete;

    /// <summary>Called with each entry reported by name (deletions; in a dry run, what would be sent and deleted), from
    /// the transfer's coordinator, one call at a time. Set it before the transfer starts.</summary>
    public Action<TransferItem>? OnItem { get; set; }

    private long _deleted, _wouldSendFiles, _wouldSendBytes;

    /// <summary>Entries reported <see cref="TransferItemKind.Deleted"/> (or would be, in a dry run) so far.</summary>
    public long Deleted => Volatile.Read(ref _deleted);

    /// <summary>A dry run: files (and their bytes) that would be sent.</summary>
    public long WouldSendFiles => Volatile.Read(ref _wouldSendFiles);
    public long WouldSendBytes => Volatile.Read(ref _wouldSendBytes);

    /// <summary>An item the other end of a copy over ssh reported (a remote sender's dry-run plan): counted and passed
    /// on as if this side had found it.</summary>
    public void ReportRemote(TransferItem item) => Report(item);

    internal void Report(TransferItem item)
    {
        if (item.Kind is TransferItemKind.Deleted or TransferItemKind.WouldDelete) Interlocked.Increment(ref _deleted);
        if (item.Kind == TransferItemKind.WouldSend)
        {
            Interlocked.Increment(ref _wouldSendFiles);
            Interlocked.Add(ref _wouldSendBytes, item.Size);
        }
        OnItem?.Invoke(item);
    }

    /// <summary>Files/bytes discovered so far (sender) or announced (receiver).</summary>
    public long FilesFound => Volatile.Read(ref _filesFound);
    public long BytesFound => Volatile.Read(ref _bytesFound);
    /// <summary>Files/bytes acknowledged (sender) or committed (receiver).</summary>
    public long FilesDone => Volatile.Read(ref _filesDone);
    public long BytesDone => Volatile.Read(ref _bytesDone);
    public long PayloadBytesSent => Volatile.Read(ref _payloadBytesSent);
    public long WireBytes => Volatile.Read(ref _wireBytes);
    /// <summary>Entries that could not be sent or written (unreadable, vanished, changed while read, in the way).</summary>
    public long FailedEntries => Volatile.Read(ref _failed);
    /// <summary>Files the other side already had (quick check or checksum): not sent.</summary>
    public long UpToDateFiles => Volatile.Read(ref _upToDate);
    /// <summary>Bytes of partly received files that were already durable at the receiver and so not sent again.</summary>
    public long BytesResumed => Volatile.Read(ref _resumed);
    /// <summary>Bytes and ranges that went from the page cache to a kTLS socket by sendfile(2).</summary>
    public long SendfileBytes => Volatile.Read(ref _sendfileBytes);
    public long SendfileRanges => Volatile.Read(ref _sendfileRanges);
    public bool WalkComplete => _walkComplete;
    public TimeSpan Elapsed => _clock.Elapsed;
    /// <summary>From the transfer's start to its first file data handed to a stream (null: none yet).</summary>
    public TimeSpan? FirstPayloadAfter => Volatile.Read(ref _firstPayloadTicks) is long t and > 0 ? TimeSpan.FromTicks(t * TimeSpan.TicksPerSecond / Stopwatch.Frequency) : null;
    /// <summary>How long the process had run when this transfer started: with <see cref="FirstPayloadAfter"/>, a CLI's
    /// time to first byte. Null where /proc cannot tell.</summary>
    public TimeSpan? StartedAfterProcessStart { get; } = DateTime.UtcNow - ProcessStart.Value;

    /// <summary>Read once per process (from /proc); null where it cannot be told.</summary>
    private static readonly Lazy<DateTime?> ProcessStart = new(() =>
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return self.StartTime.ToUniversalTime();
        }
        catch (InvalidOperationException) { return null; }
        catch (System.ComponentModel.Win32Exception) { return null; }
    });

    /// <summary>Sender: entries announced to the receiver (their first frame written), per kind; what Done carries.</summary>
    public long AnnouncedFiles => Volatile.Read(ref _announcedFiles);
    public long AnnouncedDirectories => Volatile.Read(ref _announcedDirectories);
    public long AnnouncedSymlinks => Volatile.Read(ref _announcedSymlinks);
    public long AnnouncedHardLinks => Volatile.Read(ref _announcedHardLinks);
    public long AnnouncedSpecials => Volatile.Read(ref _announcedSpecials);
    /// <summary>Sender: announced files that were then aborted (their source changed while being sent).</summary>
    public long AbortedFiles => Volatile.Read(ref _abortedFiles);

    internal void Found(long bytes) { Interlocked.Increment(ref _filesFound); Interlocked.Add(ref _bytesFound, bytes); }
    internal void Done(long files, long bytes) { Interlocked.Add(ref _filesDone, files); Interlocked.Add(ref _bytesDone, bytes); }
    private long[] _streamWire = [];

    /// <summary>Sender: the stream count, before the streams start (per-stream figures for progress).</summary>
    internal void UseStreams(int streams) => _streamWire = new long[streams];

    /// <summary>Bytes each stream has put on the wire so far (empty on a receiver).</summary>
    public long[] StreamWireBytes()
    {
        var copy = new long[_streamWire.Length];
        for (int i = 0; i < copy.Length; i++) copy[i] = Volatile.Read(ref _streamWire[i]);
        return copy;
    }

    internal void Sent(long payload, long wire, int stream)
    {
        if ((uint)stream < (uint)_streamWire.Length) Interlocked.Add(ref _streamWire[stream], wire);
        if (payload > 0 && Volatile.Read(ref _firstPayloadTicks) == 0) Interlocked.CompareExchange(ref _firstPayloadTicks, Math.Max(1, _clock.ElapsedTicks), 0);
        Interlocked.Add(ref _payloadBytesSent, payload);
        Interlocked.Add(ref _wireBytes, wire);
    }
    internal void EntryFailed() => Interlocked.Increment(ref _failed);
    internal void Resumed(long bytes) => Interlocked.Add(ref _resumed, bytes);
    internal void UpToDate(long bytes) { Interlocked.Increment(ref _upToDate); Interlocked.Add(ref _filesDone, 1); Interlocked.Add(ref _bytesDone, bytes); }
    internal void SentByFile(long bytes) { Interlocked.Add(ref _sendfileBytes, bytes); Interlocked.Increment(ref _sendfileRanges); }
    internal void MarkWalkComplete() => _walkComplete = true;
    internal void AnnouncedFile() => Interlocked.Increment(ref _announcedFiles);
    internal void AnnouncedDirectory() => Interlocked.Increment(ref _announcedDirectories);
    internal void AnnouncedSymlink() => Interlocked.Increment(ref _announcedSymlinks);
    internal void AnnouncedHardLink() => Interlocked.Increment(ref _announcedHardLinks);
    internal void AnnouncedSpecial() => Interlocked.Increment(ref _announcedSpecials);
    internal void AbortedFile() => Interlocked.Increment(ref _abortedFiles);

    private long _streamsJoined;

    /// <summary>Sender: streams that reached the receiver (handshake done, transfer header sent) at least once.</summary>
    public long StreamsJoined => Volatile.Read(ref _streamsJoined);
    internal void StreamJoined() => Interlocked.Increment(ref _streamsJoined);
}
