using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.EndToEnd;

/// <summary>Re-runs: what is already at the destination is not sent again; interrupted runs are finished.</summary>
public sealed class RestartTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static void AssertIdentical(string src, string dst)
    {
        var result = TreeComparer.Compare(src, dst);
        Assert.True(result.Identical, string.Join("\n", result.Differences));
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync")), "work area left behind");
    }

    [Fact]
    public async Task A_rerun_on_an_up_to_date_copy_sends_no_file_data()
    {
        using var scratch = new Scratch("uptodate");
        var (files, bytes) = TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 2000, LargeFileBytes = 8 << 20 });
        var first = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(0, first.Sent.ExitCode);
        Assert.Equal(bytes, first.Sent.PayloadBytesSent);

        var again = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(0, again.Sent.ExitCode);
        Assert.Equal(0, again.Received.ExitCode);
        Assert.Equal(0, again.Sent.PayloadBytesSent);
        Assert.Equal(files, again.Sent.FilesSkipped);
        Assert.Equal(files, again.Received.FilesSkipped);
        Assert.Equal(0, again.Received.Files);
        Assert.True(again.Sent.WireBytes < files * 200L, $"{again.Sent.WireBytes} wire bytes for the manifest of {files} files");
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task Only_changed_files_are_sent_and_a_mode_change_is_fixed_in_place()
    {
        using var scratch = new Scratch("changed");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 500, LargeFileBytes = 4 << 20 });
        Assert.Equal(0, (await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"))).Sent.ExitCode);

        string changed = Path.Join(scratch.Sub("src"), "dir001", "file000001.bin");
        await File.WriteAllTextAsync(changed, "new content, new mtime");
        File.SetUnixFileMode(Path.Join(scratch.Sub("dst"), "dir002", "file000002.bin"), (UnixFileMode)0x1FF);
        var again = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(0, again.Sent.ExitCode);
        Assert.Equal(new FileInfo(changed).Length, again.Sent.PayloadBytesSent);
        Assert.Equal(1, again.Received.Files);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task Checksum_catches_a_change_that_size_and_mtime_do_not_show()
    {
        using var scratch = new Scratch("checksum");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 100, LargeFileBytes = 1 << 20, Oddities = false });
        Assert.Equal(0, (await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"))).Sent.ExitCode);

        // Corrupt a byte at the destination and put the mtime back: the quick check cannot see it.
        string victim = Path.Join(scratch.Sub("dst"), "large.bin");
        Libc.StatNoFollow(Libc.AT_FDCWD, victim, out var st);
        using (var f = new FileStream(victim, FileMode.Open, FileAccess.ReadWrite)) { f.Position = 12345; int b = f.ReadByte(); f.Position = 12345; f.WriteByte((byte)(b ^ 0xFF)); }
        Libc.SetModificationTimeAt(Libc.AT_FDCWD, victim, st.Mtime.Sec, st.Mtime.Nsec);

        var quick = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(0, quick.Sent.PayloadBytesSent);
        Assert.False(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);

        var options = Loopback.Options() with { Checksum = true };
        var thorough = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), options);
        Assert.Equal(0, thorough.Sent.ExitCode);
        Assert.Equal(1L << 20, thorough.Sent.PayloadBytesSent);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Fact]
    public async Task A_second_transfer_into_a_locked_dest_is_refused_and_leftovers_of_a_crash_are_cleaned()
    {
        using var scratch = new Scratch("lock");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 50, LargeFileBytes = 0, Oddities = false });
        string work = Path.Join(scratch.Sub("dst"), ".actorsync");
        Directory.CreateDirectory(Path.Join(work, "tmp"));
        await File.WriteAllTextAsync(Path.Join(work, "tmp", "0123-7"), "left by a killed receiver");
        using (var holder = new FileStream(Path.Join(work, "lock"), FileMode.OpenOrCreate))
        {
            Assert.Equal(0, Libc.TryLockExclusive((int)holder.SafeFileHandle.DangerousGetHandle()));
            var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options() with { LockWait = TimeSpan.FromMilliseconds(300) });
            Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
            Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
            Assert.Contains("another transfer is writing", sent.Error);
            Assert.Equal([".actorsync"], Directory.EnumerateFileSystemEntries(scratch.Sub("dst")).Select(Path.GetFileName));
            Assert.True(File.Exists(Path.Join(work, "tmp", "0123-7")), "a locked DEST must not be touched");
        }
        var retry = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.Equal(0, retry.Sent.ExitCode);
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    [Theory]
    [InlineData(3_000_000L)]
    [InlineData(20_000_000L)]
    public async Task A_stream_reset_mid_file_reconnects_and_the_transfer_completes_in_the_same_run(long resetAfter)
    {
        using var scratch = new Scratch("reset");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 2000, MaxSmallFileBytes = 16 << 10, LargeFileBytes = 96 << 20 });
        TcpRelay? relay = null;
        try
        {
            var options = Loopback.Options(streams: 4) with { MinBackoff = TimeSpan.FromMilliseconds(50) };
            var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), options,
                routeThrough: port => (relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)) { ResetFirstAfter = resetAfter }).Port);
            Assert.True(sent.ExitCode == 0, sent.Error);
            Assert.True(received.ExitCode == 0, received.Error);
            Assert.Equal(5, relay!.Connections);   // four streams, and the reset one once more
            AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
        }
        finally
        {
            if (relay is not null) await relay.DisposeAsync();
        }
    }

    /// <summary>The kill tests' tree: 4,000 small files and eight 256 MiB files (2.2 GB). Returns its bytes.</summary>
    private static long KillTree(string src, long largeBytes = 256L << 20, int largeFiles = 8)
    {
        long bytes = TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 4000, MaxSmallFileBytes = 32 << 10, Directories = 30, LargeFileBytes = largeBytes }).Bytes;
        for (int i = 0; i < largeFiles - 1; i++)
            bytes += TreeGenerator.Generate(Path.Join(src, $"big{i}"), new TreeSpec { SmallFiles = 0, Directories = 0, EmptyFiles = 0, EmptyDirectories = 0, LargeFileBytes = largeBytes, Oddities = false, Seed = 100 + i }).Bytes;
        return bytes;
    }

    /// <summary>The sender gives up on a receiver killed under it quickly (one reconnect), so the next run can start.</summary>
    private const string QuickGiveUp = "actorsync.supervision { max-restarts = 1, min-backoff = 50ms, max-backoff = 100ms }\n";

    /// <summary>
    /// kill -9 of the sender, and separately of the receiver, at 20 moments each over a 2.2 GB tree of small and
    /// large files, with the default checkpoint interval; the same commands run again each time until one
    /// finishes. Each kill comes at a definite point: when the relay between them has carried a number of bytes
    /// drawn from the test's seed. The copy ends byte-exact, and everything the sender put on the wire over all
    /// runs stays within 1.15x of the dataset: what reached the receiver's disk is never sent again.
    /// </summary>
    [Theory]
    [InlineData("send")]
    [InlineData("recv")]
    public async Task Killed_with_sigkill_at_twenty_moments_then_rerun_finishes_and_resends_little(string victim)
    {
        var rng = new Random(TestSeed.Draw(output));
        using var scratch = new Scratch($"kill-{victim}");
        long bytes = KillTree(scratch.Sub("src"));
        string key = scratch.Sub("key"), config = scratch.Sub("quick.hocon");
        await File.WriteAllTextAsync(key, "kill-test-secret-0123456789abcdef");
        await File.WriteAllTextAsync(config, QuickGiveUp);
        int port = Cli.FreePort();
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)) { Record = false };
        int kills = 0, runs = 0;
        long resumed = 0;
        var at = new List<long>();
        while (true)
        {
            runs++;
            using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--json"]);
            await Cli.WaitForListenerAsync(port);
            using var send = Cli.Start(["send", scratch.Sub("src"), $"127.0.0.1:{relay.Port}", "--secret-file", key, "--streams", "4", "--json", "--config", config]);
            bool kill = kills < 20;
            if (kill)
            {
                // 20 to 100 MB into this run: about two thirds of the tree over the 20 runs, whatever re-sending costs.
                long target = relay.ClientByteCount + rng.NextInt64(20_000_000, 100_000_000);
                while (relay.ClientByteCount < target && !send.HasExited) await Task.Delay(5);
                kill = !send.HasExited;
                if (kill)
                {
                    (victim == "send" ? send : recv).Kill(entireProcessTree: true);
                    kills++;
                    at.Add(relay.ClientByteCount);
                }
            }
            var s = await Cli.WaitAsync(send, TimeSpan.FromMinutes(3));
            if (kill && victim == "send") recv.Kill(entireProcessTree: true);
            var r = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
            if (s.Stdout.Trim().Length > 0) resumed += JsonDocument.Parse(s.Stdout).RootElement.GetProperty("bytes_resumed").GetInt64();
            if (!kill)
            {
                Assert.True(s.ExitCode == 0 && r.ExitCode == 0, $"the final run failed: {s.Stderr} / {r.Stderr}");
                break;
            }
        }
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
        double ratio = (double)relay.ClientByteCount / bytes;
        output.WriteLine($"kill -9 {victim}: {kills} kills at {string.Join(", ", at.Select(b => $"{b / 1_000_000} MB"))}; {runs} runs, " +
                         $"{bytes} bytes dataset, {relay.ClientByteCount} bytes on the wire ({ratio:F3}x), {resumed} bytes resumed");
        Assert.Equal(20, kills);
        Assert.True(ratio <= 1.15, $"{relay.ClientByteCount} bytes on the wire over {runs} runs for a {bytes}-byte dataset ({ratio:F3}x)");
    }

    /// <summary>
    /// Both sides killed together when about half of a 1.2 GB mixed tree has gone over (counted by the relay): the
    /// re-run carries at most 55% of the dataset, and the copy ends byte-exact.
    /// </summary>
    [Fact]
    public async Task Both_sides_killed_at_half_way_the_rerun_carries_little_more_than_the_other_half()
    {
        using var scratch = new Scratch("kill-both");
        long bytes = KillTree(scratch.Sub("src"), largeBytes: 128L << 20);
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "kill-both-secret-0123456789abcdef");
        int port = Cli.FreePort();
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)) { Record = false };
        long first;
        using (var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]))
        {
            await Cli.WaitForListenerAsync(port);
            using var send = Cli.Start(["send", scratch.Sub("src"), $"127.0.0.1:{relay.Port}", "--secret-file", key, "--streams", "8"]);
            while (relay.ClientByteCount < bytes / 2 && !send.HasExited) await Task.Delay(5);
            Assert.False(send.HasExited, "the first run finished before half of the tree had gone over");
            send.Kill(entireProcessTree: true);
            recv.Kill(entireProcessTree: true);
            first = relay.ClientByteCount;
            await Cli.WaitAsync(send, TimeSpan.FromMinutes(1));
            await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        }
        using (var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]))
        {
            await Cli.WaitForListenerAsync(port);
            var s = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{relay.Port}", "--secret-file", key, "--streams", "8", "--json"], null, null, TimeSpan.FromMinutes(3));
            var r = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
            Assert.True(s.ExitCode == 0 && r.ExitCode == 0, s.Stderr + r.Stderr);
        }
        long rerun = relay.ClientByteCount - first;
        output.WriteLine($"killed at {first} of {bytes} bytes ({(double)first / bytes:P1}); the re-run carried {rerun} ({(double)rerun / bytes:P1})");
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.True(rerun <= bytes * 0.55, $"the re-run carried {(double)rerun / bytes:P1} of the dataset");
    }

    /// <summary>
    /// The receiver is killed once a 512 MiB file has two durable checkpoints (a definite point, read from its
    /// journal). The re-run keeps every byte the journal says was written (the sender verified the ones past the
    /// checkpoints by hash) and sends only the rest. A byte changed on disk in the kept part between the runs is
    /// caught, and just the 1 MiB around it is sent again.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_partly_received_large_file_resumes_with_every_byte_written_and_a_corrupted_block_is_sent_again(bool corrupt)
    {
        using var scratch = new Scratch(corrupt ? "corrupt" : "resume");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 10, LargeFileBytes = 512L << 20, Oddities = false });
        string key = scratch.Sub("key"), config = scratch.Sub("resume.hocon");
        await File.WriteAllTextAsync(key, "resume-test-secret-0123456789abcdef");
        await File.WriteAllTextAsync(config, "actorsync.receive { checkpoint-every = 16MiB }\n");
        int port = Cli.FreePort();
        string partial = Path.Join(scratch.Sub("dst"), ".actorsync", "partial");

        using (var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--config", config]))
        {
            await Cli.WaitForListenerAsync(port);
            using var send = Cli.Start(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--streams", "2"]);
            for (int i = 0; i < 3000 && Journal(partial).Durable < 2; i++) await Task.Delay(10);
            Assert.True(Journal(partial).Durable >= 2, "no checkpoint was written");
            recv.Kill(entireProcessTree: true);
            await Cli.WaitAsync(send, TimeSpan.FromMinutes(2));
        }
        long written = Journal(partial).Written;
        string kept = Directory.EnumerateFiles(partial).Single(f => !f.EndsWith(".journal", StringComparison.Ordinal));
        if (corrupt)
        {
            using var f = new FileStream(kept, FileMode.Open, FileAccess.ReadWrite);
            f.Position = 1000;
            f.WriteByte(0x5A);
        }

        using var again = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--config", config]);
        await Cli.WaitForListenerAsync(port);
        var sent = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--streams", "2", "--json"], null, null, TimeSpan.FromMinutes(2));
        var received = await Cli.WaitAsync(again, TimeSpan.FromMinutes(1));
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, sent.Stderr + received.Stderr);
        var json = JsonDocument.Parse(sent.Stdout).RootElement;
        long resumed = json.GetProperty("bytes_resumed").GetInt64();
        output.WriteLine($"corrupt={corrupt}: {written} bytes written before the kill, bytes_resumed {resumed}, payload {json.GetProperty("payload_bytes_sent").GetInt64()} of {512L << 20}");
        Assert.True(written >= 32L << 20, $"only {written} bytes were written");
        Assert.Equal(corrupt ? written - (1 << 20) : written, resumed);
        Assert.Equal((512L << 20) - resumed, json.GetProperty("payload_bytes_sent").GetInt64());
        AssertIdentical(scratch.Sub("src"), scratch.Sub("dst"));
    }

    /// <summary>What a partial's journal says: bytes written (the union of its R lines), and how many checkpoints (C lines).</summary>
    private static (long Written, int Durable) Journal(string partial)
    {
        if (!Directory.Exists(partial)) return (0, 0);
        string? journal = Directory.EnumerateFiles(partial, "*.journal").FirstOrDefault();
        if (journal is null) return (0, 0);
        string[] lines;
        try { lines = File.ReadAllLines(journal); } catch (IOException) { return (0, 0); }
        var ranges = new List<(long Start, long End)>();
        int durable = 0;
        foreach (string line in lines)
        {
            var p = line.Split(' ');
            if (p is ["C", _]) durable++;
            if (p is ["R", var o, var l] && long.TryParse(o, out long offset) && long.TryParse(l, out long length)) ranges.Add((offset, offset + length));
        }
        long total = 0, reach = 0;
        foreach (var (start, end) in ranges.OrderBy(r => r.Start))
        {
            long from = Math.Max(start, reach);
            if (end > from) total += end - from;
            reach = Math.Max(reach, end);
        }
        return (total, durable);
    }
}
