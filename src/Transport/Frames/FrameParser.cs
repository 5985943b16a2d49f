using System.Buffers.Binary;
using System.Text;

namespace ActorSync.Transport.Frames;

/// <summary>Decodes frame bodies. Every malformed body is a <see cref="ProtocolException"/>, nothing else.</summary>
public static class FrameParser
{
    public const int TransferHeaderBody = 2 + 16 + 2 + 2 + 2 + 4;
    public const int DoneBody = 7 * 8;
    public const int DoneAckMinBody = 8 + 8 + 4 + 2;
    /// <summary>DoneAck's deletion counts, after its problems: deleted u64, deletions skipped (--max-delete) u64.</summary>
    public const int DoneAckDeletions = 16;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static TransferHeaderFrame TransferHeader(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        ushort version = r.U16();
        if (version != FrameLimits.ProtocolVersion) ThrowHelper.ThrowProtocol($"unsupported frame protocol version {version}");
        var id = new Guid(r.Bytes(16));
        var f = new TransferHeaderFrame(id, r.U16(), r.U16(), r.U16(), r.U32());
        r.End();
        if (f.StreamCount == 0 || f.StreamIndex >= f.StreamCount) ThrowHelper.ThrowProtocol($"stream {f.StreamIndex} of {f.StreamCount} is not a valid stream index");
        if ((f.Flags & ~FrameLimits.KnownFlags) != 0) ThrowHelper.ThrowProtocol($"unknown transfer flags 0x{f.Flags:x8}");
        return f;
    }

    public static DirectoryFrame Directory(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        uint mode = r.U32();
        var mtime = r.Time();
        uint uid = r.U32(), gid = r.U32();
        var f = new DirectoryFrame(r.Name(FrameLimits.MaxPathBytes), mode, mtime, uid, gid);
        r.End();
        return f;
    }

    public static FileHeaderFrame FileHeader(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        ulong id = r.U64();
        ulong size = r.U64();
        if (size > long.MaxValue) ThrowHelper.ThrowProtocol($"file size {size} out of range");
        uint mode = r.U32();
        var mtime = r.Time();
        uint uid = r.U32(), gid = r.U32();
        byte flags = r.U8();
        if ((flags & ~(byte)(FileFlags.AwaitsEnd | FileFlags.HasAttributes)) != 0) ThrowHelper.ThrowProtocol($"unknown file flags 0x{flags:x2}");
        var f = new FileHeaderFrame(id, r.Name(FrameLimits.MaxPathBytes), (long)size, mode, mtime, uid, gid, (FileFlags)flags);
        r.End();
        return f;
    }

    public static SymlinkFrame Symlink(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var t = r.Time();
        uint uid = r.U32(), gid = r.U32();
        string path = r.Name(FrameLimits.MaxPathBytes);
        string target = r.Name(FrameLimits.MaxPathBytes);
        r.End();
        if (target.Length == 0 || target.Contains('\0')) ThrowHelper.ThrowProtocol("symlink target is empty or contains NUL");
        return new SymlinkFrame(path, target, t, uid, gid);
    }

    public static HardLinkFrame HardLink(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        long size = r.Count();
        var mtime = r.Time();
        string path = r.Name(FrameLimits.MaxPathBytes);
        string target = r.Name(FrameLimits.MaxPathBytes);
        r.End();
        return new HardLinkFrame(path, target, size, mtime);
    }

    public static SpecialFrame Special(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        uint mode = r.U32(), major = r.U32(), minor = r.U32();
        var mtime = r.Time();
        uint uid = r.U32(), gid = r.U32();
        var f = new SpecialFrame(r.Name(FrameLimits.MaxPathBytes), mode, major, minor, mtime, uid, gid);
        r.End();
        return f;
    }

    public static HoleFrame Hole(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var f = new HoleFrame(r.U64(), r.Count(), r.Count());
        r.End();
        if (f.Length <= 0 || f.Offset > long.MaxValue - f.Length) ThrowHelper.ThrowProtocol($"hole at {f.Offset}+{f.Length} out of range");
        return f;
    }

    public static SkippedFrame Skipped(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        byte flags = r.U8();
        if (flags > 3) ThrowHelper.ThrowProtocol($"unknown skipped flags 0x{flags:x2}");
        var f = new SkippedFrame(Path: r.Name(FrameLimits.MaxPathBytes), Reason: r.String(FrameLimits.MaxMetadataBody), Directory: (flags & 1) != 0, SentIncomplete: (flags & 2) != 0);
        r.End();
        return f;
    }

    /// <summary>A Kept frame: the same checks as a hole.</summary>
    public static HoleFrame Kept(ReadOnlySpan<byte> body) => Hole(body);

