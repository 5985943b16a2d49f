namespace ActorSync.Transport.Frames;

/// <summary>Modification time with nanoseconds, as statx reports and utimensat sets it.</summary>
public readonly record struct FileTime(long Seconds, uint Nanoseconds);

public readonly record struct TransferHeaderFrame(Guid TransferId, ushort StreamIndex, ushort StreamCount, ushort Cipher, uint Flags);

public readonly record struct DirectoryFrame(string Path, uint Mode, FileTime MTime);

public readonly record struct FileHeaderFrame(ulong FileId, string Path, long Size, uint Mode, FileTime MTime);

public readonly record struct SymlinkFrame(string Path, string Target, FileTime MTime);

public readonly record struct TransferTotals(long Files, long Directories, long Symlinks, long Bytes, long Skipped);

/// <summary>The receiver's final word. <paramref name="Problems"/> names the first entries it could not write
/// ("path: reason"), as many as fit in one metadata-sized frame, so the sender can say which.</summary>
public readonly record struct DoneAckFrame(long Files, long Bytes, int Failures, IReadOnlyList<string> Problems);

public readonly record struct ErrorFrame(ErrorCode Code, string Message);

public readonly record struct FileAbortFrame(ulong FileId, string Reason);

/// <summary>A file the sender has; <paramref name="Hash"/> (SHA-256 of the content) only with --checksum.</summary>
public sealed record OfferEntry(ulong FileId, string Path, long Size, FileTime MTime, uint Mode, byte[]? Hash);

public enum NeedStatus : byte { UpToDate = 0, Send = 1 }

public readonly record struct NeedEntry(ulong FileId, NeedStatus Status, long Offset);
