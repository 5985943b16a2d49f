using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Selection;

/// <summary>
/// --delete and --max-delete: DEST ends as rsync -a --delete leaves it (excluded names protected), deletions are named
/// and counted, nothing is deleted when any entry failed, and --max-delete stops at its count with exit status 25.
/// </summary>
public sealed class DeleteTests
{
    /// <summary>A DEST that has everything SRC has plus extraneous entries at every depth, some of them excluded.</summary>
    private static (string Src, string Dst, string Rsync) Prepare(Scratch scratch)
    {
        string src = scratch.Sub("src");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 60, LargeFileBytes = 0, Directories = 4, Oddities = false, Seed = 11 });
        foreach (string d in new[] { "dst", "rsync" })
        {
            string dst = scratch.Sub(d);
            TreeGenerator.Generate(dst, new TreeSpec { SmallFiles = 60, LargeFileBytes = 0, Directories = 4, Oddities = false, Seed = 11 });
            File.WriteAllText(Path.Join(dst, "old.txt"), "extraneous");
            File.WriteAllText(Path.Join(dst, "cache.tmp"), "protected by --exclude *.tmp");
            Directory.CreateDirectory(Path.Join(dst, "gone/deeper/deepest"));
            File.WriteAllText(Path.Join(dst, "gone/deeper/deepest/x"), "x");
            File.WriteAllText(Path.Join(dst, "gone/deeper/keep.tmp"), "protected, so gone/ and gone/deeper/ stay");
            Directory.CreateDirectory(Path.Join(dst, "empty-extra"));
            File.CreateSymbolicLink(Path.Join(dst, "dangling"), "/nonexistent");
            string sub = Directory.EnumerateDirectories(dst).First(p => !Path.GetFileName(p).StartsWith("gone", StringComparison.Ordinal) && !p.EndsWith("empty-extra", StringComparison.Ordinal));
            File.WriteAllText(Path.Join(sub, "stale.bin"), "stale");
        }
        return (src, scratch.Sub("dst"), scratch.Sub("rsync"));
    }

    [Fact]
    public async Task Dest_ends_as_rsync_delete_leaves_it_with_excluded_names_protected_and_every_deletion_named()
    {
        using var scratch = new Scratch("delete");
        var (src, dst, rsyncDst) = Prepare(scratch);
        int port = Cli.FreePort();
        var secret = new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "delete-secret-0123456789abcdef" };
        using var recv = Cli.Start(["recv", dst, "--listen", $"127.0.0.1:{port}"], secret);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", "--delete", "--exclude", "*.tmp", "--json"], secret, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);

        await FilterTests.RsyncAsync(["-a", "--delete", "--exclude=*.tmp", src + "/", rsyncDst + "/"]);
        Assert.Equal(FilterTests.Entries(rsyncDst), FilterTests.Entries(dst));
        Assert.True(File.Exists(Path.Join(dst, "cache.tmp")));
        Assert.True(File.Exists(Path.Join(dst, "gone/deeper/keep.tmp")));
        Assert.False(File.Exists(Path.Join(dst, "old.txt")));

        // One record per deletion, then the summary, which counts them.
        string[] lines = send.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var deleted = lines[..^1].Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(deleted, d => Assert.Equal("deleted", d.GetProperty("action").GetString()));
        string[] names = [.. deleted.Select(d => d.GetProperty("path").GetString()!).Order(StringComparer.Ordinal)];
        Assert.Contains("old.txt", names);
        Assert.Contains("gone/deeper/deepest", names);
        Assert.Contains("gone/deeper/deepest/x", names);
        Assert.Contains("dangling", names);
        Assert.DoesNotContain("gone", names);
        using var summary = JsonDocument.Parse(lines[^1]);
        Assert.Equal(names.Length, summary.RootElement.GetProperty("deleted").GetInt64());
        Assert.Equal(6, names.Length);

        // Everything else is the source's, metadata included, directories' mtimes too (deleting came first).
        File.Delete(Path.Join(dst, "cache.tmp"));
        Directory.Delete(Path.Join(dst, "gone"), recursive: true);
        var result = TreeComparer.Compare(src, dst);
        Assert.True(result.Identical, string.Join('\n', result.Differences));
    }

    [Fact]
    public async Task Max_delete_stops_at_its_count_with_exit_25_and_the_copy_itself_complete()
    {
        using var scratch = new Scratch("max-delete");
        var (src, dst, _) = Prepare(scratch);
        var options = Loopback.Options() with { Delete = true, MaxDelete = 2, Filter = new FilterRules().Add("*.tmp", include: false) };
        var (sent, received) = await Loopback.TransferAsync(src, dst, options);
        Assert.Equal(ExitCodes.MaxDeleteReached, sent.ExitCode);
        Assert.Equal(ExitCodes.MaxDeleteReached, received.ExitCode);
        Assert.Equal(2, sent.Deleted);
        // A directory whose contents were held back is not attempted itself (3 or 4 skipped, by listing order).
        Assert.True(sent.DeletionsSkipped >= 3, $"{sent.DeletionsSkipped} skipped");
        Assert.Contains("--max-delete 2 reached", sent.Error, StringComparison.Ordinal);
        // The re-run without the cap deletes the rest; then DEST is the source plus its protected names.
        var again = await Loopback.TransferAsync(src, dst, options with { MaxDelete = -1 });
        Assert.Equal(ExitCodes.Success, again.Sent.ExitCode);
        Assert.Equal(6, sent.Deleted + again.Sent.Deleted);
        File.Delete(Path.Join(dst, "cache.tmp"));
        Directory.Delete(Path.Join(dst, "gone"), recursive: true);
        var result = TreeComparer.Compare(src, dst);
        Assert.True(result.Identical, string.Join('\n', result.Differences));
    }

    [Fact]
    public async Task Nothing_is_deleted_when_a_source_entry_could_not_be_read()
    {
        using var scratch = new Scratch("delete-failed");
        var (src, dst, _) = Prepare(scratch);
        // An unreadable file, for a sender running as nobody (65534).
        File.WriteAllText(Path.Join(src, "secret.bin"), "nobody may read this");
        File.SetUnixFileMode(Path.Join(src, "secret.bin"), UnixFileMode.None);
        foreach (string d in Directory.EnumerateDirectories(src, "*", SearchOption.AllDirectories).Append(src).Append(scratch.Path))
            File.SetUnixFileMode(d, (UnixFileMode)0b111_101_101);
        int port = Cli.FreePort();
        var secret = new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "delete-secret-0123456789abcdef" };
        using var recv = Cli.Start(["recv", dst, "--listen", $"127.0.0.1:{port}"], secret);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", "--delete", "--json"],
            new Dictionary<string, string>(secret) { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" }, "65534", TimeSpan.FromMinutes(1));
        if (send.ExitCode != ExitCodes.TransferFailed) recv.Kill();
        Assert.True(send.ExitCode == ExitCodes.TransferFailed && send.Stdout.Contains("secret.bin", StringComparison.Ordinal), send.Stderr + send.Stdout);
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.TransferFailed, send.ExitCode);
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.True(File.Exists(Path.Join(dst, "old.txt")));
        Assert.True(File.Exists(Path.Join(dst, "gone/deeper/deepest/x")));
        using var summary = JsonDocument.Parse(send.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal(0, summary.RootElement.GetProperty("deleted").GetInt64());
        Assert.Contains(summary.RootElement.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("--delete: nothing deleted", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--max-delete", "3")]
    [InlineData("--delete", "--max-delete", "-1")]
    [InlineData("--delete", "--files-from", "/etc/hostname")]
    public async Task Inconsistent_delete_options_are_exit_2(params string[] args)
    {
        var r = await Cli.RunAsync(["send", "/tmp", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdef", .. args]);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
