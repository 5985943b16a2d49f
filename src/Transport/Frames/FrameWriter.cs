using System.Buffers.Binary;
using System.Text;

namespace ActorSync.Transport.Frames;

/// <summary>Encodes frames straight into a caller's (pooled) buffer. Each method returns the bytes written,
/// or 0 if the frame does not fit, so a batcher can flush and retry.</summary>
public static class FrameWriter
{
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

    public static int Directory(Span<byte> dest, in DirectoryFrame f)
    {
        int pathLen = Encoding.UTF8.GetByteCount(f.Path);
        int body = 4 + 12 + 2 + pathLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Directory, body);
        w.U32(f.Mode); w.Time(f.MTime); w.String(f.Path, pathLen);
        return w.Position;
    }

    public static int FileHeader(Span<byte> dest, in FileHeaderFrame f)
    {
        int pathLen = Encoding.UTF8.GetByteCount(f.Path);
        int body = 8 + 8 + 4 + 12 + 2 + pathLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.FileHeader, body);
        w.U64(f.FileId); w.U64((ulong)f.Size); w.U32(f.Mode); w.Time(f.MTime); w.String(f.Path, pathLen);
        return w.Position;
    }

    /// <summary>Bytes a FileHeader frame for <paramref name="path"/> takes.</summary>
    public static int FileHeaderLength(string path) => FrameLimits.HeaderLength + 8 + 8 + 4 + 12 + 2 + Encoding.UTF8.GetByteCount(path);

    /// <summary>Writes the header of a data frame whose <paramref name="payloadLength"/> bytes the caller puts right after.</summary>
    public static int DataHeader(Span<byte> dest, ulong fileId, long offset, int payloadLength)
    {
        if (dest.Length < FrameLimits.HeaderLength + FrameLimits.DataPrefixLength) return 0;
        var w = Begin(dest, FrameType.Data, FrameLimits.DataPrefixLength + payloadLength);
        w.U64(fileId); w.U64((ulong)offset);
        return w.Position;
    }

    public const int DataHeaderLength = FrameLimits.HeaderLength + FrameLimits.DataPrefixLength;

    public static int Symlink(Span<byte> dest, in SymlinkFrame f)
    {
        int pathLen = Encoding.UTF8.GetByteCount(f.Path), targetLen = Encoding.UTF8.GetByteCount(f.Target);
        int body = 12 + 2 + pathLen + 2 + targetLen;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Symlink, body);
        w.Time(f.MTime); w.String(f.Path, pathLen); w.String(f.Target, targetLen);
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

    public static int Done(Span<byte> dest, in TransferTotals t)
    {
        const int body = 5 * 8;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, FrameType.Done, body);
        w.U64((ulong)t.Files); w.U64((ulong)t.Directories); w.U64((ulong)t.Symlinks); w.U64((ulong)t.Bytes); w.U64((ulong)t.Skipped);
        return w.Position;
    }

    /// <summary>Writes as many of <see cref="DoneAckFrame.Problems"/> as fit in a metadata-sized body; the count says how many.</summary>
    public static int DoneAck(Span<byte> dest, in DoneAckFrame f)
    {
        int body = FrameParser.DoneAckMinBody, listed = 0;
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
        for (int i = 0; i < listed; i++) w.String(f.Problems[i], Encoding.UTF8.GetByteCount(f.Problems[i]));
        return w.Position;
    }

    /// <summary>Encoded size of one Offer entry.</summary>
    public static int OfferEntryLength(OfferEntry e) => 8 + 8 + 12 + 4 + 1 + (e.Hash is null ? 0 : 32) + 2 + Encoding.UTF8.GetByteCount(e.Path);

    public static int Offer(Span<byte> dest, IReadOnlyList<OfferEntry> entries)
    {
        int body = 4;
        foreach (var e in entries) body += OfferEntryLength(e);
        if (dest.Length < FrameLimits.HeaderLength + body || body > FrameLimits.MaxMetadataBody || entries.Count > FrameLimits.MaxOfferEntries) return 0;
        var w = Begin(dest, FrameType.Offer, body);
        w.U32((uint)entries.Count);
        foreach (var e in entries)
        {
            w.U64(e.FileId); w.U64((ulong)e.Size); w.Time(e.MTime); w.U32(e.Mode);
            if (e.Hash is null) w.U8(0);
            else { w.U8(1); w.Bytes(e.Hash); }
            w.String(e.Path, Encoding.UTF8.GetByteCount(e.Path));
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

    private static int CodeAndText(Span<byte> dest, FrameType type, ushort? code, ulong? id, string text)
    {
        text = Truncate(text, 1024);
        int len = Encoding.UTF8.GetByteCount(text);
        int body = (code is null ? 0 : 2) + (id is null ? 0 : 8) + 2 + len;
        if (dest.Length < FrameLimits.HeaderLength + body) return 0;
        var w = Begin(dest, type, body);
        if (code is { } c) w.U16(c);
        if (id is { } i) w.U64(i);
        w.String(text, len);
        return w.Position;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

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
        public void String(string s, int byteCount)
        {
            U16((ushort)byteCount);
            Position += Encoding.UTF8.GetBytes(s, _dest[Position..]);
        }
    }
}
