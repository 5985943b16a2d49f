using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using FsCheck.Xunit;
using Xunit;

namespace ActorSync.Tests.Transport;

public sealed class FrameTests
{
    private static readonly FileTime T = new(1_700_000_000, 123_456_789);

    /// <summary>Decodes a whole stream the way the receiver does; returns the frames seen.</summary>
    internal static async Task<List<object>> DecodeAll(byte[] stream, int[] segments)
    {
        var reader = new FrameReader(new BytesChannel(stream, segments));
        var frames = new List<object>();
        var scratch = new byte[64 << 10];
        var ids = new ulong[FrameLimits.MaxAcksPerFrame];
        var needs = new NeedEntry[FrameLimits.MaxOfferEntries];
        while (await reader.ReadNextAsync())
        {
            if (reader.Type == FrameType.Data)
            {
                var (id, offset) = await reader.ReadDataPrefixAsync();
                long total = 0;
                while (reader.RemainingPayload > 0) total += await reader.ReadPayloadAsync(scratch);
                frames.Add((id, offset, total));
                continue;
            }
            if (reader.Type == FrameType.Padding)
            {
                await reader.SkipBodyAsync();
                frames.Add(("padding", reader.BodyLength));
                continue;
            }
            var body = (await reader.ReadBodyAsync()).Span;
            frames.Add(reader.Type switch
            {
                FrameType.HardLink => FrameParser.HardLink(body),
                FrameType.Special => FrameParser.Special(body),
                FrameType.Hole => FrameParser.Hole(body),
                FrameType.FileEnd => FrameParser.FileEnd(body),
                FrameType.Attributes => FrameParser.Attributes(body),
                FrameType.TransferHeader => FrameParser.TransferHeader(body),
                FrameType.Directory => FrameParser.Directory(body),
                FrameType.FileHeader => FrameParser.FileHeader(body),
                FrameType.Symlink => FrameParser.Symlink(body),
                FrameType.Ack => FrameParser.Ack(body, ids),
                FrameType.Done => FrameParser.Done(body),
                FrameType.DoneAck => FrameParser.DoneAck(body),
                FrameType.Error => FrameParser.Error(body),
                FrameType.FileAbort => FrameParser.FileAbort(body),
                FrameType.Offer => Offer(body),
                FrameType.Need => FrameParser.Need(body, needs),
                FrameType.StreamAck or FrameType.Resume => FrameParser.StreamOffset(body),
                FrameType.Skipped => FrameParser.Skipped(body),
                FrameType.Blocks => FrameParser.Blocks(body, []),
                FrameType.Kept => FrameParser.Kept(body),
                FrameType.DeletePolicy => FrameParser.DeletePolicy(body),
                FrameType.Deleted => FrameParser.Deleted(body),
                _ => throw new InvalidOperationException("reader let an unknown type through"),
            });
        }
        return frames;
    }

    private static List<OfferEntry> Offer(ReadOnlySpan<byte> body)
    {
        var entries = new List<OfferEntry>();
        FrameParser.Offer(body, entries);
        return entries;
    }

