using ActorSync.Actors;
using ActorSync.Transport;
using ActorSync.Transport.Frames;

namespace ActorSync.Receiving;

internal enum WriteKind : byte { Header, Data, Symlink, Abort }

/// <summary>What a connection hands a FileWriter. Data carries a pooled buffer the writer returns.</summary>
internal readonly record struct WriteCommand(WriteKind Kind, FileHeaderFrame Header, ulong FileId, long Offset, byte[]? Buffer, int Length, SymlinkFrame Symlink, string? Reason,
    bool Retransmit = false)
{
    public static WriteCommand ForHeader(in FileHeaderFrame h) => new(WriteKind.Header, h, h.FileId, 0, null, 0, default, null);
    public static WriteCommand ForData(ulong id, long offset, byte[] buffer, int length, bool retransmit) => new(WriteKind.Data, default, id, offset, buffer, length, default, null, retransmit);
    public static WriteCommand ForSymlink(in SymlinkFrame s) => new(WriteKind.Symlink, default, 0, 0, null, 0, s, null);
    public static WriteCommand ForAbort(in FileAbortFrame a) => new(WriteKind.Abort, default, a.FileId, 0, null, 0, default, a.Reason);
}

/// <summary>Events the coordinator of a receiving transfer gets.</summary>
internal abstract record ReceiveEvent
{
    public sealed record StreamJoined(int Stream, ISecureChannel Channel, bool Rejoin, IActorRef Connection) : ReceiveEvent;
    /// <summary>The rejoin grace of a lost stream ran out; <paramref name="Epoch"/> tells whether it was re-established since.</summary>
    public sealed record RejoinDeadline(int Stream, int Epoch, string Reason) : ReceiveEvent;
    /// <summary>Every stream said Done a while ago: by now the writers have accounted for everything that came.</summary>
    public sealed record CountsDeadline : ReceiveEvent;
    public sealed record DirectorySeen(DirectoryFrame Directory) : ReceiveEvent;
    public sealed record FileCommitted(ulong FileId, long Bytes) : ReceiveEvent;
    public sealed record SymlinkCommitted(string Path) : ReceiveEvent;
    /// <summary>An entry that could not be written here (disk full, a directory in the way...).</summary>
    public sealed record EntryFailed(string Path, string Reason, bool IsSymlink) : ReceiveEvent;
    public sealed record FileAborted(ulong FileId, string Reason) : ReceiveEvent;
    public sealed record StreamDone(int Stream, TransferTotals Totals) : ReceiveEvent;
    /// <summary>Offered files the destination already had; they will not be announced.</summary>
    public sealed record AlreadyThere(int Files) : ReceiveEvent;
}
