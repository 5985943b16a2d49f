using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// Files of more than one chunk are received resumably into DEST/.actorsync/partial/KEY, KEY from the path's bytes.
/// Beside it, KEY.journal, appended to as the file arrives (never rewritten):
/// <code>
/// actorsync-partial-v2 SIZE MTIME BASE64(PATH)    the version of the file this is
/// R OFFSET LENGTH                                  these bytes were written (one line per range, not synced)
/// B INDEX SHA256                                   block INDEX (BlockSize bytes) holds these bytes
/// C OFFSET                                         everything before OFFSET was fsynced before this line
/// </code>
/// Nothing in it is trusted by itself. On the next run a block whose bytes on disk hash to its B line is kept
/// (verified here); bytes after that which an R line says were written are hashed in blocks and the sender
/// compares them with its source; all the rest is sent again. So a kill loses only what was not written yet,
/// and a power loss only what was not flushed; a block changed on disk since is caught and sent again.
/// </summary>
internal static class PartialFiles
{
    public const string Directory = "partial";
    private const string Magic = "actorsync-partial-v2";

    /// <summary>Blocks the journal hashes as a file's prefix becomes durable: a block changed on disk costs this much
    /// again; a B line per 4 MiB keeps a journal small (70 bytes per 4 MiB) even for a file of terabytes.</summary>
    public const int BlockSize = FrameLimits.MaxHashedBlock;

    /// <summary>Blocks past the verified ones are hashed in pieces of this size for the sender to check: a piece
    /// written only in part is what one interruption costs at most per gap. Grown for huge regions to keep the
    /// count under <see cref="FrameLimits.MaxBlocksPerFile"/>.</summary>
    private const int VerifyPiece = 1 << 20;

    public static string Key(string path) => Convert.ToHexStringLower(SHA256.HashData(FileNames.ToBytes(path)))[..40];

    public static string JournalName(string key) => key + ".journal";

    public static string Header(in FileHeaderFrame h) =>
        $"{Magic} {h.Size} {h.MTime.Seconds}.{h.MTime.Nanoseconds:D9} {Convert.ToBase64String(FileNames.ToBytes(h.Path))}\n";

    public static string Written(long offset, long length) => $"R {offset} {length}\n";

    public static string Block(long index, byte[] hash) => $"B {index} {Convert.ToHexStringLower(hash)}\n";

    public static string Durable(long offset) => $"C {offset}\n";

    /// <summary>
    /// What a kept partial holds for <paramref name="entry"/>: blocks verified here, and blocks for the sender to
    /// verify, hashed; null when there is none, it is of another version of the file (removed), or nothing in it
    /// can be used. Reads (and hashes) what the journal names: that is the cost of a resume, paid only on one.
    /// </summary>
    public static (List<HeldBlock> Blocks, long DurablePrefix)? Inspect(int partialFd, OfferEntry entry)
    {
        string key = Key(entry.Path);
        int journalFd = Libc.OpenAtForRead(partialFd, JournalName(key));
        if (journalFd < 0) return null;
        int dataFd = Libc.OpenAtForRead(partialFd, key);
        try
        {
            using var journal = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(journalFd, ownsHandle: true), FileAccess.Read, 1 << 16), Encoding.ASCII);
            var header = new FileHeaderFrame(entry.FileId, entry.Path, entry.Size, entry.Mode, entry.MTime);
            string? first = journal.ReadLine();
            if (first is null || first.Length == 0) return null;   // a journal being started: a writer of this run has it
            if (dataFd < 0 || first + "\n" != Header(header))
            {
                Remove(partialFd, key);
                return null;
            }
            // --checksum trusts no size and mtime, so not the journal's header either: every byte held is hashed
            // for the sender to compare with its source.
            bool checksum = entry.Hash is not null;
            long onDisk = Libc.StatOpen(dataFd, out var st) == 0 ? Math.Min((long)st.Size, entry.Size) : 0;
            var verified = new RangeSet();
            var written = new RangeSet();
            var looked = new HashSet<string>();   // B lines checked once each: a stale one does not hide a later right one
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
            try
            {
                while (journal.ReadLine() is { } line)
                {
                    var parts = line.Split(' ');
                    // A torn last line (killed mid-write) does not parse, and is skipped like any unknown one.
                    if (parts.Length == 3 && parts[0] == "R" && Long(parts[1]) is { } offset && Long(parts[2]) is { } length && length > 0 && offset <= entry.Size - length)
                        AddTolerant(written, offset, length);
                    else if (parts.Length == 3 && parts[0] == "B" && Long(parts[1]) is { } index && parts[2].Length == 64 && index >= 0 && index < (entry.Size + BlockSize - 1) / BlockSize)
                    {
                        if (checksum) AddTolerant(written, index * (long)BlockSize, Math.Min(BlockSize, entry.Size - index * (long)BlockSize));
                        else if (looked.Add(line)) VerifyBlock(dataFd, index, parts[2], onDisk, entry.Size, verified, buffer);
                    }
                }
                var blocks = new List<HeldBlock>();
                foreach (var (start, end) in verified.Segments)
                    for (long at = start; at < end; at += 1 << 30) blocks.Add(new HeldBlock(at, (int)Math.Min(1 << 30, end - at), null));
                HashUnverified(dataFd, Subtract(written, verified, onDisk), blocks, buffer);
                if (blocks.Count == 0) return null;
                return (blocks, verified.Prefix);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        finally
        {
            Libc.CloseQuietly(dataFd);
        }
    }

