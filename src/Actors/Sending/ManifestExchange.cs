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
internal sealed class ManifestExchange : ReceiveActor
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
    private readonly SourceTree source;
    private readonly ILogger log;
    private readonly CancellationToken abort;

    private readonly List<OfferEntry> _batch = [];
    private readonly Dictionary<ulong, (ReadWork Work, OfferEntry Entry)> _pending = [];
    private int _batchBytes = 4;
    private long _upToDate;
    private IActorRef? _drained;

    public ManifestExchange(BufferPool pool, Router streams, IActorRef walker, TransferStats stats, bool checksum, SourceTree source, ILogger log, CancellationToken abort)
    {
        this.pool = pool;
        this.streams = streams;
        this.walker = walker;
        this.stats = stats;
        this.checksum = checksum;
        this.source = source;
        this.log = log;
        this.abort = abort;
        // Synchronous: an offer per file is the hot message here, and a handler that may await costs a task and a
        // mailbox suspension each time. The rare waits (a buffer for a batch, hashing under --checksum) block this
        // actor's dispatcher thread instead; nothing that frees buffers runs on it.
        Receive<ManifestMessage>(OnMessage);
    }

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
                    if (!_pending.TryGetValue(id, out var pending) || _batch.Contains(pending.Entry)) continue;
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
        if (_drained is not null && _pending.Count == 0 && _batch.Count == 0)
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
        byte[] buffer = pool.Rent(abort);
        int n = FrameWriter.Offer(buffer, _batch);
        _batch.Clear();
        _batchBytes = 4;
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
