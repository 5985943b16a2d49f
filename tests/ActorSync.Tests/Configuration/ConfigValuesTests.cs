using ActorSync.Configuration;
using Xunit;

namespace ActorSync.Tests.Configuration;

public class ConfigValuesTests
{
    [Theory]
    [InlineData("1000", 1000L)]
    [InlineData("0", 0L)]
    [InlineData("100B", 100L)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("64 MiB", 64L << 20)]
    [InlineData("  8 KiB  ", 8L << 10)]
    [InlineData("256KiB", 256L << 10)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("2TiB", 2L << 40)]
    [InlineData("512k", 512L << 10)]
    [InlineData("4m", 4L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("10KB", 10_000L)]
    [InlineData("10kB", 10_000L)]
    [InlineData("10MB", 10_000_000L)]
    [InlineData("3GB", 3_000_000_000L)]
    [InlineData("1.5MiB", 1_572_864L)]
    [InlineData("0.5k", 512L)]
    [InlineData("2 mebibytes", 2L << 20)]
    [InlineData("8589934591GiB", 8_589_934_591L << 30)]
    public void ParseSize_accepts(string text, long expected)
    {
        Assert.Equal(expected, ConfigValues.ParseSize(text));
        Assert.True(ConfigValues.TryParseSize(text, out long bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("abc")]
    [InlineData("MiB")]
    [InlineData("-1")]
    [InlineData("-5MiB")]
    [InlineData("10 Mb")]
    [InlineData("10mb")]
    [InlineData("10 MiBs")]
    [InlineData("10 MiB extra")]
    [InlineData("1..5MiB")]
    [InlineData(".5MiB")]
    [InlineData("5.MiB")]
    [InlineData("1e3")]
    [InlineData("0x10")]
    [InlineData("+5")]
    [InlineData("8589934592GiB")]
    [InlineData("99999999999999999999999999999999")]
    public void ParseSize_rejects(string text)
    {
        var ex = Assert.Throws<FormatException>(() => ConfigValues.ParseSize(text));
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
        Assert.False(ConfigValues.TryParseSize(text, out _));
    }

    [Fact]
    public void ParseSize_explains_negative_and_unknown_units()
    {
        Assert.Contains("negative", Assert.Throws<FormatException>(() => ConfigValues.ParseSize("-1MiB")).Message, StringComparison.Ordinal);
        Assert.Contains("unknown unit 'Mb'", Assert.Throws<FormatException>(() => ConfigValues.ParseSize("4Mb")).Message, StringComparison.Ordinal);
        Assert.False(ConfigValues.TryParseSize(null, out _));
    }

    [Theory]
    [InlineData("5s", 5 * TimeSpan.TicksPerSecond)]
    [InlineData("250ms", 250 * TimeSpan.TicksPerMillisecond)]
    [InlineData("2m", 2 * TimeSpan.TicksPerMinute)]
    [InlineData("1h", TimeSpan.TicksPerHour)]
    [InlineData("2d", 2 * TimeSpan.TicksPerDay)]
    [InlineData("1.5s", 15 * TimeSpan.TicksPerSecond / 10)]
    [InlineData("100us", 100 * TimeSpan.TicksPerMicrosecond)]
    [InlineData("1000ns", 10L)]
    [InlineData("10 seconds", 10 * TimeSpan.TicksPerSecond)]
    [InlineData("1 second", TimeSpan.TicksPerSecond)]
    [InlineData("3 minutes", 3 * TimeSpan.TicksPerMinute)]
    [InlineData("750 millis", 750 * TimeSpan.TicksPerMillisecond)]
    [InlineData("2 hours", 2 * TimeSpan.TicksPerHour)]
    [InlineData("500", 500 * TimeSpan.TicksPerMillisecond)]
    [InlineData(" 0 ", 0L)]
    public void ParseDuration_accepts(string text, long expectedTicks)
    {
        Assert.Equal(TimeSpan.FromTicks(expectedTicks), ConfigValues.ParseDuration(text));
        Assert.True(ConfigValues.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromTicks(expectedTicks), value);
    }

    [Fact]
    public void ParseDuration_infinite_is_the_infinite_timespan()
    {
        Assert.Equal(Timeout.InfiniteTimeSpan, ConfigValues.ParseDuration("infinite"));
        Assert.True(ConfigValues.TryParseDuration(" infinite ", out var value));
        Assert.Equal(Timeout.InfiniteTimeSpan, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("five seconds")]
    [InlineData("5 sec")]
    [InlineData("5S")]
    [InlineData("5 s s")]
    [InlineData("-5s")]
    [InlineData("-1")]
    [InlineData("1e3s")]
    [InlineData("1.s")]
    [InlineData("Infinite")]
    [InlineData("infinite!")]
    [InlineData("99999999999999d")]
    public void ParseDuration_rejects(string text)
    {
        var ex = Assert.Throws<FormatException>(() => ConfigValues.ParseDuration(text));
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
        Assert.False(ConfigValues.TryParseDuration(text, out _));
    }
}
