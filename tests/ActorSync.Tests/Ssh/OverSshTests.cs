using System.Diagnostics;
using System.Text.RegularExpressions;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Ssh;

/// <summary>
/// One command over ssh, against a throwaway sshd on 127.0.0.1: push and pull copy exactly, the secret never appears
/// on a command line, and what goes wrong (no actorsync there, a wrong path, ssh refused, streams that cannot get
/// through, the local side killed) ends in one line and a distinct exit status, with nothing left running remotely.
/// </summary>
public sealed class OverSshTests(OverSshTests.Server server) : IClassFixture<OverSshTests.Server>
{
    public sealed class Server : IDisposable
    {
        public TestSshd Sshd { get; } = new();
        public void Dispose() => Sshd.Dispose();
    }

    private TestSshd Sshd => server.Sshd;
    private string Remote(string path) => $"{Sshd.User}@127.0.0.1:{path}";

    [Fact]
    public async Task Push_then_pull_copy_the_tree_exactly_and_the_secret_never_reaches_a_command_line()
    {
        using var scratch = new Scratch("ssh");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 300, LargeFileBytes = 3 << 20, Seed = 7 });
        // An ssh that logs the command line it is given, then is ssh.
        string wrapper = scratch.Sub("logging-ssh");
        File.WriteAllText(wrapper, $"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {scratch.Sub("argv.log")}\nexec {Sshd.Rsh} \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var push = await Cli.RunAsync(["send", scratch.Sub("src"), Remote(scratch.Sub("pushed")), "-e", wrapper, "--remote-bin", TestSshd.RemoteBin, "--streams", "4", "--json"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(push.ExitCode == 0, push.Stderr);
        var pushed = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("pushed"));
        Assert.True(pushed.Identical, string.Join('\n', pushed.Differences));
        Assert.Contains("\"streams\":4", push.Stdout, StringComparison.Ordinal);

        var pull = await Cli.RunAsync(["send", Remote(scratch.Sub("pushed")), scratch.Sub("pulled"), "-e", wrapper, "--remote-bin", TestSshd.RemoteBin, "--streams", "3"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(pull.ExitCode == 0, pull.Stderr);
        var pulled = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("pulled"));
        Assert.True(pulled.Identical, string.Join('\n', pulled.Differences));
        Assert.Contains("over 3 streams", pull.Stderr, StringComparison.Ordinal);

        // Each run's secret is 64 hex digits handed over ssh's standard input: no command line ever held one.
        string argv = File.ReadAllText(scratch.Sub("argv.log"));
        Assert.Contains("--over-ssh", argv, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex("[0-9a-f]{64}"), argv);
    }

    [Fact]
    public async Task A_pull_takes_the_filter_rules_and_a_push_of_an_up_to_date_tree_sends_nothing()
    {
        using var scratch = new Scratch("ssh-rules");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 100, LargeFileBytes = 0, Oddities = false, Seed = 8 });
        File.WriteAllText(scratch.Sub("src/skip.tmp"), "x");
        // A dry run of the pull: the remote sender's plan is printed here, and nothing is created.
        var plan = await Cli.RunAsync(["send", Remote(scratch.Sub("src")), scratch.Sub("pulled"), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin, "--exclude", "*.tmp", "-n", "--json"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(plan.ExitCode == 0, plan.Stderr);
        string[] wouldSend = [.. plan.Stdout.Split('\n').Where(l => l.Contains("\"would_send\"", StringComparison.Ordinal))];
        Assert.True(wouldSend.Length >= 100, plan.Stdout);
        Assert.DoesNotContain(wouldSend, l => l.Contains("skip.tmp", StringComparison.Ordinal));
        Assert.False(Directory.Exists(scratch.Sub("pulled")));
        var pull = await Cli.RunAsync(["send", Remote(scratch.Sub("src")), scratch.Sub("pulled"), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin, "--exclude", "*.tmp"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(pull.ExitCode == 0, pull.Stderr);
        Assert.False(File.Exists(scratch.Sub("pulled/skip.tmp")));
        File.Delete(scratch.Sub("src/skip.tmp"));
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("pulled")).Identical);

        // --delete on a pull: the remote sender asks, this side deletes and names what it deleted.
        File.WriteAllText(scratch.Sub("pulled/extraneous"), "not in the source");
        var delete = await Cli.RunAsync(["send", Remote(scratch.Sub("src")), scratch.Sub("pulled"), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin, "--delete"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        Assert.Equal("deleting extraneous", delete.Stdout.Trim());
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("pulled")).Identical);

        var again = await Cli.RunAsync(["send", scratch.Sub("src"), Remote(scratch.Sub("pulled")), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin, "--json"],
            null, null, TimeSpan.FromMinutes(2));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("\"payload_bytes_sent\":0", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remote_without_actorsync_is_exit_5_in_one_line_naming_the_option()
    {
        using var scratch = new Scratch("ssh-missing");
        Directory.CreateDirectory(scratch.Sub("src"));
        var r = await Cli.RunAsync(["send", scratch.Sub("src"), Remote(scratch.Sub("dst")), "-e", Sshd.Rsh, "--remote-bin", "/nonexistent/actorsync"], null, null, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.RemoteStartFailed, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--remote-bin", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(scratch.Sub("dst")));
    }

    [Fact]
    public async Task A_wrong_remote_path_is_the_remote_sides_usage_error_and_ssh_refused_is_exit_5()
    {
        using var scratch = new Scratch("ssh-wrong");
        var r = await Cli.RunAsync(["send", Remote(scratch.Sub("nonexistent")), scratch.Sub("dst"), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin], null, null, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("is not a directory", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(scratch.Sub("dst")));

        Directory.CreateDirectory(scratch.Sub("src"));
        int closed = Cli.FreePort();
        r = await Cli.RunAsync(["send", scratch.Sub("src"), Remote(scratch.Sub("dst")), "-e", Sshd.Rsh.Replace($"-p {Sshd.Port}", $"-p {closed}", StringComparison.Ordinal)], null, null, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.RemoteStartFailed, r.ExitCode);
        line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("actorsync: ssh to ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streams_that_cannot_reach_the_remote_port_fail_in_one_line_naming_port()
    {
        using var scratch = new Scratch("ssh-blocked");
        Directory.CreateDirectory(scratch.Sub("src"));
        File.WriteAllText(scratch.Sub("src/f"), "data");
        // A remote side that announces a port nothing listens on (as a firewall that drops it would look), then waits.
        int closed = Cli.FreePort();
        string fake = scratch.Sub("fake-ssh");
        File.WriteAllText(fake, $"#!/bin/sh\necho 'ACTORSYNC-READY 127.0.0.1 {closed}'\ncat > /dev/null\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var r = await Cli.RunAsync(["send", scratch.Sub("src"), Remote(scratch.Sub("dst")), "-e", fake], null, null, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.TransferFailed, r.ExitCode);
        Assert.Contains(r.Stderr.Split('\n'), l => l.StartsWith($"actorsync: cannot reach 127.0.0.1:{closed} from here", StringComparison.Ordinal) && l.Contains("--port N", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Killing_the_local_side_midway_stops_the_remote_side_and_the_same_command_finishes_the_copy()
    {
        using var scratch = new Scratch("ssh-kill");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 50, LargeFileBytes = 24L << 20, Seed = 9 });
        string dst = scratch.Sub("dst");
        string[] args = ["send", scratch.Sub("src"), Remote(dst), "-e", Sshd.Rsh, "--remote-bin", TestSshd.RemoteBin, "--bwlimit", "4M", "--streams", "2"];
        using (var local = Cli.Start(args))
        {
            // The definite event: file data has reached DEST (a resumable partial, or a finished small file).
            var deadline = Stopwatch.StartNew();
            while (!Directory.Exists(dst) || !Directory.EnumerateFiles(dst, "*", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0 && !f.EndsWith("/lock", StringComparison.Ordinal)))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "no data reached DEST");
                if (local.HasExited) Assert.Fail($"the local side ended early ({local.ExitCode}): {local.StandardError.ReadToEnd()}");
                await Task.Delay(20);
            }
            Assert.NotEmpty(ProcessesWith("--over-ssh", dst));
            local.Kill();
            await local.WaitForExitAsync();
        }
        // The orphaned ssh sees its input end and closes the channel; the remote side sees its own end and stops.
        var gone = Stopwatch.StartNew();
        while (ProcessesWith(dst).Count > 0)
        {
            Assert.True(gone.Elapsed < TimeSpan.FromSeconds(30), "still running: " + string.Join(" | ", ProcessesWith(dst)));
            await Task.Delay(50);
        }
        var again = await Cli.RunAsync(args[..^4], null, null, TimeSpan.FromMinutes(2));
        Assert.True(again.ExitCode == 0, again.Stderr);
        var result = TreeComparer.Compare(scratch.Sub("src"), dst);
        Assert.True(result.Identical, string.Join('\n', result.Differences));
    }

    /// <summary>Command lines of this machine's processes that contain every fragment.</summary>
    private static List<string> ProcessesWith(params string[] fragments)
    {
        var found = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Join(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (fragments.All(f => cmdline.Contains(f, StringComparison.Ordinal))) found.Add($"{pid}: {cmdline}");
        }
        return found;
    }
}
