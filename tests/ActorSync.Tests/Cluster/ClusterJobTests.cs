using System.Text.Json;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Cluster;

/// <summary>
/// `actorsync job` over `actorsync node` processes on 127.0.0.1: a mixed tree copied byte-exact by several sender and
/// receiver nodes, a re-run that sends nothing, and a kill -9 of a sender node, of a receiver node and of the node
/// running the job's coordinator, each mid-job (at a line the victim logs when it is at work), after which the job
/// still completes byte-exact. Ranges are small here (8 MiB) so that the large files of these trees go in ranges,
/// through every failover; a GiB file goes in ranges of the default size.
/// </summary>
[Collection("cluster")]
public sealed class ClusterJobTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    /// <summary>From the kill to the job's end: the failure detector and the resolver (~8 s), a singleton's hand-over
    /// and the rest of the job at a capped rate, with a margin for a loaded 2-core machine.</summary>
    private static readonly TimeSpan AfterKill = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(60);
    /// <summary>A whole job here takes seconds; a failover adds the failure detector's and the split-brain resolver's
    /// ~8 s (and a singleton's hand-over ~3 s more). This bound only catches a job that hangs.</summary>
    private static readonly TimeSpan JobLimit = TimeSpan.FromMinutes(3);

    private readonly Scratch _scratch = new("cluster-job");
    private readonly List<NodeProcess> _nodes = [];

    public void Dispose()
    {
        foreach (var n in _nodes) n.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task A_job_over_three_nodes_copies_a_mixed_tree_byte_exact_and_a_rerun_sends_nothing()
    {
        string key = Key();
        var (files, bytes) = MixedTree(_scratch.Sub("src"), bigFiles: 2);
        (files, bytes) = (files + FlatFiles, bytes + FlatDirectory(_scratch.Sub("src")));
        // Units of 300 entries: the flat directory goes in slices, shared by both sender nodes.
        string config = _scratch.Sub("split.conf");
        File.WriteAllText(config, "actorsync.cluster.unit-entries = 300\nactorsync.cluster.range-size = 8MiB\n");
        // A large file in a read-only directory with an old mtime: its finishing unit renames it in, and the directory's
        // own unit, after that, gives it its mode and mtime back.
        // A sparse file whose ranges end and start in holes: no range's hole may cut what another range wrote.
        using (var sparse = new FileStream(Path.Join(_scratch.Sub("src"), "big", "sparse.img"), FileMode.CreateNew))
        {
            sparse.SetLength(40L << 20);
            foreach (long at in new[] { 3L << 20, 20L << 20, (39L << 20) + 12345 })
            {
                sparse.Position = at;
                sparse.Write(System.Text.Encoding.ASCII.GetBytes($"data at {at}"));
            }
            files++;
            bytes += 40L << 20;
        }
        string readOnly = Path.Join(_scratch.Sub("src"), "big", "part0", "deeper");
        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        Directory.SetLastWriteTimeUtc(readOnly, new DateTime(2019, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        var n1 = Node("n1", ports[0], "sender", key, seeds, "--config", config);
        Node("n2", ports[1], "receiver", key, seeds, "--config", config);
        var n3 = Node("n3", ports[2], "both", key, seeds, "--config", config);
        await FormedAsync(ports);

        var job = await JobAsync(key, ports[0]);
        Assert.True(job.ExitCode == 0, job.Stderr);
        var status = JsonDocument.Parse(job.Stdout).RootElement;
        Assert.Equal("done", status.GetProperty("state").GetString());
        var summary = status.GetProperty("summary");
        Assert.Equal(files, summary.GetProperty("files").GetInt64());
        Assert.Equal(bytes, summary.GetProperty("bytes").GetInt64());
        // Both sender nodes took part, and what crossed is the dataset plus framing, not more.
        var nodes = status.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal(2, nodes.Length);
        Assert.All(nodes, n => Assert.True(n.GetProperty("units").GetInt64() > 0, job.Stdout));
        Assert.True(summary.GetProperty("wire_bytes").GetInt64() <= bytes * 1.2, job.Stdout);
        Assert.Contains("(slice 1 of ", n1.Log + n3.Log);
        Assert.Contains("flat (its metadata, after its slices and large files)", n1.Log + n3.Log);
        // The 24 MiB files went in three ranges each, then a unit finished each; the 16 MiB one in two.
        Assert.Contains("big/part0/deeper/shard.bin (range 3 of 3)", n1.Log + n3.Log);
        Assert.Contains("big/part1/deeper/shard.bin (finishing it", n1.Log + n3.Log);
        Assert.Contains("big/part0/deeper (its metadata, after its slices and large files)", n1.Log + n3.Log);
        await AssertSameAsync();

        var again = await JobAsync(key, ports[1]);
        Assert.True(again.ExitCode == 0, again.Stderr);
        var rerun = JsonDocument.Parse(again.Stdout).RootElement.GetProperty("summary");
        Assert.Equal(0, rerun.GetProperty("files").GetInt64());
        Assert.Equal(files, rerun.GetProperty("files_skipped").GetInt64());
        Assert.Equal(0, rerun.GetProperty("payload_bytes_sent").GetInt64());
        await AssertSameAsync();
    }

    [Fact]
    public async Task A_job_completes_byte_exact_when_a_sender_node_is_killed_mid_job()
    {
        string key = Key();
        long bytes = ShardTree(_scratch.Sub("src"));
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        var coordinator = Node("n1", ports[0], "both", key, seeds, "--bwlimit", "24M");
        // The victim at 1 MiB/s: a unit of a directory with files in it is still under way when it is killed.
        var victim = Node("n2", ports[1], "sender", key, seeds, "--bwlimit", "1M");
        var receiver = Node("n3", ports[2], "receiver", key, seeds);
        await FormedAsync(ports);

        var job = JobAsync(key, ports[0]);
        // Killed while the receiver holds the streams of one of its units (of a directory with at least 256 KiB of
        // files): that unit is sent again as soon as the receiver sees them break, before the cluster downs the node.
        string unit = await victim.WaitForLineAsync(JobLimit, line => UnitDirectory(line) is { } dir && DirectBytes(Path.Join(_scratch.Sub("src"), dir)) >= 256 << 10,
            "a unit of a directory with 256 KiB of files");
        string transfer = unit[(unit.LastIndexOf("as transfer ", StringComparison.Ordinal) + "as transfer ".Length)..].Trim();
        var units = new[] { coordinator, receiver }.Select(n => n.WaitForLineAsync(JobLimit, $"transfer {transfer}:", "streams into")).ToArray();
        await Task.WhenAny(units);
        var killed = System.Diagnostics.Stopwatch.StartNew();
        victim.Kill();
        var result = await job;
        output.WriteLine($"kill -9 of {victim.Name} -> job done: {killed.Elapsed.TotalSeconds:F1} s");
        Assert.True(killed.Elapsed < AfterKill, $"the job took {killed.Elapsed} after the kill");
        Assert.True(result.ExitCode == 0, result.Stderr + coordinator.Log);
        await coordinator.WaitForLineAsync(Formation, "sender", "is gone");
        var log = coordinator.Log;
        foreach (var line in log.Split('\n').Where(l => l.Contains("again", StringComparison.Ordinal) || l.Contains("is gone", StringComparison.Ordinal)))
            output.WriteLine(line);
        int resent = log.IndexOf("lost a stream at its receiver; sending it again", StringComparison.Ordinal);
        Assert.True(resent >= 0 && resent < log.IndexOf("is gone", StringComparison.Ordinal), log + "\n--- receiver n3:\n" + receiver.Log);
        var summary = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("summary");
        Assert.True(summary.GetProperty("wire_bytes").GetInt64() <= bytes * 1.2, result.Stdout);
        await AssertSameAsync();
    }

    [Fact]
    public async Task A_job_completes_byte_exact_when_a_receiver_node_is_killed_mid_job()
    {
        string key = Key();
        var (_, bytes) = MixedTree(_scratch.Sub("src"), bigFiles: 4);
        string ranges = SmallRanges();
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        var coordinator = Node("n1", ports[0], "sender", key, seeds, "--bwlimit", "24M", "--config", ranges);
        Node("n2", ports[1], "receiver", key, seeds, "--config", ranges);
        var victim = Node("n3", ports[2], "receiver", key, seeds, "--config", ranges);
        Node("n4", ports[3], "sender", key, seeds, "--bwlimit", "24M", "--config", ranges);
        await FormedAsync(ports);

        var job = JobAsync(key, ports[0]);
        await victim.WaitForLineAsync(JobLimit, "streams into");
        var killed = System.Diagnostics.Stopwatch.StartNew();
        victim.Kill();
        var result = await job;
        output.WriteLine($"kill -9 of {victim.Name} -> job done: {killed.Elapsed.TotalSeconds:F1} s");
        Assert.True(killed.Elapsed < AfterKill, $"the job took {killed.Elapsed} after the kill");
        Assert.True(result.ExitCode == 0, result.Stderr + coordinator.Log);
        var summary = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.True(summary.GetProperty("units_retried").GetInt64() > 0, result.Stdout);
        Assert.True(summary.GetProperty("summary").GetProperty("wire_bytes").GetInt64() <= bytes * 1.2, result.Stdout);
        await AssertSameAsync();
    }

    [Fact]
    public async Task A_job_completes_byte_exact_when_the_node_running_its_coordinator_is_killed_mid_job()
    {
        string key = Key();
        MixedTree(_scratch.Sub("src"), bigFiles: 4);
        string ranges = SmallRanges();
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        // The singleton runs on the oldest node: the first seed, up first.
        var victim = Node("n1", ports[0], "sender", key, seeds, "--bwlimit", "24M", "--config", ranges);
        await victim.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{ports[0]}");
        var heir = Node("n2", ports[1], "both", key, seeds, "--bwlimit", "24M", "--config", ranges);
        await heir.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{ports[1]}");
        Node("n3", ports[2], "receiver", key, seeds, "--config", ranges);
        await FormedAsync(ports);

        var job = JobAsync(key, ports[1], ports[2]);
        await victim.WaitForLineAsync(JobLimit, "unit", "sending");
        Assert.Contains("job coordinator running on this node", victim.Log);
        var killed = System.Diagnostics.Stopwatch.StartNew();
        victim.Kill();
        var result = await job;
        output.WriteLine($"kill -9 of {victim.Name} -> job done: {killed.Elapsed.TotalSeconds:F1} s");
        Assert.True(killed.Elapsed < AfterKill, $"the job took {killed.Elapsed} after the kill");
        Assert.True(result.ExitCode == 0, result.Stderr + heir.Log);
        await heir.WaitForLineAsync(Formation, "taking it over");
        await AssertSameAsync();
    }

    [Fact]
    public async Task A_job_submitted_while_no_receiver_node_is_up_says_what_it_waits_for_and_runs_when_one_joins()
    {
        string key = Key();
        TreeGenerator.Generate(_scratch.Sub("src"), new TreeSpec { SmallFiles = 300, LargeFileBytes = 1 << 20, Seed = 3 });
        int[] ports = [Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0]);
        Node("n1", ports[0], "sender", key, seeds);
        await FormedAsync([ports[0]]);

        var job = new NodeProcess("job", ["job", _scratch.Sub("src"), _scratch.Sub("dst"), "--secret-file", key, "--cluster", $"127.0.0.1:{ports[0]}"]);
        _nodes.Add(job);
        await job.WaitForLineAsync(Formation, "actorsync job: waiting: no receiver node is up");
        Node("n2", ports[1], "receiver", key, seeds);
        Assert.True(await job.WaitForExitAsync(JobLimit) == 0, job.Log);
        Assert.Single(job.Log.Split('\n'), l => l.Contains("waiting:", StringComparison.Ordinal));   // said once, not every second
        await AssertSameAsync();
    }

    [Fact]
    public async Task A_GiB_file_goes_in_ranges_shared_by_the_sender_nodes_and_completes_byte_exact_when_one_is_killed_mid_range()
    {
        string key = Key();
        string src = _scratch.Sub("src");
        var (_, bytes) = TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 200, LargeFileBytes = 1L << 30, Seed = 13 });
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        // Default range size (256 MiB): the GiB file is four units. The victim sends at 16 MiB/s, so a range it takes is
        // still under way when it is killed; the other sender is uncapped and takes whatever the victim does not.
        // A receiver is up first, so the coordinator (a singleton on the oldest node) is not on the victim.
        var r1 = Node("n1", ports[0], "receiver", key, seeds);
        await r1.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{ports[0]}");
        var r2 = Node("n2", ports[1], "receiver", key, seeds);
        var victim = Node("n3", ports[2], "sender", key, seeds, "--bwlimit", "16M");
        var other = Node("n4", ports[3], "sender", key, seeds);
        await FormedAsync(ports);

        var job = JobAsync(key, ports[0]);
        string unit = await victim.WaitForLineAsync(JobLimit, "(range ", "of 4)");
        string transfer = unit[(unit.LastIndexOf("as transfer ", StringComparison.Ordinal) + "as transfer ".Length)..].Trim();
        await Task.WhenAny(new[] { r1, r2 }.Select(n => n.WaitForLineAsync(JobLimit, $"transfer {transfer}:", "streams into")));
        var killed = System.Diagnostics.Stopwatch.StartNew();
        victim.Kill();
        var result = await job;
        output.WriteLine($"kill -9 of {victim.Name} mid-range -> job done: {killed.Elapsed.TotalSeconds:F1} s");
        Assert.True(result.ExitCode == 0, result.Stderr + other.Log);
        var status = JsonDocument.Parse(result.Stdout).RootElement;
        var summary = status.GetProperty("summary");
        Assert.Equal(bytes, summary.GetProperty("bytes").GetInt64());
        Assert.True(status.GetProperty("units_retried").GetInt64() > 0, result.Stdout);
        // The killed range was sent again, whole at worst: what crossed stays within the bound.
        Assert.True(summary.GetProperty("wire_bytes").GetInt64() <= bytes * 1.2, result.Stdout);
        Assert.Contains("(finishing it", other.Log);
        Assert.Contains("job coordinator running on this node", r1.Log);
        await AssertSameAsync();
    }

    [Fact]
    public async Task Many_small_directories_go_several_to_a_unit_and_a_unit_whose_files_reach_the_byte_budget_leaves_the_rest_to_others()
    {
        string key = Key();
        string src = _scratch.Sub("src");
        var rng = new Random(17);
        const int Directories = 400;
        for (int d = 0; d < Directories; d++)
        {
            string dir = Path.Join(src, $"g{d % 8}", $"tiny{d:D3}");
            Directory.CreateDirectory(dir);
            if (d % 50 == 7) continue;   // some empty
            byte[] data = new byte[d % 3 == 0 ? 200_000 : 900];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Join(dir, "a.bin"), data);
            File.WriteAllText(Path.Join(dir, "b.txt"), $"{d}");
            if (d % 40 == 3)
            {
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
                Directory.SetLastWriteTimeUtc(dir, new DateTime(2018, 1, 1, 0, 0, 0, DateTimeKind.Utc));
            }
        }
        // A budget of 1 MiB: a unit takes small directories until ~5 of the 200 KB files are in, then leaves the rest.
        string config = _scratch.Sub("batch.conf");
        File.WriteAllText(config, "actorsync.cluster.batch-bytes = 1MiB\n");
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        Node("n1", ports[0], "receiver", key, seeds, "--config", config);
        var s1 = Node("n2", ports[1], "sender", key, seeds, "--config", config);
        var s2 = Node("n3", ports[2], "sender", key, seeds, "--config", config);
        await FormedAsync(ports);

        var result = await JobAsync(key, ports[0]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var status = JsonDocument.Parse(result.Stdout).RootElement;
        long units = status.GetProperty("units_done").GetInt64();
        output.WriteLine($"{Directories + 9} directories in {units} units");
        Assert.True(units < Directories / 3, result.Stdout);
        Assert.Contains("more small directories", s1.Log + s2.Log);
        Assert.Contains("left to other units", s1.Log + s2.Log);
        Assert.Equal(Directories + 8, status.GetProperty("summary").GetProperty("dirs").GetInt64());
        await AssertSameAsync();
    }

    /// <summary>Nodes' configuration for ranges of 8 MiB: the 16-24 MiB files of the trees here go in ranges.</summary>
    private string SmallRanges()
    {
        string config = _scratch.Sub("ranges.conf");
        File.WriteAllText(config, "actorsync.cluster.range-size = 8MiB\n");
        return config;
    }

    private Task<Cli.Result> JobAsync(string key, params int[] contacts) => Cli.RunAsync(
        ["job", _scratch.Sub("src"), _scratch.Sub("dst"), "--secret-file", key, "--json", .. contacts.SelectMany(p => new[] { "--cluster", $"127.0.0.1:{p}" })],
        null, null, JobLimit);

    private async Task AssertSameAsync()
    {
        var check = await TreeCheck.RunAsync(_scratch.Sub("src"), _scratch.Sub("dst"), owners: false, attributes: false);
        Assert.True(check.Identical, check.Differences);
        // The last unit out removes DEST's work area as its receiver lets go of DEST, just after it confirmed the unit.
        string work = Path.Join(_scratch.Sub("dst"), ".actorsync");
        for (int i = 0; i < 100 && Directory.Exists(work); i++) await Task.Delay(100);
        Assert.False(Directory.Exists(work), "the work area is left behind");
    }

    /// <summary>Many small files in nested directories, empty ones, symlinks, and a few large files of their own
    /// directories (what a killed node is likely to be in the middle of).</summary>
    private static (long Files, long Bytes) MixedTree(string root, int bigFiles)
    {
        var (files, bytes) = TreeGenerator.Generate(root, new TreeSpec { SmallFiles = 3000, Directories = 30, LargeFileBytes = 16L << 20, Seed = 7 });
        var rng = new Random(11);
        for (int i = 0; i < bigFiles; i++)
        {
            string dir = Path.Join(root, "big", $"part{i}", "deeper");
            Directory.CreateDirectory(dir);
            byte[] data = new byte[24 << 20];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Join(dir, "shard.bin"), data);
            files++;
            bytes += data.Length;
        }
        return (files, bytes);
    }

    /// <summary>Directories that each take a unit seconds at 1 MiB/s (2 MiB of files, small ones, a symlink and a
    /// subdirectory each), so whichever units a slow node is given are still under way when it is killed.</summary>
    private static long ShardTree(string root)
    {
        var rng = new Random(5);
        long bytes = 0;
        for (int d = 0; d < 12; d++)
        {
            string dir = Path.Join(root, $"shard{d:D2}");
            Directory.CreateDirectory(Path.Join(dir, "meta"));
            for (int f = 0; f < 4; f++)
            {
                byte[] data = new byte[512 << 10];
                rng.NextBytes(data);
                File.WriteAllBytes(Path.Join(dir, $"part{f}.bin"), data);
                bytes += data.Length;
            }
            for (int f = 0; f < 20; f++)
            {
                File.WriteAllText(Path.Join(dir, "meta", $"m{f}.json"), new string('m', 100 + f));
                bytes += 100 + f;
            }
            File.CreateSymbolicLink(Path.Join(dir, "latest"), "part3.bin");
        }
        return bytes;
    }

    /// <summary>The directory of a node's "unit N of job J: sending DIR to HOST:PORT as transfer T" line.</summary>
    private static string? UnitDirectory(string line)
    {
        int from = line.IndexOf(": sending ", StringComparison.Ordinal), to = line.LastIndexOf(" to 127.0.0.1:", StringComparison.Ordinal);
        if (from < 0 || to < from) return null;
        string dir = line[(from + ": sending ".Length)..to];
        int batch = dir.IndexOf(" and ", StringComparison.Ordinal);
        return batch < 0 ? dir : dir[..batch];   // a unit of several small directories: its first
    }

    private static long DirectBytes(string dir) => Directory.Exists(dir)
        ? new DirectoryInfo(dir).EnumerateFiles().Where(f => f.LinkTarget is null).Sum(f => f.Length) : 0;

    private const int FlatFiles = 1500;

    /// <summary>A directory too big for one unit, read-only and with an old mtime (which the last of its units sets, once
    /// all its slices are in), holding a subdirectory; and a directory of 260 empty ones.</summary>
    private static long FlatDirectory(string root)
    {
        string flat = Path.Join(root, "flat");
        Directory.CreateDirectory(Path.Join(flat, "sub", "inner"));
        long bytes = 0;
        for (int i = 0; i < FlatFiles - 1; i++)
        {
            File.WriteAllText(Path.Join(flat, $"item{i:D5}.json"), new string('x', i % 500));
            bytes += i % 500;
        }
        File.WriteAllText(Path.Join(flat, "sub", "inner", "deep.txt"), "deep");
        bytes += 4;
        // Wider than one message of subdirectory names (UnitSender batches them).
        for (int i = 0; i < 260; i++) Directory.CreateDirectory(Path.Join(root, "wide", $"d{i:D3}"));
        File.SetUnixFileMode(flat, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        Directory.SetLastWriteTimeUtc(flat, new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        return bytes;
    }

    private async Task FormedAsync(int[] ports)
    {
        foreach (var n in _nodes)
            foreach (int p in ports)
                await n.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{p}");
    }

    private string Key()
    {
        string path = _scratch.Sub("key");
        File.WriteAllText(path, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        return path;
    }

    private static string[] Seeds(params int[] ports) => [.. ports.SelectMany(p => new[] { "--seed", $"127.0.0.1:{p}" })];

    private NodeProcess Node(string name, int port, string role, string key, string[] seeds, params string[] extra)
    {
        // Each node's data port is its cluster port + 1: take one that is free.
        var node = new NodeProcess(name, ["node", "--listen", $"127.0.0.1:{port}", "--data-listen", $"127.0.0.1:{Cli.FreePort()}", "--role", role, "--secret-file", key, .. seeds, .. extra]);
        _nodes.Add(node);
        return node;
    }
}
