using ActorSync.Engine;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Configuration;

/// <summary>
/// The built-in config/akka.hocon, a --config file and command-line values are one HOCON document read by Akka's
/// parser: later layers win, and a substitution in any layer sees the final value of its path, wherever that was set.
/// </summary>
public sealed class LayeringTests
{
    private static TransferOptions Options(string fileText, IReadOnlyDictionary<string, string>? flags = null, Action<Scratch>? more = null)
    {
        using var scratch = new Scratch("layers");
        string file = scratch.Sub("user.hocon");
        File.WriteAllText(file, fileText);
        more?.Invoke(scratch);
        return TransferOptions.FromConfig(ActorSyncConfig.Load(file, flags));
    }

    [Fact]
    public void A_substitution_sees_the_last_value_of_its_path_not_the_one_before_it()
    {
        var o = Options("actorsync.pipeline.readers = 2\nactorsync.transfer.streams = ${actorsync.pipeline.readers}\nactorsync.pipeline.readers = 6\n");
        Assert.Equal(6, o.Streams);
        Assert.Equal(6, o.Readers);
    }

    [Fact]
    public void A_file_refers_to_built_in_values()
    {
        var o = Options("actorsync.pipeline.writers = ${actorsync.transfer.streams}\n");
        Assert.Equal(new TransferOptions().Streams, o.Writers);
        Assert.NotEqual(new TransferOptions().Writers, o.Writers);
    }

    [Fact]
    public void A_flag_overrides_the_file_and_the_files_substitutions_follow_it()
    {
        var o = Options("actorsync.transfer.streams = 5\nactorsync.pipeline.writers = ${actorsync.transfer.streams}\n",
            new Dictionary<string, string> { ["actorsync.transfer.streams"] = "3" });
        Assert.Equal(3, o.Streams);
        Assert.Equal(3, o.Writers);
    }

    [Fact]
    public void An_include_is_read_from_the_files_own_directory()
    {
        var o = Options("include \"more.hocon\"\nactorsync.pipeline.readers = 3\n",
            more: s => File.WriteAllText(s.Sub("more.hocon"), "actorsync.transfer.streams = 5\nactorsync.pipeline.readers = 7\n"));
        Assert.Equal(5, o.Streams);
        Assert.Equal(3, o.Readers);
    }

    [Fact]
    public void Flag_values_are_values_never_syntax()
    {
        var o = Options("", new Dictionary<string, string> { ["actorsync.transfer.chunk-size"] = "1MiB" });
        Assert.Equal(1 << 20, o.ChunkSize);
        var e = Assert.Throws<FormatException>(() => Options("", new Dictionary<string, string> { ["actorsync.transfer.cipher"] = "x\" } actorsync.transfer.streams = 1 #" }));
        Assert.Contains("actorsync.transfer.cipher = \"x\" } actorsync.transfer.streams = 1 #\"", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("actorsync.transfer.chunk-size = 1MB", 1_000_000)]
    [InlineData("actorsync.transfer.chunk-size = 512KiB", 512 << 10)]
    [InlineData("actorsync.transfer.chunk-size = \"2MiB\"", 2 << 20)]
    public void Sizes_read_as_Akka_reads_them(string text, int bytes) => Assert.Equal(bytes, Options(text).ChunkSize);

    [Theory]
    [InlineData("actorsync.timeouts.idle = 90s", 90_000)]
    [InlineData("actorsync.timeouts.idle = 1500ms", 1_500)]
    [InlineData("actorsync.timeouts.idle = 2m", 120_000)]
    public void Durations_read_as_Akka_reads_them(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Options(text).IdleTimeout);

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ActorSyncConfig.Load("/nonexistent/actorsync.hocon"));
        Assert.Contains("/nonexistent/actorsync.hocon", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_built_in_defaults_list_every_setting_and_nothing_else_is_accepted()
    {
        var keys = ActorSyncConfig.Leaves(ActorSyncConfig.Default).ToList();
        Assert.Contains("actorsync.transfer.streams", keys);
        Assert.Contains("actorsync.pipeline.writer-credits", keys);
        var e = Assert.Throws<FormatException>(() => Options("actorsync.receive.lockwait = 5s\n"));
        Assert.StartsWith("actorsync.receive.lockwait: not a setting", e.Message, StringComparison.Ordinal);
    }
}
