namespace ActorSync.Transport.Frames;

/// <summary>Modification time with nanoseconds, as statx reports and utimensat sets it.</summary>
public readonly record struct FileTime(long Seconds, uint Nanoseconds);

public readonly record struct TransferHeaderFrame(Guid TransferId, ushort StreamIndex, ushort StreamCount, ushort Cipher, uint Flags);

/// <param name="Uid">Numeric owner, or <see cref="FrameLimits.KeepId"/> (not preserved); likewise <paramref name="Gid"/>.</param>
public readonly record struct DirectoryFrame(string Path, uint Mode, FileTime MTime, uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId);

public readonly record struct FileHeaderFrame(ulong FileId, string Path, long Size, uint Mode, FileTime MTime,
    uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId, FileFlags Flags = FileFlags.None);

public readonly record struct SymlinkFrame(string Path, string Target, FileTime MTime, uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId);

/// <summary><paramref name="Path"/> is another name of the file at <paramref name="Target"/>, whose size and mtime
/// say which version of it: a target that did not arrive (or is another version) is not linked.</summary>
public readonly record struct HardLinkFrame(string Path, string Target, long TargetSize, FileTime TargetMTime);

/// <summary>A device (<paramref name="Mode"/> has S_IFCHR or S_IFBLK, with its major and minor), a FIFO or a socket.</summary>
public readonly record struct SpecialFrame(string Path, uint Mode, uint Major, uint Minor, FileTime MTime, uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId);

public readonly record struct HoleFrame(ulong FileId, long Offset, long Length);

/// <summary>Extended attributes of a file (<paramref name="FileId"/>) or a directory (<paramref name="DirectoryPath"/>).</summary>
public sealed record AttributesFrame(ulong FileId, string? DirectoryPath, IReadOnlyList<(string Name, byte[] Value)> Attributes);

/// <summary>What the sender announced, per kind, so the receiver knows when it has everything.</summary>
public readonly record struct TransferTotals(long Files, long Directories, long Symlinks, long Bytes, long Failed, long HardLinks = 0, long Specials = 0);

/// <summary>The receiver's final word. <paramref name="Problems"/> names the first entries it could not write
/// ("path: reason"), as many as fit in one metadata-sized frame, so the sender can say which.</summary>
public readonly record struct DoneAckFrame(long Files, long Bytes, int Failures, IReadOnlyList<string> Problems, long Deleted = 0, long DeletionsSkipped = 0);

/// <summary>--delete: at most <paramref name="MaxDelete"/> deletions (-1: no limit); what <paramref name="Rules"/> excludes is protected.</summary>
public sealed record DeletePolicyFrame(long MaxDelete, IReadOnlyList<string> Rules);

public readonly record struct ErrorFrame(ErrorCode Code, string Message);

public readonly record struct FileAbortFrame(ulong FileId, string Reason);

/// <summary>An entry the sender could not send; <paramref name="Directory"/>: it is a directory the sender could not list;
/// <paramref name="SentIncomplete"/>: it was sent, but without what <paramref name="Reason"/> names (its extended attributes).</summary>
public readonly record struct SkippedFrame(string Path, string Reason, bool Directory, bool SentIncomplete = false);

/// <summary>A file the sender has; <paramref name="Hash"/> (SHA-256 of the content) only with --checksum.</summary>
public sealed record OfferEntry(ulong FileId, string Path, long Size, FileTime MTime, uint Mode, byte[]? Hash, uint Uid = FrameLimits.KeepId, uint Gid = FrameLimits.KeepId);

/// <summary>Resume: the receiver holds part of the file (Blocks frames follow); the sender keeps what checks out.</summary>
public enum NeedStatus : byte { UpToDate = 0, Send = 1, Resume = 2 }

/// <summary>A block of a file the receiver holds: <paramref name="Hash"/> null when the receiver verified it itself
/// (against its journal), else SHA-256 of its bytes there, for the sender to compare with the source.</summary>
public readonly record struct HeldBlock(long Offset, int Length, byte[]? Hash);

public readonly record struct NeedEntry(ulong FileId, NeedStatus Status, long Offset);
