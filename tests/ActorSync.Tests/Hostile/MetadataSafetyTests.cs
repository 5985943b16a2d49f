using ActorSync.Engine;
using ActorSync.Tests.Support;
using ActorSync.Transport.Frames;
using Xunit;
using static ActorSync.Tests.Support.HostilePeer;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// Metadata is changed through no symlink: a local user who swaps a directory of DEST for a symlink while a
/// (root) receiver works must not get a file outside DEST chmod-ed, chowned or touched. Before, directory modes
/// were set with fchmodat(..., 0), which follows symlinks.
/// </summary>
public sealed class MetadataSafetyTests
{
    private static readonly FileTime T = new(1_700_000_000, 5);

    [Fact]
    public async Task A_directory_swapped_for_a_symlink_before_its_mode_is_set_changes_nothing_outside_dest()
    {
        using var scratch = new Scratch("swap");
        string outside = scratch.Sub("outside"), dst = scratch.Sub("dst");
        Directory.CreateDirectory(outside);
        File.SetUnixFileMode(outside, (UnixFileMode)0x1C0);
        var before = new DirectoryInfo(outside).LastWriteTimeUtc;
        var first = Frames(
            b => FrameWriter.Directory(b, new DirectoryFrame("d", 0x1FF /* 0777 */, T)),
            b => FrameWriter.FileHeader(b, new FileHeaderFrame(1, "d/x", 2, 0x1A4, T)),
            b => { int h = FrameWriter.DataHeader(b, 1, 0, 2); b[h] = (byte)'o'; b[h + 1] = (byte)'k'; return h + 2; });
        var (received, _) = await AttackAsync(dst, first, midway: async () =>
        {
            // The definite point: d/x is committed, the directory's mode is not set yet (that waits for Done).
            for (int i = 0; i < 3000 && !File.Exists(Path.Join(dst, "d", "x")); i++) await Task.Delay(10);
            Assert.True(File.Exists(Path.Join(dst, "d", "x")));
            Directory.Move(Path.Join(dst, "d"), Path.Join(dst, "d-moved"));
            File.CreateSymbolicLink(Path.Join(dst, "d"), outside);
        }, after: Frames(b => FrameWriter.Done(b, new TransferTotals(1, 1, 0, 2, 0))));

        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Contains(received.Problems, p => p.StartsWith("d: not a directory any more", StringComparison.Ordinal));
        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(outside));
        Assert.Equal(before, new DirectoryInfo(outside).LastWriteTimeUtc);
        Assert.Equal(outside, new FileInfo(Path.Join(dst, "d")).LinkTarget);
    }
}
