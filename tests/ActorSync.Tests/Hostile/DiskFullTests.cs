using System.Security.Cryptography;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// A destination on a small tmpfs that fills up mid-transfer. The transfer stops (every later write would
/// fail too), names the file, exits 1 on both sides, leaves nothing half-written under a final name and the
/// source untouched; once the filesystem is grown, the same command finishes the job.
/// </summary>
public sealed class DiskFullTests
{
    private static Dictionary<string, (string Hash, DateTime MTime)> Fingerprint(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f),
            f => (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), File.GetLastWriteTimeUtc(f)));

    private static void WriteRandom(string path, int bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[bytes];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(path, data);
    }

    /// <summary>Every file under a final name in DEST is whole and equal to its source; no temporaries are left.</summary>
    private static long AssertOnlyWholeFiles(string src, string dst)
    {
        var whole = ActorSync.Host.Demo.TreeComparer.WholeFiles(src, dst);
        Assert.True(whole.Identical, string.Join("\n", whole.Differences));
        return whole.Entries;
    }

    [Fact]
    public async Task A_full_destination_stops_the_transfer_naming_the_file_and_the_rerun_after_freeing_space_finishes()
    {
        using var scratch = new Scratch("diskfull");
        string src = scratch.Sub("src");
        for (int i = 0; i < 200; i++) WriteRandom(Path.Join(src, $"shard{i % 4}", $"sample{i:D3}.bin"), 20_000);
        WriteRandom(Path.Join(src, "weights-a.bin"), 6 << 20);
        WriteRandom(Path.Join(src, "weights-b.bin"), 3 << 20);
        var before = Fingerprint(src);

        using var dst = new TmpfsMount(scratch.Sub("dst"), sizeMiB: 8);   // the tree is about 13 MiB
        var (sent, received) = await Loopback.TransferAsync(src, dst.Path);

        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Matches("^the destination is full: cannot write \"(shard\\d/sample\\d{3}|weights-[ab])\\.bin\": No space left on device$", received.Error);
        Assert.Equal($"the receiver reports: {received.Error}", sent.Error);
        long committed = AssertOnlyWholeFiles(src, dst.Path);
        Assert.True(committed < before.Count, "everything fit: the tmpfs was not small enough to test anything");
        Assert.Equal(before, Fingerprint(src));

        dst.Resize(64);
        var (again, receivedAgain) = await Loopback.TransferAsync(src, dst.Path);
        Assert.Equal(ExitCodes.Success, again.ExitCode);
        Assert.Equal(ExitCodes.Success, receivedAgain.ExitCode);
        Assert.Equal(committed, again.FilesSkipped);
        var result = TreeComparer.Compare(src, dst.Path);
        Assert.True(result.Identical, string.Join("\n", result.Differences));
        Assert.False(Directory.Exists(Path.Join(dst.Path, ".actorsync")), "work area left behind");
        Assert.Equal(before, Fingerprint(src));
    }

    [Fact]
    public async Task A_large_file_cut_off_by_a_full_disk_keeps_its_checkpoints_and_resumes_once_there_is_room()
    {
        using var scratch = new Scratch("diskfull-resume");
        string src = scratch.Sub("src");
        const int size = 24 << 20;
        WriteRandom(Path.Join(src, "model.safetensors"), size);
        var options = Loopback.Options(streams: 2) with { ResumeThreshold = 4 << 20, CheckpointEvery = 2 << 20 };

        using var dst = new TmpfsMount(scratch.Sub("dst"), sizeMiB: 12);
        var (sent, received) = await Loopback.TransferAsync(src, dst.Path, options);
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Equal("the destination is full: cannot write \"model.safetensors\": No space left on device", received.Error);
        Assert.False(File.Exists(Path.Join(dst.Path, "model.safetensors")), "a half file under its final name");

        dst.Resize(64);
        var (again, _) = await Loopback.TransferAsync(src, dst.Path, options);
        Assert.Equal(ExitCodes.Success, again.ExitCode);
        // About 10 MiB fitted and was checkpointed every 2 MiB: the re-run sends only the rest.
        Assert.InRange(again.BytesResumed, 4 << 20, 12 << 20);
        Assert.Equal(size - again.BytesResumed, again.PayloadBytesSent);
        var result = TreeComparer.Compare(src, dst.Path);
        Assert.True(result.Identical, string.Join("\n", result.Differences));
    }

    /// <summary>No room even for DEST/.actorsync: the transfer is refused with the reason before anything is
    /// written, and the sender is told, so it stops at once instead of spending its restart budget.</summary>
    [Fact]
    public async Task A_destination_without_room_for_its_work_area_refuses_the_transfer_with_the_reason()
    {
        using var scratch = new Scratch("diskfull-inodes");
        string src = scratch.Sub("src");
        for (int i = 0; i < 20; i++) WriteRandom(Path.Join(src, $"f{i}.bin"), 1000);
        using var dst = new TmpfsMount(scratch.Sub("dst"), sizeMiB: 8, inodes: 2);   // the root and one file
        await File.WriteAllTextAsync(Path.Join(dst.Path, "already-here"), "x");
        TcpRelay? relay = null;
        var (sent, received) = await Loopback.TransferAsync(src, dst.Path, routeThrough: port => (relay = new TcpRelay(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port))).Port);
        await using var _ = relay!;
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Equal($"cannot create {Path.Join(dst.Path, ".actorsync")}: No space left on device", received.Error);
        Assert.Equal($"the receiver reports: {received.Error}", sent.Error);
        Assert.True(relay!.Connections <= Loopback.Options().Streams, $"{relay.Connections} connections: the sender retried a refusal");
        Assert.Equal(["already-here"], Directory.EnumerateFileSystemEntries(dst.Path).Select(Path.GetFileName));
    }
}
