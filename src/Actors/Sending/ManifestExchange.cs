using System.Security.Cryptography;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using Akka.Actor;
using Akka.Routing;
using Microsoft.Extensions.Logging;

namespace ActorSync.Sending;

/// <summary>
/// Asks the receiver which files it still needs before any of their bytes are read: the walker's files are
/// batched into Offer frames (path, size, mtime, mode, and with --checksum a SHA-256), sent over any stream,
/// and each is answered by a Need frame on the same stream. Only needed files go on to the readers, so a
/// re-run after an interruption sends what is missing, and a re-run of a complete copy sends ~nothing.
/// At most <see cref="Window"/> files are outstanding (the walker's offer credits; each answer gives one back), so
/// memory stays bounded.
/// </summary>
internal sealed class ManifestExchange : UntypedActor
{
    /// <summary>Files offered but not yet answered: enough to keep every stream busy with offers in flight
    /// while the receiver checks, small enough to be a bounded table. A whole number of Offer frames, so the
    /// walker never waits for answers to offers still in an unsent batch.</summary>
    public const int Window = 16 * FrameLimits.MaxOfferEntries;

    private readonly BufferPool pool;
    private readonly Router streams;
    private readonly IActorRef walker;
    private readonly TransferStats stats;
    private readonly bool checksum;
    /// <summary>--dry-run: answers are reported by name, and no file goes on to the readers.</summary>
    private readonly bool dryRun;
    private readonly SourceTree source;
    private readonly ILogger log;

    private List<OfferEntry> _batch = [];
    /// <summary>Offer frames full but not yet written for want of a pool buffer (at most the window's worth), and the
    /// lists of sent ones, for reuse.</summary>
    private readonly Queue<List<OfferEntry>> _unsent = new();
    private readonly Stack<List<OfferEntry>> _spare = new();
    /// <summary>The pool owes this actor a buffer (it sends it as <see cref="BufferPool.Granted"/>).</summary>
    private bool _owed;
    private readonly Dictionary<ulong, (ReadWork Work, OfferEntry Entry)> _pending = [];
    private int _batchBytes = 4;
    private long _upToDate;
    private IActorRef? _drained;

