using ActorSync.Transport;
using ActorSync.Transport.Frames;

namespace ActorSync.Receiving;

internal enum WriteKind : byte { Header, Data, Hole, Kept, End, Attributes, Symlink, Special, Abort }

/// <summary>
/// What a connection hands a FileWriter. Data carries its bytes in a pooled buffer the writer gives back when it has
/// written them: a buffer of its own, or (small payloads) a <see cref="SharedBuffer"/> packed with others, from
/// <paramref name="BufferStart"/>. The hot kinds (header, data, hole) are inline; the rare ones carry their frame in
/// <paramref name="Extra"/>. <paramref name="Retransmit"/>: re-sent after a rejoin, so it may repeat what the writer
/// already has.
/// </summary>
internal readonly record struct WriteCommand(WriteKind Kind, FileHeaderFrame Header, ulong FileId, long Offset, byte[]? Buffer, long Length, object? Extra,
    bool Retransmit = false, int BufferStart = 0)
{
    public static WriteCommand ForHeader(in FileHeaderFrame h) => new(WriteKind.Header, h, h.FileId, 0, null, 0, null);
    public static WriteCommand ForData(ulong id, long offset, byte[] buffer, int length, bool retransmit) => new(WriteKind.Data, default, id, offset, buffer, length, null, retransmit);
    public static WriteCommand ForPackedData(ulong id, long offset, SharedBuffer shared, int start, int length, bool retransmit) =>
        new(WriteKind.Data, default, id, offset, shared.Buffer, length, shared, retransmit, start);
    public static WriteCommand ForHole(in HoleFrame h, bool retransmit) => new(WriteKind.Hole, default, h.FileId, h.Offset, null, h.Length, null, retransmit);
    public static WriteCommand ForKept(in HoleFrame k, bool retransmit) => new(WriteKind.Kept, default, k.FileId, k.Offset, null, k.Length, null, retransmit);
    public static WriteCommand ForEnd(ulong id, bool retransmit) => new(WriteKind.End, default, id, 0, null, 0, null, retransmit);
    public static WriteCommand ForAttributes(AttributesFrame a, bool retransmit) => new(WriteKind.Attributes, default, a.FileId, 0, null, 0, a, retransmit);
    public static WriteCommand ForSymlink(in SymlinkFrame s) => new(WriteKind.Symlink, default, 0, 0, null, 0, s);
    public static WriteCommand ForSpecial(in SpecialFrame s) => new(WriteKind.Special, default, 0, 0, null, 0, s);
    public static WriteCommand ForAbort(in FileAbortFrame a) => new(WriteKind.Abort, default, a.FileId, 0, null, 0, a.Reason);

    public ReadOnlySpan<byte> Data => Buffer.AsSpan(BufferStart, (int)Length);

    /// <summary>A data command's buffer goes back to the pool (a shared one when its last command is done).</summary>
    public void ReleaseBuffer(Engine.BufferPool pool)
    {
        if (Kind != WriteKind.Data || Buffer is null) return;
        if (Extra is SharedBuffer shared) shared.Release(pool);
        else pool.Return(Buffer);
    }
}

/// <summary>
/// A pooled buffer that several small data payloads share: each command holds a reference, the connection packing
/// it holds one more until it moves on; the last to let go returns it to the pool. Without packing each small
/// file's bytes took a buffer of a chunk's size: measured on ml_large, 214 of the 256 buffers (53 MiB) in use at
/// once on the receiver.
/// </summary>
internal sealed class SharedBuffer(byte[] buffer)
{
    private int _references = 1;

    public byte[] Buffer { get; } = buffer;

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release(Engine.BufferPool pool)
    {
        if (Interlocked.Decrement(ref _references) == 0) pool.Return(Buffer);
    }
}

/// <summary>The kinds of entry the receiver accounts for separately: totals of different kinds never mix.</summary>
internal enum EntryType : byte { File, Symlink, Special }

/// <summary>Events the coordinator of a receiving transfer gets.</summary>
internal abstract record ReceiveEvent
{
    /// <summary>The rejoin grace of a lost stream ran out; <paramref name="Epoch"/> tells whether it was re-established since.</summary>
    public sealed record RejoinDeadline(int Stream, int Epoch, string Reason) : ReceiveEvent;
    /// <summary>The announced streams had their time to join: one still missing fails the transfer.</summary>
    public sealed record JoinDeadline : ReceiveEvent;
    /// <summary>Every stream said Done a while ago: by now the writers have accounted for everything that came.</summary>
    public sealed record CountsDeadline : ReceiveEvent;
    public sealed record DirectorySeen(DirectoryFrame Directory) : ReceiveEvent;
    /// <summary>A directory's extended attributes; they follow its Directory frame on the same stream.</summary>
    public sealed record DirectoryAttributes(AttributesFrame Attributes) : ReceiveEvent;
    public sealed record HardLinkSeen(HardLinkFrame Link) : ReceiveEvent;
    /// <summary>Files a writer committed while it took one batch of commands, and their bytes.</summary>
    public sealed record FilesCommitted(ulong[] FileIds, long Bytes) : ReceiveEvent;
    public sealed record EntryCommitted(EntryType Type) : ReceiveEvent;
    /// <summary>An entry that could not be written here (a directory in the way, a device without root...).</summary>
    public sealed record EntryFailed(string Path, string Reason, EntryType Type) : ReceiveEvent;
    /// <summary>Something about an entry that was written went wrong (an attribute, an owner): reported, the entry stays.</summary>
    public sealed record EntryIncomplete(string Path, string Reason) : ReceiveEvent;
    public sealed record FileAborted(ulong FileId, string Reason) : ReceiveEvent;
    /// <summary>An entry the sender could not send (it says so in band, so the receiver can name it).</summary>
    public sealed record SenderSkipped(SkippedFrame Entry) : ReceiveEvent;
    public sealed record StreamDone(int Stream, TransferTotals Totals) : ReceiveEvent;
    /// <summary>Offered files the destination already had; they will not be announced.</summary>
    public sealed record AlreadyThere(int Files) : ReceiveEvent;
    /// <summary>--delete: names the sender has (offered files, symlinks, special files), so they are not deleted.</summary>
    public sealed record NamesSeen(string[] Paths) : ReceiveEvent;
}

/// <summary>The commands for one writer that a connection took from one turn of its stream: one message, not one per frame.</summary>
internal sealed record WriteBatch(WriteCommand[] Commands);

/// <summary>A writer's grant to a connection: <paramref name="Count"/> more commands may go to writer <paramref name="Writer"/>.</summary>
internal sealed record WriterCredits(int Writer, int Count);