    /// <summary>Decodes a Blocks frame's entries onto <paramref name="into"/>; returns the file id and whether it was the last.</summary>
    public static (ulong FileId, bool Last) Blocks(ReadOnlySpan<byte> body, List<HeldBlock> into)
    {
        var r = new Reader(body);
        ulong id = r.U64();
        byte flags = r.U8();
        if (flags > 1) ThrowHelper.ThrowProtocol($"unknown blocks flags 0x{flags:x2}");
        int count = r.U16();
        if (count > body.Length / 13) ThrowHelper.ThrowProtocol($"blocks frame claims {count} entries in {body.Length} bytes");
        for (int i = 0; i < count; i++)
        {
            byte kind = r.U8();
            if (kind > 1) ThrowHelper.ThrowProtocol($"block kind {kind}");
            long offset = r.Count();
            uint length = r.U32();
            if (length == 0 || length > (kind == 1 ? FrameLimits.MaxHashedBlock : int.MaxValue) || offset > long.MaxValue - length)
                ThrowHelper.ThrowProtocol($"block at {offset}+{length} out of range");
            into.Add(new HeldBlock(offset, (int)length, kind == 1 ? r.Bytes(32).ToArray() : null));
        }
        r.End();
        return (id, flags == 1);
    }

    public static ulong FileEnd(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        ulong id = r.U64();
        r.End();
        return id;
    }

    public static AttributesFrame Attributes(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        byte kind = r.U8();
        if (kind > 1) ThrowHelper.ThrowProtocol($"attributes of unknown kind {kind}");
        ulong id = kind == 0 ? r.U64() : 0;
        string? path = kind == 1 ? r.Name(FrameLimits.MaxPathBytes) : null;
        int count = r.U16();
        // Each attribute costs at least 3 bytes, so the count is bounded by the (already checked) body size.
        if (count > body.Length / 3) ThrowHelper.ThrowProtocol($"attributes frame claims {count} entries in {body.Length} bytes");
        var list = new (string, byte[])[count];
        for (int i = 0; i < count; i++)
        {
            string name = FileNames.Decode(r.Bytes(r.U8()));
            if (name.Length == 0 || name.Contains('\0')) ThrowHelper.ThrowProtocol("attribute name is empty or contains NUL");
            list[i] = (name, r.Bytes(r.U16()).ToArray());
        }
        r.End();
        return new AttributesFrame(id, path, list);
    }

    /// <summary>Decodes the ids into <paramref name="ids"/> (at least <see cref="FrameLimits.MaxAcksPerFrame"/> long).</summary>
    public static int Ack(ReadOnlySpan<byte> body, Span<ulong> ids)
    {
        var r = new Reader(body);
        uint count = r.U32();
        if (count > FrameLimits.MaxAcksPerFrame || body.Length != 4 + 8 * (long)count) ThrowHelper.ThrowProtocol($"ack frame claims {count} ids in {body.Length} bytes");
        for (int i = 0; i < count; i++) ids[i] = r.U64();
        return (int)count;
    }

    public static TransferTotals Done(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        long files = r.Count(), dirs = r.Count(), symlinks = r.Count(), hardLinks = r.Count(), specials = r.Count(), bytes = r.Count(), failed = r.Count();
        r.End();
        return new TransferTotals(files, dirs, symlinks, bytes, failed, hardLinks, specials);
    }

    public static DoneAckFrame DoneAck(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        long files = r.Count(), bytes = r.Count();
        int failures = (int)Math.Min(r.U32(), int.MaxValue);
        // Each string costs at least its 2-byte length, so the count is bounded by the (already checked) body size.
        int count = r.U16();
        if (count > body.Length / 2) ThrowHelper.ThrowProtocol($"DoneAck claims {count} problems in {body.Length} bytes");
        var problems = new string[count];
        for (int i = 0; i < count; i++) problems[i] = r.String(FrameLimits.MaxMetadataBody);
        long deleted = r.Count(), skipped = r.Count();
        r.End();
        return new DoneAckFrame(files, bytes, failures, problems, deleted, skipped);
    }

    public static DeletePolicyFrame DeletePolicy(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        ulong max = r.U64();
        int count = r.U16();
        if (count > body.Length / 2) ThrowHelper.ThrowProtocol($"DeletePolicy claims {count} rules in {body.Length} bytes");
        var rules = new string[count];
        for (int i = 0; i < count; i++) rules[i] = r.String(FrameLimits.MaxMetadataBody);
        r.End();
        return new DeletePolicyFrame(max == ulong.MaxValue ? -1 : max > long.MaxValue ? long.MaxValue : (long)max, rules);
    }

