using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.Selection;

/// <summary>
/// In a pull the sender is the other machine's: the local receiver holds it to what this side asked for. A sender
/// that asks to delete without --delete, writes in a dry run, or deletes past --max-delete is refused or capped;
/// and a dry run that meets directories with extended attributes (-X) still writes nothing.
/// </summary>
public sealed class PullIntentTests
{
    private static async Task<(TransferSummary Sent, TransferSummary Received)> PullAsync(string src, string dst, TransferOptions remote, TransferOptions local)
    {
        var engine = new ActorSyncEngine(local, FileLoggerProvider.FromEnvironment());
        var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var sending = engine.SendAsync(src, listener, Loopback.Secret, remote, cancellationToken: cts.Token);
        var received = await engine.ReceiveFromAsync(dst, endpoint, remote.Streams, Loopback.Secret, local, cancellationToken: cts.Token);
        var sent = await sending.WaitAsync(TimeSpan.FromMinutes(2));
        return (sent, received);
    }

    private static (string Src, string Dst) Prepare(Scratch scratch)
    {
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 30, LargeFileBytes = 0, Oddities = false, Seed = 41 });
        TreeGenerator.Generate(scratch.Sub("dst"), new TreeSpec { SmallFiles = 30, LargeFileBytes = 0, Oddities = false, Seed = 41 });
        foreach (string extra in new[] { "x1", "x2", "x3" }) File.WriteAllText(scratch.Sub($"dst/{extra}"), extra);
        return (scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task A_sender_asking_to_delete_when_the_pull_did_not_is_refused_and_nothing_is_deleted()
    {
        using var scratch = new Scratch("pull-no-delete");
        var (src, dst) = Prepare(scratch);
        var (_, received) = await PullAsync(src, dst, Loopback.Options() with { Delete = true }, Loopback.Options());
        Assert.Equal(ExitCodes.ProtocolViolation, received.ExitCode);
        Assert.Contains("not given --delete", received.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Join(dst, "x1")));
    }

    [Fact]
    public async Task A_sender_that_does_not_keep_to_the_dry_run_is_refused_before_anything_is_written()
    {
        using var scratch = new Scratch("pull-dry");
        var (src, _) = Prepare(scratch);
        string dst = scratch.Sub("fresh");
        var (_, received) = await PullAsync(src, dst, Loopback.Options(), Loopback.Options() with { DryRun = true });
        Assert.Equal(ExitCodes.ProtocolViolation, received.ExitCode);
        Assert.False(Directory.Exists(dst));
    }

    [Fact]
    public async Task The_pull_s_max_delete_caps_the_sender_s()
    {
        using var scratch = new Scratch("pull-max");
        var (src, dst) = Prepare(scratch);
        var (_, received) = await PullAsync(src, dst, Loopback.Options() with { Delete = true }, Loopback.Options() with { Delete = true, MaxDelete = 1 });
        Assert.Equal(ExitCodes.MaxDeleteReached, received.ExitCode);
        Assert.Equal(1, received.Deleted);
        Assert.Equal(2, received.DeletionsSkipped);
    }

    [Fact]
    public async Task A_dry_run_with_xattrs_on_directories_succeeds_and_writes_nothing()
    {
        using var scratch = new Scratch("dry-xattr");
        var (src, dst) = Prepare(scratch);
        foreach (string dir in Directory.EnumerateDirectories(src, "*", SearchOption.AllDirectories).Append(src))
        {
            int fd = Libc.OpenDirectoryFollowing(dir);
            Assert.True(fd >= 0);
            Assert.Equal(0, Libc.WriteAttribute(fd, "user.tag", "dir"u8));
            Libc.Close(fd);
        }
        using (var copy = System.Diagnostics.Process.Start("cp", ["-a", dst, scratch.Sub("before")])) copy.WaitForExit();
        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { DryRun = true, PreserveAttributes = true, Delete = true });
        Assert.True(sent.ExitCode == ExitCodes.Success, sent.Error);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        Assert.Equal(3, sent.Deleted);
        var check = await TreeCheck.RunAsync(scratch.Sub("before"), dst, owners: true, attributes: true);
        Assert.True(check.Identical, check.Differences);
    }
}
