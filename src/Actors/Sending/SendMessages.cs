using ActorSync.Transport.Frames;

namespace ActorSync.Sending;

/// <summary>
/// What the walker hands on: one entry of the source tree. <paramref name="Held"/>: what the receiver holds of the
/// file from an interrupted run (answered Resume), for the reader to verify against the source. <paramref name="LinkTarget"/>: a
/// symlink's target, or for a hard link the path of the name sent as the file (of size <paramref name="Size"/>,
/// mtime <paramref name="MTime"/>). <paramref name="Sparse"/>: the file has fewer blocks than bytes, so its holes
/// are worth looking for. <paramref name="Major"/>/<paramref name="Minor"/>: a device's numbers.
/// <paramref name="Attributes"/>: a directory's extended attributes (-X; a file's are read when it is opened).
/// </summary>
internal readonly record struct ReadWork(EntryKind Kind, string RelativePath, string FullPath, long Size, uint Mode, FileTime MTime, ulong FileId, string? LinkTarget,
    uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId, bool Sparse = false, uint Major = 0, uint Minor = 0,
    IReadOnlyList<(string Name, byte[] Value)>? Attributes = null, HeldBlock[]? Held = null);

/// <summary>Skipped: not an entry but word of one that could not be sent (<see cref="ReadWork.LinkTarget"/> holds
/// the reason; <see cref="ReadWork.Mode"/> a <see cref="SkipMode"/>), passed to the receiver.</summary>
internal enum EntryKind : byte { Directory, File, Symlink, HardLink, Special, Skipped }

/// <summary>What a Skipped work item says: not sent, a directory not listed, or sent without part of its metadata.</summary>
internal static class SkipMode
{
    public const uint NotSent = 0, UnlistedDirectory = 1, SentIncomplete = 2;
}

/// <summary>
/// A pooled buffer full of encoded frames, on its way to a stream; the sender returns the buffer. With
/// <paramref name="File"/> set, the buffer holds only the frame headers and the range's bytes follow from
/// the file (sendfile on a kernel-TLS stream); the sender releases its reference to the file.
/// <paramref name="Rented"/>: the bytes were copied out of the pool's buffer into one of ArrayPool's, which is
/// where the buffer goes back (see <see cref="StreamState.CopyOutSmall"/>).
/// </summary>
internal readonly record struct Chunk(byte[] Buffer, int Length, long PayloadBytes, SourceFile? File = null, long FileOffset = 0, int FileCount = 0, bool Rented = false);

/// <summary>Commands a StreamSender accepts: a chunk to send, the end of the transfer, or a wake-up (acks
/// arrived, or the connection was lost) for a sender with nothing else to do.</summary>
internal readonly record struct SenderCommand(Chunk Chunk, TransferTotals? Finish, bool Poke)
{
    public static SenderCommand Send(Chunk chunk) => new(chunk, null, false);
    public static SenderCommand End(TransferTotals totals) => new(default, totals, false);
    public static readonly SenderCommand Wake = new(default, null, true);
}

/// <summary>Events the coordinator of a sending transfer receives.</summary>
internal abstract record SendEvent
{
    /// <summary>An entry that could not be sent (or not whole: its attributes), with the reason.</summary>
    public sealed record Problem(string Path, string Reason) : SendEvent;
    public sealed record Acked(int Files) : SendEvent;
    /// <summary>The receiver removed these entries of DEST (or, in a dry run, would).</summary>
    public sealed record Deleted(string[] Paths, bool DryRun) : SendEvent;
    public sealed record StreamFinished(int Stream, DoneAckFrame Ack) : SendEvent;
    public sealed record StreamFailed(int Stream, Exception Error) : SendEvent;
    /// <summary>The walk is over, every offer answered and every reader drained into the streams: Done may go.</summary>
    public sealed record ReadingDone(long UpToDate) : SendEvent;
}

/// <summary>
/// Work pulling between the walker and the readers: a reader asks for work when it has none (<see cref="Pull"/>),
/// the walker answers with a batch (<see cref="Work"/>) or parks the request until it has one (and tells the reader
/// to <see cref="Flush"/> meanwhile). At the end the walker tells each reader to send off what it has packed
/// (<see cref="Drain"/>), and each says when it has.
/// </summary>
internal static class ReadProtocol
{
    public sealed record Pull
    {
        public static readonly Pull Instance = new();
    }

    public sealed record Work(ReadWork[] Items);

    /// <summary>Nothing to read for now: send off what is packed, so the receiver can commit it meanwhile.</summary>
    public sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    public sealed record Drain
    {
        public static readonly Drain Instance = new();
    }

    public sealed record Drained
    {
        public static readonly Drained Instance = new();
    }
}