    public static (bool DryRun, string[] Paths) Deleted(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        byte flags = r.U8();
        if (flags > 1) ThrowHelper.ThrowProtocol($"unknown Deleted flags 0x{flags:x2}");
        int count = r.U16();
        if (count > body.Length / 2) ThrowHelper.ThrowProtocol($"Deleted claims {count} paths in {body.Length} bytes");
        var paths = new string[count];
        for (int i = 0; i < count; i++) paths[i] = r.Name(FrameLimits.MaxPathBytes);
        r.End();
        return (flags == 1, paths);
    }

    public static ErrorFrame Error(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var f = new ErrorFrame((ErrorCode)r.U16(), r.String(FrameLimits.MaxMetadataBody));
        r.End();
        return f;
    }

    public static void Offer(ReadOnlySpan<byte> body, List<OfferEntry> into)
    {
        var r = new Reader(body);
        uint count = r.U32();
        if (count > FrameLimits.MaxOfferEntries) ThrowHelper.ThrowProtocol($"offer of {count} entries exceeds {FrameLimits.MaxOfferEntries}");
        for (int i = 0; i < count; i++)
        {
            ulong id = r.U64();
            long size = r.Count();
            var mtime = r.Time();
            uint mode = r.U32();
            uint uid = r.U32(), gid = r.U32();
            byte flag = r.U8();
            if (flag > 1) ThrowHelper.ThrowProtocol($"offer hash flag {flag}");
            byte[]? hash = flag == 1 ? r.Bytes(32).ToArray() : null;
            into.Add(new OfferEntry(id, r.Name(FrameLimits.MaxPathBytes), size, mtime, mode, hash, uid, gid));
        }
        r.End();
    }

    /// <summary>Decodes into <paramref name="into"/> (at least <see cref="FrameLimits.MaxOfferEntries"/> long).</summary>
    public static int Need(ReadOnlySpan<byte> body, Span<NeedEntry> into)
    {
        var r = new Reader(body);
        uint count = r.U32();
        if (count > FrameLimits.MaxOfferEntries || body.Length != 4 + 17L * count) ThrowHelper.ThrowProtocol($"need frame claims {count} entries in {body.Length} bytes");
        for (int i = 0; i < count; i++)
        {
            ulong id = r.U64();
            byte status = r.U8();
            if (status > 2) ThrowHelper.ThrowProtocol($"need status {status}");
            into[i] = new NeedEntry(id, (NeedStatus)status, r.Count());
        }
        return (int)count;
    }

    public static long StreamOffset(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        long offset = r.Count();
        r.End();
        return offset;
    }

    public static FileAbortFrame FileAbort(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var f = new FileAbortFrame(r.U64(), r.String(FrameLimits.MaxMetadataBody));
        r.End();
        return f;
    }

    private ref struct Reader(ReadOnlySpan<byte> body)
    {
        private ReadOnlySpan<byte> _rest = body;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (_rest.Length < n) ThrowHelper.ThrowProtocol("frame body too short");
            var s = _rest[..n];
            _rest = _rest[n..];
            return s;
        }

        public ReadOnlySpan<byte> Bytes(int n) => Take(n);
        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));
        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

        public long Count()
        {
            ulong v = U64();
            if (v > long.MaxValue) ThrowHelper.ThrowProtocol($"count {v} out of range");
            return (long)v;
        }

        public FileTime Time()
        {
            ulong sec = U64();
            uint nsec = U32();
            if (nsec >= 1_000_000_000) ThrowHelper.ThrowProtocol($"mtime nanoseconds {nsec} out of range");
            return new FileTime((long)sec, nsec);
        }

        /// <summary>A name: any bytes, kept exactly (<see cref="FileNames"/>); the receiver judges the path itself.</summary>
        public string Name(int maxBytes)
        {
            int n = U16();
            if (n > maxBytes) ThrowHelper.ThrowProtocol($"name of {n} bytes exceeds {maxBytes}");
            return FileNames.Decode(Take(n));
        }

        /// <summary>Text (a message): strict UTF-8.</summary>
        public string String(int maxBytes)
        {
            int n = U16();
            if (n > maxBytes) ThrowHelper.ThrowProtocol($"string of {n} bytes exceeds {maxBytes}");
            try { return StrictUtf8.GetString(Take(n)); }
            catch (DecoderFallbackException) { throw new ProtocolException("string is not valid UTF-8"); }
        }

        public readonly void End()
        {
            if (!_rest.IsEmpty) ThrowHelper.ThrowProtocol($"{_rest.Length} unexpected trailing bytes in frame");
        }
    }
}
