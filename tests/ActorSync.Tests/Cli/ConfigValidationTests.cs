using System.Net;
using ActorSync.Engine;
using ActorSync.Receiving;
using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.CommandLine;

/// <summary>
/// Every configuration value is checked alone and against the values it depends on, before anything runs: a bad
/// one is exit 2 with one line naming its key. Before, some crashed the CLI with a stack trace (exit 134), and
/// some were quietly taken to mean something else.
/// </summary>
public sealed class ConfigValidationTests
{
    public static TheoryData<string, string> BadConfigs => new()
    {
        // was: ArgumentOutOfRangeException, exit 134
        { "actorsync.supervision { min-backoff = 10s, max-backoff = 1s }", "actorsync.supervision.min-backoff = 10000ms is above max-backoff = 1000ms" },
        { "actorsync.supervision.min-backoff = infinite", "actorsync.supervision.min-backoff = \"infinite\": must be finite" },
        { "actorsync.timeouts.idle = infinite", "actorsync.timeouts.idle = \"infinite\": must be finite" },
        { "actorsync.timeouts.handshake = 0s", "actorsync.timeouts.handshake = \"0s\": expected a duration above 0 up to 365 days" },
        // was: accepted, and acks above 1031 per frame were silently dropped (the sender never saw progress)
        { "actorsync.transfer.ack-batch = 2000", "actorsync.transfer.ack-batch = \"2000\": expected a whole number from 1 to 1031" },
        // was: accepted, and more than buffer-memory was used (the pool grew to streams + readers + 2 chunks)
        { "actorsync.memory.buffer-memory = 1MiB", "actorsync.memory.buffer-memory = 1024KiB holds 4 chunks of 256KiB; 8 streams and 4 readers need at least 14 (3MiB)" },
        { "actorsync.receive.accept-cipher = rot13", "actorsync.receive.accept-cipher = \"rot13\": expected any, aes-128-gcm or aes-256-gcm" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task A_bad_value_is_exit_2_with_one_line_naming_its_key(string config, string message)
    {
        using var scratch = new Scratch("badvalue");
        string file = scratch.Sub("bad.hocon");
        await File.WriteAllTextAsync(file, config + "\n");
        foreach (string[] args in new[] { ["send", scratch.Path, "127.0.0.1:9"], new[] { "recv", scratch.Sub("dst"), "--listen", "127.0.0.1:9" } })
        {
            var r = await Cli.RunAsync([.. args, "--secret", "abcdefabcdefabcdefabcdefabcdef", "--config", file]);
            Assert.Equal(ExitCodes.Usage, r.ExitCode);
            Assert.Equal($"actorsync: configuration: {message}", Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    /// <summary>Was crashed the CLI (exit 134): an infinite window now counts restarts over the whole transfer.</summary>
    [Fact]
    public async Task An_infinite_restart_window_is_a_budget_over_the_whole_transfer()
    {
        using var scratch = new Scratch("window");
        ActorSync.Host.Demo.TreeGenerator.Generate(scratch.Sub("src"), new ActorSync.Host.Demo.TreeSpec { SmallFiles = 20, LargeFileBytes = 0, Oddities = false });
        string conf = scratch.Sub("window.hocon");
        await File.WriteAllTextAsync(conf, "actorsync.supervision.restart-window = infinite\n");
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "window-test-secret-0123456789abcdef");
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--config", conf], null, null, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.Equal(0, (await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1))).ExitCode);
    }

    /// <summary>Was "do not wait at all": lock-wait = infinite now waits until DEST's lock is free. The first try
    /// is made before OpenAsync returns, with the lock held, so "no wait" would already have failed here.</summary>
    [Fact]
    public async Task An_infinite_lock_wait_waits_until_dest_is_free()
    {
        using var scratch = new Scratch("lockforever");
        string dst = scratch.Sub("dst");
        Directory.CreateDirectory(Path.Join(dst, ".actorsync"));
        var holder = new FileStream(Path.Join(dst, ".actorsync", "lock"), FileMode.OpenOrCreate);
        Assert.Equal(0, Libc.TryLockExclusive((int)holder.SafeFileHandle.DangerousGetHandle()));
        var opening = DestinationTree.OpenAsync(dst, Timeout.InfiniteTimeSpan, CancellationToken.None);
        Assert.False(opening.IsCompleted, "it did not wait for the lock");
        await holder.DisposeAsync();
        using var tree = await opening.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(tree.TempFd >= 0);
    }

    [Fact]
    public void The_built_in_configuration_is_valid_and_agrees_with_the_defaults_in_code()
    {
        var options = ActorSync.Host.Cli.EngineHost.Options(ActorSync.Host.Cli.EngineHost.Build(null, false, true, new Dictionary<string, string>()));
        Assert.Equal(new TransferOptions() with { }, options);
    }
}