    public ManifestExchange(BufferPool pool, Router streams, IActorRef walker, TransferStats stats, bool checksum, bool dryRun, SourceTree source, ILogger log)
    {
        this.pool = pool;
        this.streams = streams;
        this.walker = walker;
        this.stats = stats;
        this.checksum = checksum;
        this.dryRun = dryRun;
        this.source = source;
        this.log = log;
        // Synchronous: an offer per file is the hot message here. A batch that finds the pool empty waits as a
        // message (the next buffer returned is handed here); hashing under --checksum reads on this file thread.
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ManifestMessage m:
                OnMessage(m);
                break;
            case BufferPool.Granted granted:
                _owed = false;
                Write(granted.Buffer, _unsent.Dequeue());
                WriteUnsent();
                CheckDrained();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected override void PostStop() => pool.Forget(Self);

    private void OnMessage(ManifestMessage message)
    {
        switch (message)
        {
            case ManifestMessage.Offer o:
                foreach (var work in o.Files) Offer(work);
                break;
            case ManifestMessage.Answer a:
                int answers = 0;
                List<ReadWork>? needed = null;
                for (int i = 0; i < a.Entries.Length; i++)
                {
                    var need = a.Entries[i];
                    // After a rejoin offers may be answered twice: the first answer counts.
                    if (!_pending.Remove(need.FileId, out var offered)) continue;
                    var work = offered.Work;
                    answers++;
                    if (need.Status == NeedStatus.UpToDate)
                    {
                        _upToDate++;
                        stats.UpToDate(work.Size);
                        if (dryRun) stats.Report(new TransferItem(TransferItemKind.UpToDate, work.RelativePath, work.Size));
                        continue;
                    }
                    if (dryRun)
                    {
                        stats.Report(new TransferItem(TransferItemKind.WouldSend, work.RelativePath, work.Size));
                        continue;
                    }
                    if (need.Offset != 0) ThrowHelper.ThrowProtocol($"need for file {need.FileId} at offset {need.Offset}: resumes are said with Blocks");
                    // Resume: the reader verifies what the receiver holds against the source and sends the rest.
                    (needed ??= []).Add(need.Status == NeedStatus.Resume ? work with { Held = a.Held![i] } : work);
                }
                if (answers > 0) walker.Tell(new DirectoryWalker.Answered(answers, needed?.ToArray()));
                break;
            case ManifestMessage.Flush:
                SendBatch();
                break;
            case ManifestMessage.Reoffer r:
                // A stream was re-established: these answers may have died with the old connection. Only they are
                // offered again (not everything unanswered: an answer in flight on another stream would come twice).
                foreach (ulong id in r.FileIds)
                {
                    if (!_pending.TryGetValue(id, out var pending) || _batch.Contains(pending.Entry) || _unsent.Any(b => b.Contains(pending.Entry))) continue;
                    var entry = pending.Entry;
                    int length = FrameWriter.OfferEntryLength(entry);
                    if (_batchBytes + length > FrameLimits.MaxMetadataBody || _batch.Count == FrameLimits.MaxOfferEntries) SendBatch();
                    _batch.Add(entry);
                    _batchBytes += length;
                }
                SendBatch();
                break;
            case ManifestMessage.WhenDrained:
                _drained = Sender;
                break;
        }
        CheckDrained();
    }

    private void CheckDrained()
    {
        if (_drained is not null && _pending.Count == 0 && _batch.Count == 0 && _unsent.Count == 0)
        {
            _drained.Tell(new DirectoryWalker.ManifestDrained(_upToDate));
            _drained = null;
        }
    }

    private void Offer(ReadWork work)
    {
        byte[]? hash = checksum ? Hash(work) : null;
        var entry = new OfferEntry(work.FileId, work.RelativePath, work.Size, work.MTime, work.Mode, hash, work.Uid, work.Gid);
        int length = FrameWriter.OfferEntryLength(entry);
        if (_batchBytes + length > FrameLimits.MaxMetadataBody || _batch.Count == FrameLimits.MaxOfferEntries) SendBatch();
        _batch.Add(entry);
        _batchBytes += length;
        _pending.Add(work.FileId, (work, entry));
        if (_batch.Count == FrameLimits.MaxOfferEntries) SendBatch();
    }

    private void SendBatch()
    {
        if (_batch.Count == 0) return;
        _unsent.Enqueue(_batch);
        _batch = _spare.TryPop(out var list) ? list : [];
        _batchBytes = 4;
        WriteUnsent();
    }

    /// <summary>Writes the full batches into pool buffers and sends them, in order, while the pool has buffers.</summary>
    private void WriteUnsent()
    {
        while (!_owed && _unsent.Count > 0)
        {
            if (pool.RentOrNotify(Self) is not { } buffer)
            {
                _owed = true;
                return;
            }
            Write(buffer, _unsent.Dequeue());
        }
    }

    private void Write(byte[] buffer, List<OfferEntry> batch)
    {
        int n = FrameWriter.Offer(buffer, batch);
        batch.Clear();
        _spare.Push(batch);
        streams.Route(SenderCommand.Send(new Chunk(buffer, n, 0)), Self);
    }

    /// <summary>--checksum: the content's SHA-256, so the receiver compares bytes, not size and mtime.</summary>
    private byte[]? Hash(ReadWork work)
    {
        int fd = source.OpenFile(work, out int errno);
        if (fd < 0)
        {
            // Offer it without a hash: the receiver then asks for it, and the reader reports the real error.
            log.LogDebug("cannot hash {Path}: {Reason}", RelativePath.Printable(work.RelativePath), Transport.Interop.Libc.Describe(errno));
            return null;
        }
        try
        {
            using var file = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1 << 16);
            return SHA256.HashData(file);
        }
        catch (IOException e)
        {
            log.LogDebug("cannot hash {Path}: {Reason}", RelativePath.Printable(work.RelativePath), e.Message);
            return null;
        }
    }
}

internal abstract record ManifestMessage
{
    /// <summary>Files the walker found in one slice of its walk, to offer.</summary>
    public sealed record Offer(ReadWork[] Files) : ManifestMessage;
    /// <summary>The receiver's answers to an Offer; <paramref name="Held"/>[i] is what it holds of entry i when that one says Resume.</summary>
    public sealed record Answer(NeedEntry[] Entries, HeldBlock[]?[]? Held) : ManifestMessage;
    public sealed record Flush : ManifestMessage;
    public sealed record Reoffer(ulong[] FileIds) : ManifestMessage;
    /// <summary>Answered with <see cref="DirectoryWalker.ManifestDrained"/> once every offer has its answer.</summary>
    public sealed record WhenDrained : ManifestMessage;
}
