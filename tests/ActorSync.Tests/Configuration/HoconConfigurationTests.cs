using System.Text;
using ActorSync.Configuration;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace ActorSync.Tests.Configuration;

public class HoconConfigurationTests
{
    private const string Sample = """
        actorsync {
          transfer {
            streams = 4
            chunk-size = 1MiB
            verify = on
            timeout = 30s
          }
          peers = [
            { host = alpha, port = 7070 }
            { host = beta, port = 7071 }
          ]
        }
        """;

    [Fact]
    public void Values_bind_through_IConfiguration_keys_and_sections()
    {
        var config = new ConfigurationBuilder().AddHoconString(Sample).Build();

        Assert.Equal("4", config["actorsync:transfer:streams"]);
        Assert.Equal("4", config["ActorSync:Transfer:Streams"]);

        var transfer = config.GetSection("actorsync:transfer");
        Assert.True(transfer.Exists());
        Assert.Equal(1L << 20, ConfigValues.ParseSize(transfer["chunk-size"]!));
        Assert.True(bool.Parse(transfer["verify"]!));
        Assert.Equal(TimeSpan.FromSeconds(30), ConfigValues.ParseDuration(transfer["timeout"]!));
        Assert.Equal(["chunk-size", "streams", "timeout", "verify"], transfer.GetChildren().Select(c => c.Key).Order(StringComparer.Ordinal));

        var peers = config.GetSection("actorsync:peers").GetChildren().ToList();
        Assert.Equal(2, peers.Count);
        Assert.Equal("beta", peers[1]["host"]);
        Assert.Equal("7071", peers[1]["port"]);
    }

    [Fact]
    public void A_later_in_memory_source_overrides_a_hocon_value()
    {
        var config = new ConfigurationBuilder()
            .AddHoconString(Sample)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["actorsync:transfer:streams"] = "16" })
            .Build();

        Assert.Equal("16", config["actorsync:transfer:streams"]);
        Assert.Equal("1MiB", config["actorsync:transfer:chunk-size"]);
    }

    [Fact]
    public void A_later_hocon_source_overrides_an_earlier_one()
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["actorsync:transfer:streams"] = "16" })
            .AddHoconString(Sample)
            .AddHoconString("actorsync.transfer.verify = off", "override")
            .Build();

        Assert.Equal("4", config["actorsync:transfer:streams"]);
        Assert.Equal("false", config["actorsync:transfer:verify"]);
    }

    [Fact]
    public void Parse_errors_surface_at_Build_with_the_source_name()
    {
        var builder = new ConfigurationBuilder().AddHoconString("a {\n  b = \n}", "inline.hocon");

        var ex = Assert.Throws<HoconException>(() => builder.Build());

        Assert.StartsWith("inline.hocon:2:7: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHoconFile_reads_the_file_and_names_it_in_errors()
    {
        string dir = Directory.CreateTempSubdirectory("actorsync-hocon-").FullName;
        try
        {
            string good = Path.Combine(dir, "good.hocon");
            File.WriteAllText(good, Sample);
            Assert.Equal("4", new ConfigurationBuilder().AddHoconFile(good).Build()["actorsync:transfer:streams"]);

            string bad = Path.Combine(dir, "bad.hocon");
            File.WriteAllText(bad, "a = 1\nb 2\n");
            var ex = Assert.Throws<HoconException>(() => new ConfigurationBuilder().AddHoconFile(bad).Build());
            Assert.Equal(bad, ex.SourceName);
            Assert.StartsWith($"{bad}:2:3: ", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AddHoconFile_missing_required_file_throws_FileNotFound_with_the_path()
    {
        string missing = Path.Combine(Path.GetTempPath(), "actorsync-missing-" + Guid.NewGuid().ToString("N"), "akka.hocon");

        var ex = Assert.Throws<FileNotFoundException>(() => new ConfigurationBuilder().AddHoconFile(missing).Build());

        Assert.Equal(missing, ex.FileName);
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHoconFile_missing_optional_file_contributes_nothing()
    {
        string missing = Path.Combine(Path.GetTempPath(), "actorsync-missing-" + Guid.NewGuid().ToString("N") + ".hocon");

        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["a"] = "kept" })
            .AddHoconFile(missing, optional: true)
            .Build();

        Assert.Equal("kept", config["a"]);
        Assert.Single(config.AsEnumerable());
    }

    [Fact]
    public void AddHoconStream_reads_utf8_with_bom_leaves_the_stream_open_and_survives_reload()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("name = \"Grüße\"\n")).ToArray();
        using var stream = new MemoryStream(bytes);

        var config = new ConfigurationBuilder().AddHoconStream(stream, "stream.hocon").Build();
        config.Reload();

        Assert.Equal("Grüße", config["name"]);
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void Repository_akka_hocon_parses_and_sets_transfer_streams()
    {
        string path = Path.Combine(ActorSync.Tests.Support.Repository.Root(), "config", "akka.hocon");
        Assert.True(File.Exists(path), $"{path} does not exist");

        var config = new ConfigurationBuilder().AddHoconFile(path).Build();

        Assert.False(string.IsNullOrWhiteSpace(config["actorsync:transfer:streams"]), "actorsync.transfer.streams is not set");
    }
}
