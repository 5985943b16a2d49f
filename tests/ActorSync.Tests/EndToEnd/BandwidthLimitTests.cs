using ActorSync.Engine;
using ActorSync.Host.Cli;
using ActorSync.Host.Demo;
using ActorSync.Sending;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.EndToEnd;

/// <summary>--bwlimit: one cap over all the streams of a send.</summary>
public sealed class BandwidthLimitTests
{
    [Fact]
    public async Task Four_streams_together_keep_to_the_cap_within_15_percent_over_10_seconds_and_copy_exactly()
    {
        using var scratch = new Scratch("bwlimit");
        // 80 MiB and change at 8 MiB/s: ten seconds, long enough that the first burst the bucket lends is noise.
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 300, MaxSmallFileBytes = 16 << 10, LargeFileBytes = 80L << 20, Oddities = false });
        const long cap = 8L << 20;
        var options = Loopback.Options(streams: 4) with { BandwidthLimit = cap };
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), options);
        Assert.Equal(ExitCodes.Success, sent.ExitCode);
        Assert.Equal(ExitCodes.Success, received.ExitCode);
        double rate = sent.WireBytes / sent.ElapsedSeconds;
        Assert.True(rate is > cap * 0.85 and < cap * 1.15, $"{rate / (1 << 20):F2} MiB/s against a cap of {cap >> 20} MiB/s ({sent.WireBytes} bytes in {sent.ElapsedSeconds:F2} s)");
        var result = TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst"));
        Assert.True(result.Identical, string.Join("\n", result.Differences));
    }

    [Fact]
    public void The_bucket_lends_one_burst_then_makes_each_taker_wait_for_what_it_took()
    {
        var limit = new BandwidthLimit(1 << 20, chunkSize: 256 << 10);
        Assert.Equal(TimeSpan.Zero, limit.Take(256 << 10));
        // Empty now: the next 256 KiB cost a quarter of a second at 1 MiB/s (less the moment since).
        Assert.InRange(limit.Take(256 << 10).TotalSeconds, 0.2, 0.25);
        // Debts add up, so streams that take together wait in turn.
        Assert.InRange(limit.Take(256 << 10).TotalSeconds, 0.45, 0.5);
    }

    [Theory]
    [InlineData("800", 800L << 10)]
    [InlineData("800K", 800L << 10)]
    [InlineData("50M", 50L << 20)]
    [InlineData("50m", 50L << 20)]
    [InlineData("50MiB", 50L << 20)]
    [InlineData("50MB", 50_000_000L)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("100B", 100L)]
    public void Rates_read_as_rsync_reads_them(string text, long bytesPerSecond)
    {
        Assert.True(Rates.TryParse(text, out long parsed));
        Assert.Equal(bytesPerSecond, parsed);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("-5M")]
    [InlineData("5X")]
    [InlineData("0")]
    public async Task A_rate_that_is_not_one_is_exit_2_naming_the_flag(string text)
    {
        using var scratch = new Scratch("bwlimit-cli");
        Directory.CreateDirectory(scratch.Sub("src"));
        var r = await Cli.RunAsync("send", scratch.Sub("src"), "127.0.0.1:9", "--secret", "0123456789abcdef0123456789", "--bwlimit", text);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("--bwlimit", r.Stderr);
    }
}