    private static byte[] SampleStream()
    {
        var buf = new byte[1 << 16];
        int n = 0;
        n += FrameWriter.TransferHeader(buf.AsSpan(n), new TransferHeaderFrame(Guid.NewGuid(), 2, 8, 0x1301, 0));
        n += FrameWriter.Directory(buf.AsSpan(n), new DirectoryFrame("a/b", 0x1ED, T));
        n += FrameWriter.FileHeader(buf.AsSpan(n), new FileHeaderFrame(7, "a/b/données.bin", 5, 0x1A4, T));
        n += FrameWriter.DataHeader(buf.AsSpan(n), 7, 0, 5);
        "hello"u8.CopyTo(buf.AsSpan(n)); n += 5;
        n += FrameWriter.Symlink(buf.AsSpan(n), new SymlinkFrame("a/link", "../x", T));
        n += FrameWriter.Ack(buf.AsSpan(n), [1, 2, 3]);
        n += FrameWriter.FileAbort(buf.AsSpan(n), new FileAbortFrame(9, "vanished"));
        n += FrameWriter.Done(buf.AsSpan(n), new TransferTotals(1, 1, 1, 5, 0));
        n += FrameWriter.DoneAck(buf.AsSpan(n), new DoneAckFrame(1, 5, 2, ["a/x: write failed: ENOSPC", "b/é: in the way"], 7, 3));
        n += FrameWriter.Error(buf.AsSpan(n), new ErrorFrame(ErrorCode.Failed, "disk full"));
        n += FrameWriter.HardLink(buf.AsSpan(n), new HardLinkFrame("a/second", "a/b/données.bin", 5, T));
        n += FrameWriter.Special(buf.AsSpan(n), new SpecialFrame("a/fifo", 0x1000 | 0x1A4, 0, 0, T, 1000, 1000));
        n += FrameWriter.Hole(buf.AsSpan(n), new HoleFrame(7, 4096, 1 << 20));
        n += FrameWriter.FileEnd(buf.AsSpan(n), 7);
        n += FrameWriter.Attributes(buf.AsSpan(n), new AttributesFrame(7, null, [("user.tag", "x"u8.ToArray())]));
        n += FrameWriter.Padding(buf.AsSpan(n), 40);
        n += FrameWriter.DeletePolicy(buf.AsSpan(n), new DeletePolicyFrame(25, ["- *.tmp", "+ keep/***"]));
        n += FrameWriter.Deleted(buf.AsSpan(n), ["old.txt", "gone/x"], dryRun: true, out _);
        return buf[..n];
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1 })]
    [InlineData(new[] { 3, 7, 1, 100 })]
    public async Task Every_frame_roundtrips_whatever_the_record_boundaries(int[] segments)
    {
        var frames = await DecodeAll(SampleStream(), segments);
        Assert.Equal(18, frames.Count);
        Assert.Equal(new DirectoryFrame("a/b", 0x1ED, T), frames[1]);
        Assert.Equal(new FileHeaderFrame(7, "a/b/données.bin", 5, 0x1A4, T), frames[2]);
        Assert.Equal((7UL, 0L, 5L), frames[3]);
        Assert.Equal(new SymlinkFrame("a/link", "../x", T), frames[4]);
        Assert.Equal(3, frames[5]);
        Assert.Equal(new FileAbortFrame(9, "vanished"), frames[6]);
        Assert.Equal(new TransferTotals(1, 1, 1, 5, 0), frames[7]);
        var ack = Assert.IsType<DoneAckFrame>(frames[8]);
        Assert.Equal((1L, 5L, 2), (ack.Files, ack.Bytes, ack.Failures));
        Assert.Equal(["a/x: write failed: ENOSPC", "b/é: in the way"], ack.Problems);
        Assert.Equal((7L, 3L), (ack.Deleted, ack.DeletionsSkipped));
        Assert.Equal(new ErrorFrame(ErrorCode.Failed, "disk full"), frames[9]);
        Assert.Equal(new HardLinkFrame("a/second", "a/b/données.bin", 5, T), frames[10]);
        Assert.Equal(new SpecialFrame("a/fifo", 0x1000 | 0x1A4, 0, 0, T, 1000, 1000), frames[11]);
        Assert.Equal(new HoleFrame(7, 4096, 1 << 20), frames[12]);
        Assert.Equal(7UL, frames[13]);
        var attributes = Assert.IsType<AttributesFrame>(frames[14]);
        Assert.Equal((7UL, null, "user.tag", "x"), (attributes.FileId, attributes.DirectoryPath, attributes.Attributes[0].Name, System.Text.Encoding.ASCII.GetString(attributes.Attributes[0].Value)));
        Assert.Equal(("padding", 35), frames[15]);
        var policy = Assert.IsType<DeletePolicyFrame>(frames[16]);
        Assert.Equal(25L, policy.MaxDelete);
        Assert.Equal(["- *.tmp", "+ keep/***"], policy.Rules);
        var (dryRun, paths) = ((bool, string[]))frames[17];
        Assert.True(dryRun);
        Assert.Equal(["old.txt", "gone/x"], paths);
    }

    /// <summary>Names are bytes: a header, an offer, a link and its target, whatever bytes they hold, arrive as sent.</summary>
    [Fact]
    public async Task Names_that_are_not_utf8_roundtrip_byte_for_byte()
    {
        string latin1 = FileNames.Decode([(byte)'c', (byte)'a', (byte)'f', 0xE9]), broken = FileNames.Decode([0xED, 0xA0, 0x80, (byte)'\n', 0xFF]);
        var buf = new byte[4096];
        int n = FrameWriter.FileHeader(buf, new FileHeaderFrame(1, latin1 + "/" + broken, 3, 0x1A4, T, 1, 2, FileFlags.AwaitsEnd));
        n += FrameWriter.Symlink(buf.AsSpan(n), new SymlinkFrame(broken, latin1, T));
        n += FrameWriter.Offer(buf.AsSpan(n), [new OfferEntry(2, latin1, 3, T, 0x1A4, null, 7, 8)]);
        var frames = await DecodeAll(buf[..n], []);
        var header = Assert.IsType<FileHeaderFrame>(frames[0]);
        Assert.Equal((byte[])[(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'/', 0xED, 0xA0, 0x80, (byte)'\n', 0xFF], FileNames.ToBytes(header.Path));
        Assert.Equal((1u, 2u, FileFlags.AwaitsEnd), (header.Uid, header.Gid, header.Flags));
        Assert.Equal(new SymlinkFrame(broken, latin1, T), frames[1]);
        var offer = Assert.Single(Assert.IsType<List<OfferEntry>>(frames[2]));
        Assert.Equal((latin1, 7u, 8u), (offer.Path, offer.Uid, offer.Gid));
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "unknown type", [0x7F, 0, 0, 0, 0] },
        { "huge metadata length", [(byte)FrameType.Directory, 0x7F, 0xFF, 0xFF, 0xFF] },
        { "huge data length", [(byte)FrameType.Data, 0xFF, 0xFF, 0xFF, 0xFF] },
        { "data shorter than its prefix", [(byte)FrameType.Data, 0, 0, 0, 3, 1, 2, 3] },
        { "transfer header of wrong size", [(byte)FrameType.TransferHeader, 0, 0, 0, 1, 0] },
        { "truncated frame", [(byte)FrameType.Directory, 0, 0, 0, 20, 1, 2] },
        { "string longer than body", [(byte)FrameType.Directory, 0, 0, 0, 26, 0, 0, 1, 0xED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] },
        { "nanoseconds out of range", [(byte)FrameType.Directory, 0, 0, 0, 27, 0, 0, 1, 0xED, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'a'] },
        { "unknown file flags", [(byte)FrameType.FileHeader, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 1, (byte)'a'] },
        { "a hole of length zero", [(byte)FrameType.Hole, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
        { "a FileEnd of the wrong length", [(byte)FrameType.FileEnd, 0, 0, 0, 4, 0, 0, 0, 1] },
        { "ack count lies", [(byte)FrameType.Ack, 0, 0, 0, 4, 0, 0, 0, 9] },
        { "negative (u64 > long.Max) offset", [(byte)FrameType.Data, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0] },
    };

    [Fact]
    public void A_transfer_header_with_a_flag_this_version_does_not_know_is_refused()
    {
        var buf = new byte[64];
        int n = FrameWriter.TransferHeader(buf, new TransferHeaderFrame(Guid.NewGuid(), 0, 1, 0x1301, 0x10));
        Assert.Throws<ProtocolException>(() => FrameParser.TransferHeader(buf.AsSpan(FrameLimits.HeaderLength, n - FrameLimits.HeaderLength)));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Malformed_frames_are_protocol_errors(string what, byte[] stream)
    {
        var e = await Assert.ThrowsAnyAsync<ProtocolException>(() => DecodeAll(stream, []));
        Assert.False(string.IsNullOrWhiteSpace(e.Message), what);
    }

    /// <summary>A receiver may ask the sender to hash pieces of at most a journal block: larger claims (a hostile
    /// receiver making the sender rent 2 GiB and read terabytes) are refused as the frame is parsed.</summary>
    [Theory]
    [InlineData(FrameLimits.MaxHashedBlock, true, true)]
    [InlineData(FrameLimits.MaxHashedBlock + 1, true, false)]
    [InlineData(int.MaxValue, true, false)]
    [InlineData(int.MaxValue, false, true)]   // unhashed: verified by the receiver, the sender reads nothing
    public void Hashed_blocks_are_at_most_a_journal_block(int length, bool hashed, bool accepted)
    {
        var frame = new byte[256];
        int n = FrameWriter.Blocks(frame, 7, [new HeldBlock(4096, length, hashed ? new byte[32] : null)], out int taken);
        Assert.Equal(1, taken);
        var into = new List<HeldBlock>();
        var body = frame.AsMemory(FrameLimits.HeaderLength, n - FrameLimits.HeaderLength);
        if (accepted) Assert.Equal((7UL, true), FrameParser.Blocks(body.Span, into));
        else Assert.Throws<ProtocolException>(() => FrameParser.Blocks(body.Span, into));
    }

    private static readonly Lazy<byte[]> Sample = new(SampleStream);

    /// <summary>Any input yields frames or a ProtocolException: never another exception, never a hang.</summary>
    [Property]
    public bool Arbitrary_bytes_decode_or_fail_with_protocol_error_only(byte[] noise, int[] segments, int[] flips)
    {
        // Half the cases: random bytes; half: a valid stream with random bytes flipped, which reaches deeper.
        byte[] input = noise.Length % 2 == 0 ? noise : (byte[])Sample.Value.Clone();
        if (input != noise || input.Length == Sample.Value.Length)
            foreach (int f in flips) input[Math.Abs(f % input.Length)] ^= (byte)(f >> 8 | 1);
        var task = DecodeAll(input, segments);
        try
        {
            if (!task.Wait(TimeSpan.FromSeconds(5))) return false;   // a hang fails the property
        }
        catch (AggregateException e) when (e.InnerException is ProtocolException) { }
        return true;   // any other exception escapes and fails the property with its input shown
    }

    /// <summary>
    /// A frame header may claim any length up to 4 GiB; what the decoder allocates must follow the bytes that
    /// actually came, never the claim. Measured on this thread: the in-memory channel completes synchronously.
    /// </summary>
    [Property]
    public bool Allocation_follows_the_bytes_received_never_the_lengths_claimed(uint claimed, byte[] body, int[] segments)
    {
        // Fixed costs: DecodeAll's 64 KiB scratch and id array, the reader's metadata buffer, small objects.
        const long Fixed = 256 << 10;
        byte[] input = new byte[FrameLimits.HeaderLength + body.Length];
        input[0] = (byte)((claimed ^ (claimed >> 20)) % 28);   // every frame type, and some unknown ones
        // A third each: small claims, claims anywhere up to a data frame's 16 MiB limit, and huge ones.
        uint length = (claimed % 3) switch { 0 => claimed, 1 => claimed * 2654435761u % (17u << 20), _ => claimed | 0x8000_0000u };
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(1), length);
        body.CopyTo(input, FrameLimits.HeaderLength);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var task = DecodeAll(input, segments);
        if (!task.IsCompleted) return false;   // nothing here may wait: the channel has every byte already
        if (task.IsFaulted && task.Exception!.InnerException is not ProtocolException) throw task.Exception;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return allocated <= Fixed + 8L * input.Length;
    }

    [Property]
    public bool Decoder_exceptions_are_protocol_exceptions(int[] segments, int[] flips)
    {
        var input = (byte[])Sample.Value.Clone();
        foreach (int f in flips) input[Math.Abs(f % input.Length)] ^= (byte)((f >> 4) | 1);
        try { DecodeAll(input, segments).GetAwaiter().GetResult(); }
        catch (ProtocolException) { }
        return true;   // any other exception escapes and fails the property with its input shown
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("a/b/c.txt", true)]
    [InlineData("données/日本.txt", true)]
    [InlineData("with space/x", true)]
    [InlineData(".hidden", true)]
    [InlineData("..hidden", true)]
    [InlineData("", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("../x", false)]
    [InlineData("a/../../x", false)]
    [InlineData("a/./b", false)]
    [InlineData("a//b", false)]
    [InlineData("a/", false)]
    [InlineData("a\0b", false)]
    [InlineData(".actorsync/tmp/x", false)]
    [InlineData("sub/.actorsync", true)]
    public void Relative_paths(string path, bool valid)
    {
        Assert.Equal(valid, RelativePath.IsValid(path, out string? reason));
        if (!valid) Assert.NotNull(reason);
        else Assert.Null(reason);
    }

    [Fact]
    public void Over_long_names_and_paths_are_refused()
    {
        Assert.False(RelativePath.IsValid(new string('x', 256), out _));
        Assert.True(RelativePath.IsValid(new string('x', 255), out _));
        Assert.False(RelativePath.IsValid(string.Join('/', Enumerable.Repeat(new string('y', 200), 21)), out _));
    }
}
