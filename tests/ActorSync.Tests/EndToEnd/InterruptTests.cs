using System.Net;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.EndToEnd;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM, as a user, systemd or docker stop send them: the signalled side stops at once with
/// 128 + the signal's number, tells the other side why, which stops too (exit 1, not after rejoin-grace), and the
/// same commands run again finish the copy.
/// </summary>
public sealed class InterruptTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int SigInt = 2, SigTerm = 15;

    /// <summary>Well under rejoin-grace (60 s) and the receiver's connection drain (15 s): the other side is told,
    /// it does not find out by waiting.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private static void Signal(System.Diagnostics.Process p, int signal) =>
        Assert.Equal(0, Tmds.Linux.LibC.kill(p.Id, signal));

    [Fact]
    public async Task Sigterm_ends_a_serving_receiver_with_exit_0_and_an_idle_one_shot_receiver_with_143()
    {
        using var scratch = new Scratch("sigterm-idle");
        int port = Cli.FreePort();
        using (var serve = Cli.Start(["recv", scratch.Sub("a"), "--listen", $"127.0.0.1:{port}", "--secret", "abcdefabcdefabcdefabcdefabcdef", "--serve"]))
        {
            await Cli.WaitForListenerAsync(port);
            Signal(serve, SigTerm);
            var r = await Cli.WaitAsync(serve, Prompt);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        using var once = Cli.Start(["recv", scratch.Sub("b"), "--listen", $"127.0.0.1:{port}", "--secret", "abcdefabcdefabcdefabcdefabcdef"]);
        await Cli.WaitForListenerAsync(port);
        Signal(once, SigTerm);
        var o = await Cli.WaitAsync(once, Prompt);
        Assert.Equal(128 + SigTerm, o.ExitCode);
        Assert.Contains("actorsync: interrupted (SIGTERM)", o.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// The signal comes at a definite point: when the relay between the two has carried 40 MB of a ~300 MB tree. The
    /// other side must stop within seconds, naming the interruption; the re-run then completes byte for byte.
    /// </summary>
    [Theory]
    [InlineData("send", SigTerm)]
    [InlineData("send", SigInt)]
    [InlineData("recv", SigTerm)]
    public async Task A_signalled_side_stops_at_once_the_other_is_told_and_the_rerun_finishes(string victim, int signal)
    {
        using var scratch = new Scratch($"interrupt-{victim}-{signal}");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 3000, LargeFileBytes = 256L << 20, Oddities = false });
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "interrupt-test-secret-0123456789abcdef");
        int port = Cli.FreePort();
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, port)) { Record = false };
        string name = signal == SigInt ? "SIGINT" : "SIGTERM";

        using (var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]))
        {
            await Cli.WaitForListenerAsync(port);
            using var send = Cli.Start(["send", scratch.Sub("src"), $"127.0.0.1:{relay.Port}", "--secret-file", key, "--streams", "4"]);
            while (relay.ClientByteCount < 40_000_000 && !send.HasExited) await Task.Delay(5);
            Assert.False(send.HasExited, "the transfer finished before the signal was due");
            var (signalled, other) = victim == "send" ? (send, recv) : (recv, send);
            Signal(signalled, signal);
            var s = await Cli.WaitAsync(signalled, Prompt);
            var o = await Cli.WaitAsync(other, Prompt);
            output.WriteLine($"{victim} got {name} at {relay.ClientByteCount} bytes: exit {s.ExitCode} / the other {o.ExitCode}: {o.Stderr.Trim()}");
            Assert.Equal(128 + signal, s.ExitCode);
            Assert.Contains($"actorsync: interrupted ({name})", s.Stderr, StringComparison.Ordinal);
            Assert.Equal(ExitCodes.TransferFailed, o.ExitCode);
            Assert.Contains(TransferFailure.Interrupted, o.Stderr, StringComparison.Ordinal);
        }

        using (var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]))
        {
            await Cli.WaitForListenerAsync(port);
            var s = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--streams", "4"], null, null, TimeSpan.FromMinutes(2));
            var r = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
            Assert.True(s.ExitCode == 0 && r.ExitCode == 0, s.Stderr + r.Stderr);
        }
        var compared = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.True(compared.Identical, string.Join("\n", compared.Differences));
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync")), "work area left behind");
    }
}
