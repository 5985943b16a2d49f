using System.Security.Cryptography;
using System.Text;
using ActorSync.Host.Demo;
using ActorSync.Receiving;
using ActorSync.Tests.Support;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.EndToEnd;

/// <summary>
/// A partial left by an interrupted copy is reused only for bytes that are the source's: these plant one left by
/// another version of the file with the same path, size and mtime (a `mv` of a same-sized file, a copy that keeps
/// mtimes) and check that nothing of it survives where the new version differs.
/// </summary>
public sealed class ResumeSafetyTests
{
    private static readonly FileTime MTime = new(1_700_000_000, 123_456_789);

    /// <summary>DEST/.actorsync/partial with <paramref name="content"/> for <paramref name="path"/>, its journal naming
    /// every byte as written and, with <paramref name="durableBlocks"/>, that many blocks hashed and synced.</summary>
    private static void PlantPartial(string dst, string path, byte[] content, long size, int durableBlocks)
    {
        string dir = Path.Join(dst, ".actorsync", PartialFiles.Directory);
        Directory.CreateDirectory(dir);
        string key = PartialFiles.Key(path);
        File.WriteAllBytes(Path.Join(dir, key), content);
        var journal = new StringBuilder(PartialFiles.Header(new FileHeaderFrame(0, path, size, 0x1A4, MTime)));
        journal.Append(PartialFiles.Written(0, content.Length));
        for (int i = 0; i < durableBlocks; i++)
            journal.Append(PartialFiles.Block(i, SHA256.HashData(content.AsSpan(i * PartialFiles.BlockSize, PartialFiles.BlockSize))));
        if (durableBlocks > 0) journal.Append(PartialFiles.Durable((long)durableBlocks * PartialFiles.BlockSize));
        File.WriteAllText(Path.Join(dir, PartialFiles.JournalName(key)), journal.ToString());
    }

    private static void SetMTime(string file) => Assert.Equal(0, Libc.SetModificationTimeAt(Libc.AT_FDCWD, file, MTime.Seconds, MTime.Nanoseconds));

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task Holes_of_the_new_version_are_zeros_where_a_reused_partial_held_other_bytes()
    {
        using var scratch = new Scratch("resume-holes");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst"), image = Path.Join(src, "disk.img");
        Directory.CreateDirectory(src);
        // 1 MiB of data, then 7 MiB of hole: sent as Hole frames.
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.Write(Random(1 << 20, 1));
            f.SetLength(8 << 20);
        }
        File.SetUnixFileMode(image, (UnixFileMode)0x1A4);
        SetMTime(image);
        PlantPartial(dst, "disk.img", Random(8 << 20, 2), 8 << 20, durableBlocks: 0);

        var (sent, received) = await Loopback.TransferAsync(src, dst);
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, sent.Error + received.Error);
        Assert.True(sent.BytesResumed == 0, $"{sent.BytesResumed} bytes of another version kept");
        Assert.True(File.ReadAllBytes(image).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(dst, "disk.img"))), "stale bytes where the source has a hole");
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 1, string.Join("\n", whole.Differences));
    }

    [Fact]
    public async Task With_checksum_blocks_the_journal_vouches_for_are_still_checked_against_the_source()
    {
        using var scratch = new Scratch("resume-checksum");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst"), model = Path.Join(src, "model.bin");
        Directory.CreateDirectory(src);
        File.WriteAllBytes(model, Random(8 << 20, 3));
        File.SetUnixFileMode(model, (UnixFileMode)0x1A4);
        SetMTime(model);
        // 6 MiB of another version, its first 4 MiB block hashed and synced: without --checksum that block is trusted
        // (size and mtime match); with it, nothing is.
        PlantPartial(dst, "model.bin", Random(6 << 20, 4), 8 << 20, durableBlocks: 1);

        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { Checksum = true });
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, sent.Error + received.Error);
        Assert.Equal(0, sent.BytesResumed);
        Assert.Equal(8 << 20, sent.PayloadBytesSent);
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 1, string.Join("\n", whole.Differences));
    }

    [Fact]
    public async Task With_checksum_a_partial_of_this_version_is_still_resumed()
    {
        using var scratch = new Scratch("resume-checksum-same");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst"), model = Path.Join(src, "model.bin");
        Directory.CreateDirectory(src);
        byte[] content = Random(8 << 20, 5);
        File.WriteAllBytes(model, content);
        File.SetUnixFileMode(model, (UnixFileMode)0x1A4);
        SetMTime(model);
        PlantPartial(dst, "model.bin", content[..(6 << 20)], 8 << 20, durableBlocks: 1);

        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { Checksum = true });
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, sent.Error + received.Error);
        Assert.Equal(6 << 20, sent.BytesResumed);
        Assert.Equal(2 << 20, sent.PayloadBytesSent);
        var whole = TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical && whole.Entries == 1, string.Join("\n", whole.Differences));
    }

    [Fact]
    public void A_journal_being_started_is_not_taken_for_a_stale_one()
    {
        using var scratch = new Scratch("journal-start");
        string dir = Path.Join(scratch.Path, PartialFiles.Directory);
        Directory.CreateDirectory(dir);
        string key = PartialFiles.Key("a/big.bin");
        File.WriteAllBytes(Path.Join(dir, key), []);
        File.WriteAllBytes(Path.Join(dir, PartialFiles.JournalName(key)), []);
        int fd = Libc.OpenDirectoryFollowing(dir);
        try
        {
            Assert.Null(PartialFiles.Inspect(fd, new OfferEntry(1, "a/big.bin", 8 << 20, MTime, 0x1A4, null)));
        }
        finally { Libc.Close(fd); }
        Assert.True(File.Exists(Path.Join(dir, key)) && File.Exists(Path.Join(dir, PartialFiles.JournalName(key))), "a writer's new partial was removed");
    }
}
