namespace ActorSync.Transport.Frames;

/// <summary>
/// Frames travel inside the record stream; a frame may span records and a record may hold many frames.
/// Each frame: type (1 byte), body length (u32 big-endian), body. All integers big-endian.
/// </summary>
public enum FrameType : byte
{
    /// <summary>version u16, transfer id [16], stream index u16, stream count u16, cipher u16, flags u32. First frame on every connection.</summary>
    TransferHeader = 1,
    /// <summary>mode u32, mtime (sec i64, nsec u32), uid u32, gid u32, path (u16 length + the name's bytes).</summary>
    Directory = 2,
    /// <summary>file id u64, size u64, mode u32, mtime, uid, gid, flags u8 (<see cref="FileFlags"/>), path. Repeated
    /// before a file's ranges on each stream that carries any, so data never arrives for a file the receiver has not
    /// heard of.</summary>
    FileHeader = 3,
    /// <summary>file id u64, offset u64, then the bytes (rest of the body).</summary>
    Data = 4,
    /// <summary>mtime, uid, gid, path, target (u16 length + bytes).</summary>
    Symlink = 5,
    /// <summary>receiver -> sender: count u32, committed file ids u64 each.</summary>
    Ack = 6,
    /// <summary>sender -> receiver, last frame of every stream: totals of what was announced, per kind (files, dirs,
    /// symlinks, hard links, special files), bytes, and entries that could not be sent.</summary>
    Done = 7,
    /// <summary>receiver -> sender: everything is committed (files, bytes, failures u32).</summary>
    DoneAck = 8,
    /// <summary>either way, fatal: code u16, message (u16 length + UTF-8).</summary>
    Error = 9,
    /// <summary>sender -> receiver: a file whose header was sent could not be read to the end; discard it. file id u64, reason.</summary>
    FileAbort = 10,
    /// <summary>sender -> receiver: files the sender has, before any of their bytes: count u32, then per file id u64,
    /// size u64, mtime, mode u32, uid, gid, hash flag u8 [+ SHA-256 32], path. Answered by one Need on the same stream.</summary>
    Offer = 11,
    /// <summary>receiver -> sender: the answer to an Offer, same order: count u32, then per file id u64, status u8
    /// (0 up to date, 1 send), offset u64 (where sending starts; 0 = the whole file).</summary>
    Need = 12,
    /// <summary>receiver -> sender: every byte of this stream before offset u64 has been taken in (so the sender may
    /// drop its copy). Offsets count the stream's plaintext across reconnections.</summary>
    StreamAck = 13,
    /// <summary>receiver -> sender, first frame on a rejoined stream: carry on from stream offset u64 (a frame boundary).</summary>
    Resume = 14,
    /// <summary>sender -> receiver: path is another name of the file at target (same inode at the source): target size
    /// u64, target mtime, path, target. Its bytes cross the wire once.</summary>
    HardLink = 15,
    /// <summary>sender -> receiver: a device, FIFO or socket: mode u32 (with the type bits), rdev major u32, minor u32,
    /// mtime, uid, gid, path.</summary>
    Special = 16,
    /// <summary>sender -> receiver: bytes [offset, offset+length) of a file are a hole (zeros, not allocated): file id
    /// u64, offset u64, length u64.</summary>
    Hole = 17,
    /// <summary>sender -> receiver: every range of a file flagged <see cref="FileFlags.AwaitsEnd"/> was sent from a
    /// source that did not change meanwhile; it may be committed once they are all in. file id u64.</summary>
    FileEnd = 18,
    /// <summary>sender -> receiver: extended attributes (-X): kind u8 (0 a file, by id u64; 1 a directory, by path),
    /// count u16, then per attribute name (u8 length + bytes), value (u16 length + bytes).</summary>
    Attributes = 19,
    /// <summary>Filler the receiver reads and drops: it keeps a re-sent stream the same length as the original when a
    /// range can no longer be read (see the sender's rejoin).</summary>
    Padding = 20,
    /// <summary>sender -> receiver: an entry the sender could not send (unreadable, vanished, changed while read):
    /// flags u8 (1: a directory whose contents are missing), path, reason (UTF-8). The receiver names it, and
    /// leaves the mtimes of the directories above it unset (their contents are not complete).</summary>
    Skipped = 21,
    /// <summary>receiver -> sender, right after a Need, once per entry answered Resume, in the same order: what the
    /// receiver holds of the file (a partial or a finished temporary of an interrupted run). file id u64, flags u8
    /// (1: the last Blocks frame for this file), count u16, then per block kind u8 (0: verified here against the
    /// journal, 1: to be verified by the sender), offset u64, length u32, and for kind 1 SHA-256 of the bytes [32].</summary>
    Blocks = 22,
    /// <summary>sender -> receiver: keep bytes [offset, offset+length) of what you hold of this file (verified):
    /// file id u64, offset u64, length u64. Follows the file's header, like its data.</summary>
    Kept = 23,
    /// <summary>sender -> receiver, on every connection right after a TransferHeader flagged
    /// <see cref="FrameLimits.DeleteFlag"/> (part of the connection's preamble, like the header): most entries to delete
    /// i64 (-1: no limit), count u16, then per filter rule its text ("- pattern" / "+ pattern"); what the rules exclude
    /// is protected from deletion, as rsync does without --delete-excluded.</summary>
    DeletePolicy = 24,
    /// <summary>receiver -> sender, before DoneAck: entries of DEST the source lacks, deleted (flags u8 0) or that would
    /// be (1: a dry run): count u16, then per entry its path.</summary>
    Deleted = 25,
}

