using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.CommandLine;

/// <summary>--json-progress and -q as a script sees them.</summary>
public sealed class ProgressTests
{
    [Fact]
    public async Task Json_progress_is_one_event_per_second_that_ends_at_the_total_and_q_prints_nothing_on_success()
    {
        using var scratch = new Scratch("json-progress");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 200, LargeFileBytes = 12L << 20, Oddities = false, Seed = 31 });
        int port = Cli.FreePort();
        var secret = new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "progress-secret-0123456789abcdef" };
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "-q"], secret);
        await Cli.WaitForListenerAsync(port);
        // 4 MiB/s: about three seconds, so several events come while it runs.
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--streams", "3", "--bwlimit", "4M", "--json-progress", "-q"], secret, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);
        Assert.Equal("", send.Stderr);
        Assert.Equal("", received.Stderr + received.Stdout);

        var events = send.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(events.Count >= 3, send.Stdout);
        Assert.All(events, e => Assert.Equal("progress", e.GetProperty("event").GetString()));
        long[] done = [.. events.Select(e => e.GetProperty("bytes_done").GetInt64())];
        Assert.Equal(done.Order(), done);
        var last = events[^1];
        Assert.Equal(last.GetProperty("bytes_total").GetInt64(), last.GetProperty("bytes_done").GetInt64());
        Assert.True(last.GetProperty("total_final").GetBoolean());
        Assert.Equal(0, last.GetProperty("eta_s").GetDouble());
        Assert.Equal(3, last.GetProperty("stream_bytes").GetArrayLength());
        Assert.True(last.GetProperty("stream_bytes").EnumerateArray().All(b => b.GetInt64() > 0));
        // While it ran: a rate near the cap, and an ETA once the walk had found everything.
        var middle = events[events.Count / 2];
        Assert.InRange(middle.GetProperty("rate_bytes_per_s").GetDouble(), 2 << 20, 6 << 20);
        Assert.Equal(JsonValueKind.Number, middle.GetProperty("eta_s").ValueKind);
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }
}
