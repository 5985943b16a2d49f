using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// Source files that vanish, grow or are rewritten between the walk and the read. The sender is frozen in
/// between by a relay that holds the receiver's answers to its offers (no file is read before its answer),
/// so each fault is certain, not a race the test may lose.
/// </summary>
public sealed class SourceFaultTests
{
    [Fact]
    public async Task Files_vanishing_growing_or_rewritten_after_the_walk_are_reported_by_name_not_copied_and_the_rest_is()
    {
        using var scratch = new Scratch("srcfault");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 1500, LargeFileBytes = 0, Oddities = false });
        RandomFile.Write(Path.Join(src, "vanish/gone.bin"), 10_000, 1);
        RandomFile.Write(Path.Join(src, "grow/train.log"), 5_000, 2);
        RandomFile.Write(Path.Join(src, "grow/shard.bin"), 3 << 20, 3);          // several ranges: the large-file path
        RandomFile.Write(Path.Join(src, "edit/labels.csv"), 20_000, 4);

        var engine = new ActorSyncEngine(Loopback.Options(), FileLoggerProvider.FromEnvironment());
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port))
        {
            // Past the four handshakes (127 client bytes each) and inside the first Offer (256 entries, ~15 kB): no
            // answer reaches the sender, so no file is read before the faults below. (At 32 KiB the first Offer's
            // answer could come back before the rest of the offers were out, and its files were read too early.)
            HoldRepliesAfterClientBytes = 4 << 10,
            Record = false,
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var receiving = engine.ReceiveAsync(dst, listener, Loopback.Secret, serve: false, Loopback.Options(), cancellationToken: cts.Token);
        var stats = new TransferStats();
        var sending = engine.SendAsync(src, "127.0.0.1", relay.Port, Loopback.Secret, Loopback.Options(), stats, cts.Token);

        // The walk is over (the sender says so); no answer has reached the sender, so nothing was read.
        while (!stats.WalkComplete) await Task.Delay(10, cts.Token);
        File.Delete(Path.Join(src, "vanish/gone.bin"));
        await File.AppendAllTextAsync(Path.Join(src, "grow/train.log"), "epoch 2 loss 0.31\n", cts.Token);
        await using (var shard = new FileStream(Path.Join(src, "grow/shard.bin"), FileMode.Append)) shard.Write(new byte[4096]);
        RandomFile.Write(Path.Join(src, "edit/labels.csv"), 20_000, 5);
        relay.ReleaseReplies();

        var sent = await sending;
        var received = (await receiving)!;
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Equal(4, sent.FilesFailed);
        const string changed = "changed while being read, not copied (a re-run copies it)";
        Assert.Equal(
            [
                "edit/labels.csv: " + changed + ": modified in place",
                "grow/shard.bin: " + changed + ": 3145728 -> 3149824 bytes",
                "grow/train.log: " + changed + ": 5000 -> 5018 bytes",
                "vanish/gone.bin: vanished since the directory walk",
            ],
            sent.Problems.Order(StringComparer.Ordinal));
        Assert.Equal("4 entries could not be sent (unreadable, vanished or changed while read)", sent.Error);
        Assert.Equal("the sender could not read 4 entries (see its output); they were not copied", received.Error);

        // None of the four is in DEST; everything else is, byte for byte.
        foreach (string rel in new[] { "vanish/gone.bin", "grow/train.log", "grow/shard.bin", "edit/labels.csv" })
            Assert.False(File.Exists(Path.Join(dst, rel)), $"{rel} was copied");
        Directory.Move(Path.Join(src, "grow"), scratch.Sub("grow-aside"));
        Directory.Move(Path.Join(src, "edit"), scratch.Sub("edit-aside"));
        Directory.Delete(Path.Join(src, "vanish"));
        Directory.Delete(Path.Join(dst, "vanish"));
        Directory.Delete(Path.Join(dst, "grow"));
        Directory.Delete(Path.Join(dst, "edit"));
        var partial = TreeComparer.Compare(src, dst);
        Assert.True(partial.Identical, string.Join("\n", partial.Differences));

        // The same command again copies what changed, and only that.
        Directory.Move(scratch.Sub("grow-aside"), Path.Join(src, "grow"));
        Directory.Move(scratch.Sub("edit-aside"), Path.Join(src, "edit"));
        var (again, receivedAgain) = await Loopback.TransferAsync(src, dst);
        Assert.Equal(ExitCodes.Success, again.ExitCode);
        Assert.Equal(ExitCodes.Success, receivedAgain.ExitCode);
        Assert.Equal(3, again.Files);
        var result = TreeComparer.Compare(src, dst);
        Assert.True(result.Identical, string.Join("\n", result.Differences));
    }

    /// <summary>
    /// A file whose read comes back short while its size and mtime stay the same (a filesystem that reports sizes
    /// it does not have, like sysfs; a file that shrank and grew back). Before, the rest of the reused pooled buffer
    /// was sent as the file's content: stale bytes, maybe another file's, under this name, exit 0.
    /// </summary>
    [Fact]
    public async Task A_short_read_with_an_unchanged_size_is_reported_not_padded_with_stale_bytes()
    {
        using var scratch = new Scratch("shortread");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 300, LargeFileBytes = 0, Oddities = false });
        const string Sysfs = "/sys/kernel/mm/transparent_hugepage/enabled";
        Assert.True(File.Exists(Sysfs), $"{Sysfs} is needed: a sysfs file that reports 4096 bytes and reads fewer");
        await File.WriteAllTextAsync(Path.Join(src, "sysfs-view"), "");
        (long, long) before;
        using (TmpfsMount.Bind(Sysfs, Path.Join(src, "sysfs-view")))
        {
            before = (new FileInfo(Path.Join(src, "sysfs-view")).Length, (await File.ReadAllTextAsync(Path.Join(src, "sysfs-view"))).Length);
            var (sent, received) = await Loopback.TransferAsync(src, dst);
            Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
            Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
            Assert.Equal($"sysfs-view: changed while being read, not copied (a re-run copies it): read {before.Item2} of the {before.Item1} bytes it had", Assert.Single(sent.Problems));
            Assert.False(File.Exists(Path.Join(dst, "sysfs-view")));
        }
        Assert.Equal(4096, before.Item1);
        Assert.True(before.Item2 < 4096);
    }
}