/// <summary>FileHeader flags.</summary>
[Flags]
public enum FileFlags : byte
{
    None = 0,
    /// <summary>The ranges come straight from the source file (sendfile): commit only after the file's FileEnd,
    /// which says the source held still while they were read.</summary>
    AwaitsEnd = 1,
    /// <summary>An Attributes frame for this file follows; commit only once it is in.</summary>
    HasAttributes = 2,
}

/// <summary>Protocol-wide limits: a peer's declared lengths are checked against these before anything is allocated.</summary>
public static class FrameLimits
{
    /// <summary>TransferHeader flag: this connection re-establishes a stream of a running transfer.</summary>
    public const uint RejoinFlag = 1;
    /// <summary>TransferHeader flag: make everything durable (syncfs) before answering DoneAck (--fsync).</summary>
    public const uint FsyncFlag = 2;
    /// <summary>TransferHeader flag: --delete; a <see cref="FrameType.DeletePolicy"/> frame follows the header.</summary>
    public const uint DeleteFlag = 4;
    /// <summary>TransferHeader flag: --dry-run. The sender sends no file data, only offers and the other entries' frames;
    /// the receiver answers the offers, writes nothing (not even its work area or lock) and reports what --delete would
    /// remove.</summary>
    public const uint DryRunFlag = 8;
    /// <summary>2: names as bytes, owners, hard links, holes, special files, attributes, FileEnd, Skipped. 3: --delete
    /// (DeletePolicy, Deleted, DoneAck's deletion counts) and --dry-run: a peer of 2 would ignore a dry run's flag and
    /// write, so it is refused by version.</summary>
    public const ushort ProtocolVersion = 3;
    /// <summary>Every TransferHeader flag this version knows; any other bit is refused (a flag ignored could mean a
    /// dry run that writes).</summary>
    public const uint KnownFlags = RejoinFlag | FsyncFlag | DeleteFlag | DryRunFlag;
    /// <summary>An owner or group id that is not to be changed (chown's -1): --no-owner, --no-group.</summary>
    public const uint KeepId = uint.MaxValue;
    public const int HeaderLength = 5;
    /// <summary>PATH_MAX on Linux; longer relative paths could not be created anyway.</summary>
    public const int MaxPathBytes = 4096;
    /// <summary>NAME_MAX.</summary>
    public const int MaxNameBytes = 255;
    /// <summary>Largest non-data frame body: a symlink frame with path and target at PATH_MAX each.</summary>
    public const int MaxMetadataBody = 2 * MaxPathBytes + 64;
    /// <summary>Largest data frame body. Data is streamed into pooled buffers, never allocated by this size.</summary>
    public const int MaxDataBody = 16 << 20;
    /// <summary>Acks per frame, bounding the frame to a metadata-sized body.</summary>
    public const int MaxAcksPerFrame = (MaxMetadataBody - 4) / 8;
    public const int DataPrefixLength = 16;
    /// <summary>Entries per Offer frame: bounded by the metadata body size in any case; this keeps a Need small.</summary>
    public const int MaxOfferEntries = 256;
    /// <summary>Blocks a receiver may report for one file; its block size grows with the file to stay under this.</summary>
    public const int MaxBlocksPerFile = 4096;
    /// <summary>Largest block a receiver may ask the sender to hash: its journal's block, so what a receiver can make
    /// a sender read is bounded by the file, not by 4096 claims of 2 GiB.</summary>
    public const int MaxHashedBlock = 4 << 20;
    /// <summary>
    /// The receiver acknowledges a stream (StreamAck) every <see cref="AckEvery"/> bytes taken in, and also whenever it
    /// has taken in everything that arrived and at least <see cref="QuietAckBytes"/> are unacknowledged. A sender keeps
    /// a pooled buffer for re-sending only for chunks of at least that size (smaller ones are copied out), so once a
    /// receiver has caught up each stream holds at most one pooled buffer unacknowledged: a pool of streams + readers +
    /// 2 buffers never runs dry waiting for an acknowledgement that is not due.
    /// </summary>
    public const int AckEvery = 512 << 10;

    /// <inheritdoc cref="AckEvery"/>
    public const int QuietAckBytes = 128 << 10;

    /// <summary>Largest Padding body: the largest frame a re-sent range can stand in for.</summary>
    public const int MaxPaddingBody = DataPrefixLength + MaxDataBody;
}

/// <summary>Exit-relevant error codes carried by an Error frame.</summary>
public enum ErrorCode : ushort
{
    Failed = 1,
    Protocol = 4,
    Busy = 5,
}
