using System.Diagnostics;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Selection;

/// <summary>
/// --exclude, --include, --files-from: what reaches DEST is what rsync -a with the same rules copies, checked against
/// the real rsync on the same tree (rsync is the reference the rules are written after).
/// </summary>
public sealed class FilterTests
{
    /// <summary>Names chosen for the rules below: the same name as file and directory, at the top and deeper, names
    /// with class characters, hidden files, a symlink, an empty directory.</summary>
    private static readonly string[] TreeFiles =
    [
        "a.txt", "b.log", "keep.log", ".hidden", "[x].txt", "cache",
        "dir1/x.txt", "dir1/y.tmp", "dir1/sub/z.txt", "dir1/sub/deep/w.log", "dir1/sub/cache/c.bin",
        "logs/2024/app.log", "logs/readme", "build/out.o", "src/build/inner.o", "src/main.c",
        "foo/bar", "x/foo/bar", "x/foo/baz", "data/train/0001.npy", "data/train/.cache/k", "data/val/0001.npy",
    ];

    private static string BuildTree(Scratch scratch)
    {
        string src = scratch.Sub("src");
        int seed = 1;
        foreach (string f in TreeFiles) RandomFile.Write(Path.Join(src, f), 100 + seed * 7, seed++);
        Directory.CreateDirectory(Path.Join(src, "empty"));
        File.CreateSymbolicLink(Path.Join(src, "link.txt"), "a.txt");
        // Times in the past: rsync leaves a directory's mtime alone when it is in the same second as the source's.
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (string entry in Directory.EnumerateFileSystemEntries(src, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .Where(e => e != Path.Join(src, "link.txt")).OrderByDescending(e => e.Length))
            File.SetLastWriteTimeUtc(entry, past);
        using (var touch = Process.Start("touch", ["-h", "-d", "2020-01-01", Path.Join(src, "link.txt")])) touch.WaitForExit();
        return src;
    }

    public static TheoryData<string[]> RuleSets => new()
    {
        new[] { "--exclude=*.log" },
        new[] { "--exclude=/a.txt" },
        new[] { "--exclude=build/" },
        new[] { "--exclude=/build/" },
        new[] { "--exclude=cache" },
        new[] { "--exclude=cache/" },
        new[] { "--exclude=foo/bar" },
        new[] { "--exclude=/foo/bar" },
        new[] { "--include=*/", "--include=*.txt", "--exclude=*" },
        new[] { "--include=/data/", "--include=/data/train/***", "--exclude=*" },
        new[] { "--exclude=dir1/***" },
        new[] { "--exclude=**/deep" },
        new[] { "--exclude=d*1/s?b/" },
        new[] { "--exclude=[ab].*" },
        new[] { "--exclude=[!a]*.txt" },
        new[] { "--exclude=\\[x\\].txt" },
        new[] { "--exclude=**.npy" },
        new[] { "--exclude=.*" },
        new[] { "--exclude=logs/**" },
        new[] { "--include=- *.log" },
        new[] { "--exclude=+ *.log", "--exclude=*" },
        new[] { "--exclude=*.log", "--exclude=!", "--exclude=*.txt" },
        new[] { "--exclude=link.txt", "--exclude=empty" },
    };

    [Theory]
    [MemberData(nameof(RuleSets))]
    public async Task The_same_entries_arrive_as_with_rsync(string[] rules)
    {
        using var scratch = new Scratch("filter");
        string src = BuildTree(scratch);
        var filter = new FilterRules();
        foreach (string rule in rules)
        {
            int eq = rule.IndexOf('=');
            filter.Add(rule[(eq + 1)..], rule.StartsWith("--include", StringComparison.Ordinal));
        }
        var (sent, received) = await Loopback.TransferAsync(src, scratch.Sub("ours"), Loopback.Options() with { Filter = filter });
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        await RsyncAsync([.. rules, "-a", src + "/", scratch.Sub("rsync") + "/"]);
        Assert.Equal(Entries(scratch.Sub("rsync")), Entries(scratch.Sub("ours")));
        var check = await TreeCheck.RunAsync(scratch.Sub("rsync"), scratch.Sub("ours"), owners: false, attributes: false);
        Assert.True(check.Identical, check.Differences);
    }

    [Fact]
    public async Task Files_from_sends_the_listed_paths_and_their_parents_as_rsync_does_and_reports_the_bad_lines()
    {
        using var scratch = new Scratch("files-from");
        string src = BuildTree(scratch);
        string[] good = ["dir1/sub/z.txt", "# a comment, as rsync skips it", "./a.txt", "/b.log", "dir1/sub/z.txt", "logs", "", "; another", "x/foo//baz", "link.txt", "data/train/.cache/k"];
        File.WriteAllLines(scratch.Sub("good.list"), good);
        var (sent, received) = await Loopback.TransferAsync(src, scratch.Sub("ours"), Loopback.Options() with { FilesFrom = scratch.Sub("good.list") });
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        await RsyncAsync(["-a", "--files-from=" + scratch.Sub("good.list"), src + "/", scratch.Sub("rsync") + "/"]);
        Assert.Equal(Entries(scratch.Sub("rsync")), Entries(scratch.Sub("ours")));
        var check = await TreeCheck.RunAsync(scratch.Sub("rsync"), scratch.Sub("ours"), owners: false, attributes: false);
        Assert.True(check.Identical, check.Differences);

        // A missing path and one that climbs out are reported by name; the rest still arrives; the run is not a success.
        File.WriteAllLines(scratch.Sub("bad.list"), ["missing.txt", "../src/a.txt", "dir1/x.txt", "nodir/file"]);
        (sent, received) = await Loopback.TransferAsync(src, scratch.Sub("bad"), Loopback.Options() with { FilesFrom = scratch.Sub("bad.list") });
        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Equal(3, sent.Problems.Count);
        Assert.Contains(sent.Problems, p => p.StartsWith("missing.txt: no such file", StringComparison.Ordinal));
        Assert.Contains(sent.Problems, p => p.StartsWith("../src/a.txt: ", StringComparison.Ordinal) && p.Contains("inside the source", StringComparison.Ordinal));
        Assert.Contains(sent.Problems, p => p.StartsWith("nodir/file: cannot open its directory nodir", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(Path.Join(src, "dir1/x.txt")), File.ReadAllBytes(scratch.Sub("bad/dir1/x.txt")));
        Assert.Equal(["dir1", "dir1/x.txt"], Entries(scratch.Sub("bad")));
    }

    [Fact]
    public async Task Excludes_combine_with_files_from()
    {
        using var scratch = new Scratch("files-from-filter");
        string src = BuildTree(scratch);
        File.WriteAllLines(scratch.Sub("list"), ["dir1/x.txt", "dir1/y.tmp", "dir1/sub/z.txt"]);
        var filter = new FilterRules().Add("*.tmp", include: false).Add("sub/", include: false);
        var (sent, _) = await Loopback.TransferAsync(src, scratch.Sub("ours"), Loopback.Options() with { FilesFrom = scratch.Sub("list"), Filter = filter });
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        await RsyncAsync(["-a", "--exclude=*.tmp", "--exclude=sub/", "--files-from=" + scratch.Sub("list"), src + "/", scratch.Sub("rsync") + "/"]);
        Assert.Equal(Entries(scratch.Sub("rsync")), Entries(scratch.Sub("ours")));
    }

    [Fact]
    public async Task The_command_line_keeps_includes_and_excludes_in_their_order_and_reads_rule_files()
    {
        using var scratch = new Scratch("filter-cli");
        string src = BuildTree(scratch);
        File.WriteAllLines(scratch.Sub("rules"), ["# comment", "", "; another", "*.npy", "+ keep.log"]);
        string[] rules = ["--include=*/", "--exclude-from=" + scratch.Sub("rules"), "--include", "*.log", "--exclude=*"];
        int port = Cli.FreePort();
        var secret = new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "filter-secret-0123456789abcdef" };
        using var recv = Cli.Start(["recv", scratch.Sub("ours"), "--listen", $"127.0.0.1:{port}"], secret);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", .. rules], secret, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);
        await RsyncAsync([.. rules, "-a", src + "/", scratch.Sub("rsync") + "/"]);
        string[] ours = Entries(scratch.Sub("ours"));
        Assert.Equal(Entries(scratch.Sub("rsync")), ours);
        Assert.Contains("dir1/sub/deep/w.log", ours);
        Assert.DoesNotContain("a.txt", ours);
    }

    [Theory]
    [InlineData("[abc", "without its \"]\"")]
    [InlineData("/", "names no path")]
    [InlineData("", "an empty pattern")]
    [InlineData("[z-a]", "is not a pattern")]
    public void A_pattern_that_cannot_be_read_is_refused_with_the_reason(string pattern, string reason)
    {
        var e = Assert.Throws<FormatException>(() => new FilterRules().Add(pattern, include: false));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Relative paths of every entry under <paramref name="root"/> (not following symlinks), sorted; the
    /// receiver's work area is not part of the copy.</summary>
    internal static string[] Entries(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => p != ".actorsync" && !p.StartsWith(".actorsync/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    internal static async Task RsyncAsync(string[] args)
    {
        var psi = new ProcessStartInfo("rsync") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"rsync {string.Join(' ', args)}: exit {p.ExitCode}: {err}");
    }
}
