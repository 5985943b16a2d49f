using System.Diagnostics;
using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Selection;

/// <summary>-n/--dry-run: DEST is left exactly as it was (bytes, modes, mtimes, no work area), and what would be sent, what
/// is up to date and what --delete would remove are listed by name, as JSON records with --json.</summary>
public sealed class DryRunTests
{
    [Fact]
    public async Task A_dry_run_lists_the_plan_and_leaves_dest_untouched_byte_for_byte()
    {
        using var scratch = new Scratch("dry-run");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 40, LargeFileBytes = 2 << 20, Directories = 3, Seed = 21 });
        var (first, _) = await Loopback.TransferAsync(src, dst);
        Assert.Equal(ExitCodes.Success, first.ExitCode);
        // The plan: one file changed, one new, one extraneous in DEST, one whose mode alone differs (bytes there).
        string changed = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).First(f => new FileInfo(f).Length > 0 && !f.Contains("link", StringComparison.Ordinal));
        File.AppendAllText(changed, "more");
        File.WriteAllText(Path.Join(src, "new.txt"), "new");
        File.WriteAllText(Path.Join(dst, "extra.txt"), "extra");
        using (var copy = Process.Start("cp", ["-a", dst, scratch.Sub("before")])) copy.WaitForExit();

        int port = Cli.FreePort();
        var secret = new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "dry-run-secret-0123456789abcdef" };
        using var recv = Cli.Start(["recv", dst, "--listen", $"127.0.0.1:{port}"], secret);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", "-n", "--delete", "--json"], secret, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);

        // Untouched: the same entries, bytes, modes and mtimes (of the directories too), and no .actorsync left behind.
        var check = await TreeCheck.RunAsync(scratch.Sub("before"), dst, owners: true, attributes: false);
        Assert.True(check.Identical, check.Differences);
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync")));

        string[] lines = send.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var items = lines[..^1].Select(l => JsonDocument.Parse(l).RootElement).Select(e => (Action: e.GetProperty("action").GetString()!, Path: e.GetProperty("path").GetString()!)).ToList();
        string rel = Path.GetRelativePath(src, changed);
        Assert.Equal([rel, "new.txt"], items.Where(i => i.Action == "would_send").Select(i => i.Path).Order(StringComparer.Ordinal));
        Assert.Equal(["extra.txt"], items.Where(i => i.Action == "would_delete").Select(i => i.Path));
        // Every file the first run sent is up to date but the one changed since.
        Assert.Equal(first.Files - 1, items.Count(i => i.Action == "up_to_date"));
        using var summary = JsonDocument.Parse(lines[^1]);
        Assert.True(summary.RootElement.GetProperty("dry_run").GetBoolean());
        Assert.Equal(2, summary.RootElement.GetProperty("files").GetInt64());
        Assert.Equal(1, summary.RootElement.GetProperty("deleted").GetInt64());
        Assert.Equal(0, summary.RootElement.GetProperty("payload_bytes_sent").GetInt64());

        // The plan is what a real run then does.
        var (real, _) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { Delete = true });
        Assert.Equal(ExitCodes.Success, real.ExitCode);
        Assert.Equal(2, real.Files);
        Assert.Equal(1, real.Deleted);
    }

    [Fact]
    public async Task A_dry_run_into_a_dest_that_does_not_exist_creates_nothing_and_would_send_everything()
    {
        using var scratch = new Scratch("dry-run-new");
        string src = scratch.Sub("src"), dst = scratch.Sub("not/yet/there");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false, Seed = 22 });
        var (sent, received) = await Loopback.TransferAsync(src, dst, Loopback.Options() with { DryRun = true, Delete = true });
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        Assert.Equal(Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).Count(), sent.Files);
        Assert.Equal(0, sent.PayloadBytesSent);
        Assert.False(Directory.Exists(scratch.Sub("not")));
    }
}