    private static long? Long(string text) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;

    /// <summary>Adds a range; a journal of more pieces than a file may be in is not followed further (what it
    /// names past that point is simply sent again).</summary>
    private static void AddTolerant(RangeSet set, long offset, long length)
    {
        try { set.AddAllowingOverlap(offset, length); }
        catch (Transport.ProtocolException) { }
    }

    private static void VerifyBlock(int fd, long index, string expected, long onDisk, long size, RangeSet verified, byte[] buffer)
    {
        long start = index * (long)BlockSize;
        int length = (int)Math.Min(BlockSize, size - start);
        if (start + length > onDisk || verified.Covers(start, length)) return;
        int n = Libc.ReadFully(fd, buffer.AsSpan(0, length), start);
        if (n == length && Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length))) == expected) AddTolerant(verified, start, length);
    }

    /// <summary>The written ranges not verified here, clipped to what the partial holds.</summary>
    private static List<(long Start, long End)> Subtract(RangeSet written, RangeSet verified, long onDisk)
    {
        var result = new List<(long, long)>();
        foreach (var (ws, we) in written.Segments)
        {
            long cursor = ws, end = Math.Min(we, onDisk);
            foreach (var (vs, ve) in verified.Segments)
            {
                if (ve <= cursor) continue;
                if (vs >= end) break;
                if (vs > cursor) result.Add((cursor, vs));
                cursor = Math.Max(cursor, ve);
            }
            if (cursor < end) result.Add((cursor, end));
        }
        return result;
    }

    /// <summary>Hashes the unverified ranges in pieces (at most the file's block budget), for the sender to compare.</summary>
    private static void HashUnverified(int fd, List<(long Start, long End)> ranges, List<HeldBlock> blocks, byte[] buffer)
    {
        long total = ranges.Sum(r => r.End - r.Start);
        int budget = FrameLimits.MaxBlocksPerFile - blocks.Count - ranges.Count;
        if (budget <= 0) return;
        long piece = Math.Clamp((total + budget - 1) / budget, VerifyPiece, BlockSize);
        piece = (piece + VerifyPiece - 1) / VerifyPiece * VerifyPiece;
        foreach (var (start, end) in ranges)
        {
            for (long at = start; at < end && blocks.Count < FrameLimits.MaxBlocksPerFile;)
            {
                int length = (int)Math.Min(piece, end - at);
                if (Libc.ReadFully(fd, buffer.AsSpan(0, length), at) != length) return;
                blocks.Add(new HeldBlock(at, length, SHA256.HashData(buffer.AsSpan(0, length))));
                at += length;
            }
        }
    }

    /// <summary>A whole finished temporary, hashed in pieces for the sender to verify; null if it cannot be read whole.</summary>
    public static HeldBlock[]? HashWhole(int dirFd, string name, long size)
    {
        int fd = Libc.OpenAtForRead(dirFd, name);
        if (fd < 0) return null;
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(VerifyPiece);
        try
        {
            var blocks = new List<HeldBlock>();
            for (long at = 0; at < size;)
            {
                int length = (int)Math.Min(VerifyPiece, size - at);
                if (Libc.ReadFully(fd, buffer.AsSpan(0, length), at) != length) return null;
                blocks.Add(new HeldBlock(at, length, SHA256.HashData(buffer.AsSpan(0, length))));
                at += length;
            }
            return [.. blocks];
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            Libc.Close(fd);
        }
    }

    /// <summary>SHA-256 of the <paramref name="count"/> blocks from <paramref name="firstIndex"/> (the last may be short at the end of the file).</summary>
    public static bool HashBlocks(int fd, long firstIndex, long count, long size, List<byte[]> into)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            for (long i = firstIndex; i < firstIndex + count; i++)
            {
                long start = i * (long)BlockSize;
                int length = (int)Math.Min(BlockSize, size - start);
                if (Libc.ReadFully(fd, buffer.AsSpan(0, length), start) != length) return false;
                into.Add(SHA256.HashData(buffer.AsSpan(0, length)));
            }
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static void Remove(int partialFd, string key)
    {
        Libc.Unlink(partialFd, key);
        Libc.Unlink(partialFd, JournalName(key));
    }
}
