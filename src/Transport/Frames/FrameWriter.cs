using System.Buffers.Binary;
using System.Text;

namespace ActorSync.Transport.Frames;

/// <summary>Encodes frames straight into a caller's (pooled) buffer. Each method returns the bytes written,
/// or 0 if the frame does not fit, so a batcher can flush and retry. Names (paths, link targets, attribute
/// names) are written as their own bytes (<see cref="FileNames"/>); messages as UTF-8.</summary>
public static class FrameWriter
{
    /// <summary>A FileAbort or Error text is cut to this many characters (a reason, not a document).</summary>
    public const int MaxReasonChars = 1024;

    public static int TransferHeader(Span<byte> dest, in TransferHeaderFrame f)
    {
        const int body = 2 + 16 + 2 + 2 + 2 + 4;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.TransferHeader, body);
        w.U16(FrameLimits.ProtocolVersion);
        f.TransferId.TryWriteBytes(dest.Slice(w.Position, 16));
        w.Skip(16);
        w.U16(f.StreamIndex); w.U16(f.StreamCount); w.U16(f.Cipher); w.U32(f.Flags);
        return w.Position;
    }

    public static int DirectoryLength(string path) => FrameLimits.HeaderLength + 4 + 12 + 8 + 2 + FileNames.GetByteCount(path);

    public static int Directory(Span<byte> dest, in DirectoryFrame f)
    {
        int pathLen = FileNames.GetByteCount(f.Path);
        int body = 4 + 12 + 8 + 2 + pathLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Directory, body);
        w.U32(f.Mode); w.Time(f.MTime); w.U32(f.Uid); w.U32(f.Gid); w.Name(f.Path, pathLen);
        return w.Position;
    }

    public static int FileHeader(Span<byte> dest, in FileHeaderFrame f)
    {
        int pathLen = FileNames.GetByteCount(f.Path);
        int body = FileHeaderFixed + 2 + pathLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.FileHeader, body);
        w.U64(f.FileId); w.U64((ulong)f.Size); w.U32(f.Mode); w.Time(f.MTime); w.U32(f.Uid); w.U32(f.Gid); w.U8((byte)f.Flags); w.Name(f.Path, pathLen);
        return w.Position;
    }

    private const int FileHeaderFixed = 8 + 8 + 4 + 12 + 8 + 1;

    /// <summary>Bytes a FileHeader frame for <paramref name="path"/> takes.</summary>
    public static int FileHeaderLength(string path) => FrameLimits.HeaderLength + FileHeaderFixed + 2 + FileNames.GetByteCount(path);

    /// <summary>Writes the header of a data frame whose <paramref name="payloadLength"/> bytes the caller puts right after.</summary>
    public static int DataHeader(Span<byte> dest, ulong fileId, long offset, int payloadLength)
    {
        if (dest.Length < FrameLimits.HeaderLength + FrameLimits.DataPrefixLength) return 0;
        var w = Begin(dest, FrameType.Data, FrameLimits.DataPrefixLength + payloadLength);
        w.U64(fileId); w.U64((ulong)offset);
        return w.Position;
    }

    public const int DataHeaderLength = FrameLimits.HeaderLength + FrameLimits.DataPrefixLength;

    public const int HoleLength = FrameLimits.HeaderLength + 24;

    public static int Hole(Span<byte> dest, in HoleFrame f)
    {
        if (dest.Length < HoleLength) return 0;
        var w = Begin(dest, FrameType.Hole, 24);
        w.U64(f.FileId); w.U64((ulong)f.Offset); w.U64((ulong)f.Length);
        return w.Position;
    }

    public const int KeptLength = FrameLimits.HeaderLength + 24;

    /// <summary>Kept: the receiver keeps these bytes of what it holds (the same layout as a Hole).</summary>
    public static int Kept(Span<byte> dest, ulong fileId, long offset, long length)
    {
        if (dest.Length < KeptLength) return 0;
        var w = Begin(dest, FrameType.Kept, 24);
        w.U64(fileId); w.U64((ulong)offset); w.U64((ulong)length);
        return w.Position;
    }

    /// <summary>Encoded size of one held block.</summary>
    public static int HeldBlockLength(in HeldBlock b) => 1 + 8 + 4 + (b.Hash is null ? 0 : 32);

    /// <summary>A Blocks frame with as many of <paramref name="blocks"/> as fit one metadata body; returns the bytes
    /// written and how many blocks went in (the rest go in the next frame; <paramref name="last"/> is set when none remain).</summary>
    public static int Blocks(Span<byte> dest, ulong fileId, ReadOnlySpan<HeldBlock> blocks, out int taken)
    {
        int body = 8 + 1 + 2;
        taken = 0;
        while (taken < blocks.Length && body + HeldBlockLength(blocks[taken]) <= FrameLimits.MaxMetadataBody && taken < ushort.MaxValue) body += HeldBlockLength(blocks[taken++]);
        if (dest.Length < FrameLimits.HeaderLength + body) { taken = 0; return 0; }
        var w = Begin(dest, FrameType.Blocks, body);
        w.U64(fileId); w.U8(taken == blocks.Length ? (byte)1 : (byte)0); w.U16((ushort)taken);
        foreach (var b in blocks[..taken])
        {
            w.U8(b.Hash is null ? (byte)0 : (byte)1); w.U64((ulong)b.Offset); w.U32((uint)b.Length);
            if (b.Hash is not null) w.Bytes(b.Hash);
        }
        return w.Position;
    }

    public const int FileEndLength = FrameLimits.HeaderLength + 8;

    public static int FileEnd(Span<byte> dest, ulong fileId)
    {
        if (dest.Length < FileEndLength) return 0;
        var w = Begin(dest, FrameType.FileEnd, 8);
        w.U64(fileId);
        return w.Position;
    }

    /// <summary>A filler frame of exactly <paramref name="totalLength"/> bytes (at least the 5-byte frame header).</summary>
    public static int Padding(Span<byte> dest, int totalLength)
    {
        if (totalLength < FrameLimits.HeaderLength || dest.Length < totalLength) return 0;
        Begin(dest, FrameType.Padding, totalLength - FrameLimits.HeaderLength);
        dest[FrameLimits.HeaderLength..totalLength].Clear();
        return totalLength;
    }

    public static int SymlinkLength(string path, string target) => FrameLimits.HeaderLength + 12 + 8 + 2 + FileNames.GetByteCount(path) + 2 + FileNames.GetByteCount(target);

    public static int Symlink(Span<byte> dest, in SymlinkFrame f)
    {
        int pathLen = FileNames.GetByteCount(f.Path), targetLen = FileNames.GetByteCount(f.Target);
        int body = 12 + 8 + 2 + pathLen + 2 + targetLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Symlink, body);
        w.Time(f.MTime); w.U32(f.Uid); w.U32(f.Gid); w.Name(f.Path, pathLen); w.Name(f.Target, targetLen);
        return w.Position;
    }

    public static int HardLinkLength(string path, string target) => FrameLimits.HeaderLength + 8 + 12 + 2 + FileNames.GetByteCount(path) + 2 + FileNames.GetByteCount(target);

    public static int HardLink(Span<byte> dest, in HardLinkFrame f)
    {
        int pathLen = FileNames.GetByteCount(f.Path), targetLen = FileNames.GetByteCount(f.Target);
        int body = 8 + 12 + 2 + pathLen + 2 + targetLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.HardLink, body);
        w.U64((ulong)f.TargetSize); w.Time(f.TargetMTime); w.Name(f.Path, pathLen); w.Name(f.Target, targetLen);
        return w.Position;
    }

    public static int SpecialLength(string path) => FrameLimits.HeaderLength + 12 + 12 + 8 + 2 + FileNames.GetByteCount(path);

    public static int Special(Span<byte> dest, in SpecialFrame f)
    {
        int pathLen = FileNames.GetByteCount(f.Path);
        int body = 12 + 12 + 8 + 2 + pathLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Special, body);
        w.U32(f.Mode); w.U32(f.Major); w.U32(f.Minor); w.Time(f.MTime); w.U32(f.Uid); w.U32(f.Gid); w.Name(f.Path, pathLen);
        return w.Position;
    }

    /// <summary>Bytes an Attributes frame takes; more than a metadata frame holds means the attributes cannot be sent.</summary>
    public static int AttributesLength(string? directoryPath, IReadOnlyList<(string Name, byte[] Value)> attributes)
    {
        int body = 1 + (directoryPath is null ? 8 : 2 + FileNames.GetByteCount(directoryPath)) + 2;
        foreach (var (name, value) in attributes) body += 1 + FileNames.GetByteCount(name) + 2 + value.Length;
        return FrameLimits.HeaderLength + body;
    }

    public static int Attributes(Span<byte> dest, AttributesFrame f)
    {
        int total = AttributesLength(f.DirectoryPath, f.Attributes);
        if (dest.Length < total || total - FrameLimits.HeaderLength > FrameLimits.MaxMetadataBody || f.Attributes.Count > ushort.MaxValue) return 0;
        foreach (var (name, value) in f.Attributes)
            if (FileNames.GetByteCount(name) > byte.MaxValue || value.Length > ushort.MaxValue) return 0;
        var w = Begin(dest, FrameType.Attributes, total - FrameLimits.HeaderLength);
        if (f.DirectoryPath is { } path) { w.U8(1); w.Name(path, FileNames.GetByteCount(path)); }
        else { w.U8(0); w.U64(f.FileId); }
        w.U16((ushort)f.Attributes.Count);
        foreach (var (name, value) in f.Attributes)
        {
            int n = FileNames.GetByteCount(name);
            w.U8((byte)n);
            w.Position += FileNames.Encode(name, dest[w.Position..]);
            w.U16((ushort)value.Length);
            w.Bytes(value);
        }
        return w.Position;
    }

    public static int Ack(Span<byte> dest, ReadOnlySpan<ulong> fileIds)
    {
        int body = 4 + 8 * fileIds.Length;
        if (dest.Length < FrameLimits.HeaderLength + body || fileIds.Length > FrameLimits.MaxAcksPerFrame) return 0;
        var w = Begin(dest, FrameType.Ack, body);
        w.U32((uint)fileIds.Length);
        foreach (ulong id in fileIds) w.U64(id);
        return w.Position;
    }

    public const int DoneLength = FrameLimits.HeaderLength + FrameParser.DoneBody;

    public static int Done(Span<byte> dest, in TransferTotals t)
    {
        if (dest.Length < DoneLength) return 0;
        var w = Begin(dest, FrameType.Done, FrameParser.DoneBody);
        w.U64((ulong)t.Files); w.U64((ulong)t.Directories); w.U64((ulong)t.Symlinks); w.U64((ulong)t.HardLinks); w.U64((ulong)t.Specials);
        w.U64((ulong)t.Bytes); w.U64((ulong)t.Failed);
        return w.Position;
    }

    /// <summary>Writes as many of <see cref="DoneAckFrame.Problems"/> as fit in a metadata-sized body; the count says how many.</summary>
    public static int DoneAck(Span<byte> dest, in DoneAckFrame f)
    {
        int body = FrameParser.DoneAckMinBody + FrameParser.DoneAckDeletions, listed = 0;
        foreach (string p in f.Problems)
        {
            int n = 2 + Encoding.UTF8.GetByteCount(p);
            if (body + n > FrameLimits.MaxMetadataBody) break;
            body += n;
            listed++;
        }
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.DoneAck, body);
        w.U64((ulong)f.Files); w.U64((ulong)f.Bytes); w.U32((uint)f.Failures);
        w.U16((ushort)listed);
        for (int i = 0; i < listed; i++) w.Text(f.Problems[i], Encoding.UTF8.GetByteCount(f.Problems[i]));
        w.U64((ulong)f.Deleted); w.U64((ulong)f.DeletionsSkipped);
        return w.Position;
    }

    /// <summary>0 when the rules do not fit one metadata-sized body (the caller refuses such a policy up front).</summary>
    public static int DeletePolicy(Span<byte> dest, DeletePolicyFrame f)
    {
        int body = 8 + 2 + f.Rules.Sum(r => 2 + Encoding.UTF8.GetByteCount(r));
        if (dest.Length < FrameLimits.HeaderLength + body || body > FrameLimits.MaxMetadataBody || f.Rules.Count > ushort.MaxValue) return 0;
        var w = Begin(dest, FrameType.DeletePolicy, body);
        w.U64((ulong)f.MaxDelete); w.U16((ushort)f.Rules.Count);
        foreach (string rule in f.Rules) w.Text(rule, Encoding.UTF8.GetByteCount(rule));
        return w.Position;
    }

    /// <summary>As many of <paramref name="paths"/> as fit one metadata-sized body; <paramref name="taken"/> says how many.</summary>
    public static int Deleted(Span<byte> dest, ReadOnlySpan<string> paths, bool dryRun, out int taken)
    {
        int body = 1 + 2;
        taken = 0;
        foreach (string p in paths)
        {
            int n = 2 + FileNames.GetByteCount(p);
            if (body + n > FrameLimits.MaxMetadataBody || taken == ushort.MaxValue) break;
            body += n;
            taken++;
        }
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Deleted, body);
        w.U8(dryRun ? (byte)1 : (byte)0); w.U16((ushort)taken);
        for (int i = 0; i < taken; i++) w.Name(paths[i], FileNames.GetByteCount(paths[i]));
        return w.Position;
    }

    /// <summary>Encoded size of one Offer entry.</summary>
    public static int OfferEntryLength(OfferEntry e) => 8 + 8 + 12 + 4 + 8 + 1 + (e.Hash is null ? 0 : 32) + 2 + FileNames.GetByteCount(e.Path);

    public static int Offer(Span<byte> dest, IReadOnlyList<OfferEntry> entries)
    {
        int body = 4;
        foreach (var e in entries) body += OfferEntryLength(e);
        if (dest.Length < FrameLimits.HeaderLength + body || body > FrameLimits.MaxMetadataBody || entries.Count > FrameLimits.MaxOfferEntries) return 0;
        var w = Begin(dest, FrameType.Offer, body);
        w.U32((uint)entries.Count);
        foreach (var e in entries)
        {
            w.U64(e.FileId); w.U64((ulong)e.Size); w.Time(e.MTime); w.U32(e.Mode); w.U32(e.Uid); w.U32(e.Gid);
            if (e.Hash is null) w.U8(0);
            else { w.U8(1); w.Bytes(e.Hash); }
            w.Name(e.Path, FileNames.GetByteCount(e.Path));
        }
        return w.Position;
    }

    public static int Need(Span<byte> dest, ReadOnlySpan<NeedEntry> entries)
    {
        int body = 4 + 17 * entries.Length;
        if (dest.Length < FrameLimits.HeaderLength + body || entries.Length > FrameLimits.MaxOfferEntries) return 0;
        var w = Begin(dest, FrameType.Need, body);
        w.U32((uint)entries.Length);
        foreach (var e in entries) { w.U64(e.FileId); w.U8((byte)e.Status); w.U64((ulong)e.Offset); }
        return w.Position;
    }

    /// <summary>StreamAck or Resume: a single stream offset.</summary>
    public static int StreamOffset(Span<byte> dest, FrameType type, long offset)
    {
        if (type is not (FrameType.StreamAck or FrameType.Resume)) throw new ArgumentOutOfRangeException(nameof(type));
        if (dest.Length < FrameLimits.HeaderLength + 8) return 0;
        var w = Begin(dest, type, 8);
        w.U64((ulong)offset);
        return w.Position;
    }

    public static int Error(Span<byte> dest, in ErrorFrame f) => CodeAndText(dest, FrameType.Error, (ushort)f.Code, null, f.Message);

    public static int FileAbort(Span<byte> dest, in FileAbortFrame f) => CodeAndText(dest, FrameType.FileAbort, null, f.FileId, f.Reason);

    /// <summary>The largest a FileAbort frame can be (its reason cut to <see cref="MaxReasonChars"/>, up to 3 bytes each).</summary>
    public const int MaxFileAbortLength = FrameLimits.HeaderLength + 8 + 2 + 3 * MaxReasonChars;

    /// <summary>The largest an Error frame can be.</summary>
    public const int MaxErrorLength = FrameLimits.HeaderLength + 2 + 2 + 3 * MaxReasonChars;

    public static int SkippedLength(in SkippedFrame f) => FrameLimits.HeaderLength + 1 + 2 + FileNames.GetByteCount(f.Path) + 2 + Encoding.UTF8.GetByteCount(Truncate(f.Reason));

    public static int Skipped(Span<byte> dest, in SkippedFrame f)
    {
        string reason = Truncate(f.Reason);
        int pathLen = FileNames.GetByteCount(f.Path), reasonLen = Encoding.UTF8.GetByteCount(reason);
        int body = 1 + 2 + pathLen + 2 + reasonLen;
        if (dest.Length < FrameLimits.HeaderLength + body || body > FrameLimits.MaxMetadataBody) return 0;
        var w = Begin(dest, FrameType.Skipped, body);
        w.U8((byte)((f.Directory ? 1 : 0) | (f.SentIncomplete ? 2 : 0))); w.Name(f.Path, pathLen); w.Text(reason, reasonLen);
        return w.Position;
    }

    public static int FileAbortLength(string reason) => FrameLimits.HeaderLength + 8 + 2 + Encoding.UTF8.GetByteCount(Truncate(reason));

    private static int CodeAndText(Span<byte> dest, FrameType type, ushort? code, ulong? id, string text)
    {
        text = Truncate(text);
        int len = Encoding.UTF8.GetByteCount(text);
        int body = (code is null ? 0 : 2) + (id is null ? 0 : 8) + 2 + len;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, type, body);
        if (code is { } c) w.U16(c);
        if (id is { } i) w.U64(i);
        w.Text(text, len);
        return w.Position;
    }

    private static string Truncate(string s) => s.Length <= MaxReasonChars ? s : s[..MaxReasonChars];

    private static SpanWriter Begin(Span<byte> dest, FrameType type, int bodyLength)
    {
        dest[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(dest[1..], (uint)bodyLength);
        return new SpanWriter(dest, FrameLimits.HeaderLength);
    }

    private ref struct SpanWriter(Span<byte> dest, int position)
    {
        private readonly Span<byte> _dest = dest;
        public int Position = position;

        public void Skip(int n) => Position += n;
        public void U8(byte v) => _dest[Position++] = v;
        public void Bytes(ReadOnlySpan<byte> v) { v.CopyTo(_dest[Position..]); Position += v.Length; }
        public void U16(ushort v) { BinaryPrimitives.WriteUInt16BigEndian(_dest[Position..], v); Position += 2; }
        public void U32(uint v) { BinaryPrimitives.WriteUInt32BigEndian(_dest[Position..], v); Position += 4; }
        public void U64(ulong v) { BinaryPrimitives.WriteUInt64BigEndian(_dest[Position..], v); Position += 8; }
        public void Time(FileTime t) { U64((ulong)t.Seconds); U32(t.Nanoseconds); }

        /// <summary>A name: its own bytes, whatever they are.</summary>
        public void Name(string s, int byteCount)
        {
            U16((ushort)byteCount);
            Position += FileNames.Encode(s, _dest[Position..]);
        }

        public void Text(string s, int byteCount)
        {
            U16((ushort)byteCount);
            Position += Encoding.UTF8.GetBytes(s, _dest[Position..]);
        }
    }
}
