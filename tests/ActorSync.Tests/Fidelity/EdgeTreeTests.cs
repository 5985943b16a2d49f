using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Fidelity;

/// <summary>
/// Is DEST exactly SRC, on a tree shaped like the awkward corners of real datasets (<see cref="EdgeTree"/>)?
/// Checked by an independent checker written apart from the product, and by the product's own comparer.
/// </summary>
public sealed class EdgeTreeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_edge_tree_arrives_exact_over_eight_streams_and_a_rerun_sends_nothing()
    {
        using var scratch = new Scratch("edge");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        var facts = EdgeTree.Generate(src);
        var options = Loopback.Options(streams: 8) with { PreserveAttributes = true };
        var (sent, received) = await Loopback.TransferAsync(src, dst, options);
        output.WriteLine($"sent: {sent.Files} files, {sent.HardLinks} hard links, {sent.Specials} special, {sent.PayloadBytesSent} payload bytes; problems: {string.Join("; ", sent.Problems)}");
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, $"{sent.Error} / {received.Error}: {string.Join("; ", received.Problems)}");

        // Bytes of linked names and of holes never crossed the wire.
        Assert.Equal(facts.HardLinks, sent.HardLinks);
        Assert.Equal(facts.HardLinks, received.HardLinks);
        Assert.Equal(facts.DataBytes, sent.PayloadBytesSent);
        Assert.Equal(facts.Files, received.Files);
        // Time to first byte, as the summary reports it: within the transfer, and after the process had started.
        Assert.InRange(sent.FirstDataSeconds ?? -1, 0, sent.ElapsedSeconds);
        Assert.True(sent.StartedSeconds > 0, $"started_s {sent.StartedSeconds}");
        Assert.Equal(facts.Root ? 4 : 0, received.Specials);

        var check = await TreeCheck.RunAsync(src, dst, owners: facts.Root, attributes: facts.Attributes);
        Assert.True(check.Identical, check.Differences + check.Summary);
        output.WriteLine(check.Summary.Trim());
        var own = TreeComparer.Compare(src, dst);
        Assert.True(own.Identical, string.Join("\n", own.Differences));

        // The 1 GiB file with 12 KiB of data is as sparse at the destination as at the source.
        Assert.Equal(0, Libc.StatNoFollow(Libc.AT_FDCWD, Path.Join(dst, "sparse.bin"), out var sparse));
        Assert.True((long)sparse.Blocks * 512 <= 64 << 10, $"sparse.bin allocates {(long)sparse.Blocks * 512} bytes at the destination");

        var (again, receivedAgain) = await Loopback.TransferAsync(src, dst, options);
        Assert.True(again.ExitCode == 0 && receivedAgain.ExitCode == 0, $"{again.Error} / {receivedAgain.Error}");
        Assert.Equal(0, again.PayloadBytesSent);
        Assert.Null(again.FirstDataSeconds);
        Assert.Equal(facts.Files, again.FilesSkipped);
        var recheck = await TreeCheck.RunAsync(src, dst, owners: facts.Root, attributes: facts.Attributes);
        Assert.True(recheck.Identical, recheck.Differences);
    }

    [Fact]
    public async Task Without_hard_links_each_name_is_a_file_of_its_own()
    {
        using var scratch = new Scratch("nolinks");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        var facts = EdgeTree.Generate(src, new EdgeTree.Spec { WideEntries = 10, SparseBytes = 8 << 20 });
        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { PreserveHardLinks = false });
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, $"{sent.Error} / {received.Error}");
        Assert.Equal(0, sent.HardLinks);
        Assert.Equal(facts.Files + facts.HardLinks, received.Files);
        foreach (string name in new[] { "links/a/shared.bin", "links/b/same.bin", "links/b/large-again.bin" })
        {
            Assert.Equal(0, Libc.StatNoFollow(Libc.AT_FDCWD, Path.Join(dst, name), out var st));
            Assert.Equal(1u, st.Nlink);
        }
        var check = await TreeCheck.RunAsync(src, dst, owners: facts.Root, attributes: false);
        Assert.Contains("hard-link group differs", check.Differences);
    }

    /// <summary>
    /// A transfer that ends with exit 1 (here a directory at DEST is in the way of a file) still gives every
    /// directory its owner and mode, deepest first, and its mtime where its contents are complete; the directory
    /// holding the file that failed keeps a fresh mtime, so it does not look finished.
    /// </summary>
    [Fact]
    public async Task Directories_get_their_metadata_when_the_transfer_ends_with_exit_1_and_their_mtime_only_when_complete()
    {
        using var scratch = new Scratch("dirmeta");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        foreach (string dir in new[] { "complete/deeper", "failed/inner" }) Directory.CreateDirectory(Path.Join(src, dir));
        await File.WriteAllTextAsync(Path.Join(src, "complete/deeper/a"), "a");
        await File.WriteAllTextAsync(Path.Join(src, "failed/inner/x"), "x");
        await File.WriteAllTextAsync(Path.Join(src, "failed/y"), "y");
        foreach (var (dir, mode) in new[] { ("complete/deeper", 0x1E8), ("complete", 0x1C0), ("failed/inner", 0x1E8), ("failed", 0x1ED) })
        {
            File.SetUnixFileMode(Path.Join(src, dir), (UnixFileMode)mode);
            Libc.SetModificationTimeAt(Libc.AT_FDCWD, Path.Join(src, dir), 1_500_000_000, 123);
        }
        Directory.CreateDirectory(Path.Join(dst, "failed/inner/x/in-the-way"));
        var (sent, received) = await Loopback.TransferAsync(src, dst);
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Contains(received.Problems, p => p.StartsWith("failed/inner/x: a directory of that name is in the way", StringComparison.Ordinal));
        foreach (var (dir, mode, complete) in new[] { ("complete/deeper", 0x1E8, true), ("complete", 0x1C0, true), ("failed/inner", 0x1E8, false), ("failed", 0x1ED, false) })
        {
            Assert.Equal(0, Libc.StatNoFollow(Libc.AT_FDCWD, Path.Join(dst, dir), out var st));
            Assert.Equal(mode, st.Mode & 0xFFF);
            Assert.Equal(complete, st.Mtime.Sec == 1_500_000_000 && st.Mtime.Nsec == 123);
        }
    }

    /// <summary>
    /// -X with attributes too large for one frame: the file is sent without them, both sides say so (exit 1), and
    /// the receiver counts it as copied incomplete, not as not sent: its directory is complete and gets its mtime.
    /// </summary>
    [Fact]
    public async Task A_file_sent_without_its_attributes_is_copied_reported_and_its_directory_complete()
    {
        using var scratch = new Scratch("xattr-big");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        Directory.CreateDirectory(Path.Join(src, "d"));
        await File.WriteAllTextAsync(Path.Join(src, "d/f"), "content");
        int fd = Libc.OpenForRead(Path.Join(src, "d/f"));
        int errno = Libc.WriteAttribute(fd, "user.big", new byte[10_000]);
        Libc.Close(fd);
        Assert.True(errno == 0, $"this filesystem refuses a 10 kB user xattr: {Libc.Describe(errno)}");
        Libc.SetModificationTimeAt(Libc.AT_FDCWD, Path.Join(src, "d"), 1_500_000_000, 456);

        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { PreserveAttributes = true });
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        // The sender's own word, and the receiver's, which it passes on.
        Assert.Equal(2, sent.Problems.Count);
        Assert.StartsWith("d/f: extended attributes not copied: ", sent.Problems[0]);
        Assert.StartsWith("receiver: d/f: sent incomplete: ", sent.Problems[1]);
        Assert.StartsWith("d/f: sent incomplete: extended attributes not copied: ", Assert.Single(received.Problems));
        Assert.Equal(1, received.Files);
        Assert.Equal("content", await File.ReadAllTextAsync(Path.Join(dst, "d/f")));
        Assert.Equal(0, Libc.StatNoFollow(Libc.AT_FDCWD, Path.Join(dst, "d"), out var st));
        Assert.True(st.Mtime.Sec == 1_500_000_000 && st.Mtime.Nsec == 456, "the directory was taken for incomplete");
    }
}
