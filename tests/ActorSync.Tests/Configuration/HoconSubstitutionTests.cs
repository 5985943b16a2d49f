using ActorSync.Configuration;
using Xunit;

namespace ActorSync.Tests.Configuration;

public class HoconSubstitutionTests
{
    // A fresh name per test, so tests running in parallel never see each other's variables.
    private static string UniqueVariable() => "ACTORSYNC_HOCON_TEST_" + Guid.NewGuid().ToString("N");

    [Fact]
    public void Substitution_copies_an_earlier_scalar_by_dotted_path()
    {
        var result = HoconParser.Parse("""
            transfer { streams = 4 }
            limits.streams = ${transfer.streams}
            """);

        Assert.Equal("4", result["limits:streams"]);
    }

    [Fact]
    public void Substituted_object_is_a_copy_that_later_fields_merge_into()
    {
        var result = HoconParser.Parse("""
            defaults { retries = 3, timeout = 5s }
            upload = ${defaults}
            upload.timeout = 30s
            """);

        Assert.Equal("3", result["upload:retries"]);
        Assert.Equal("30s", result["upload:timeout"]);
        Assert.Equal("5s", result["defaults:timeout"]);
    }

    [Fact]
    public void Substitution_falls_back_to_environment_variables()
    {
        string name = UniqueVariable();
        Environment.SetEnvironmentVariable(name, "/srv/data");
        try
        {
            var result = HoconParser.Parse($"root = ${{{name}}}\nmaybe = ${{?{name}}}\nlogs = ${{{name}}}/logs");

            Assert.Equal("/srv/data", result["root"]);
            Assert.Equal("/srv/data", result["maybe"]);
            Assert.Equal("/srv/data/logs", result["logs"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Config_paths_take_precedence_over_environment_variables()
    {
        string name = UniqueVariable();
        Environment.SetEnvironmentVariable(name, "from-env");
        try
        {
            var result = HoconParser.Parse($"{name} = from-config\nvalue = ${{{name}}}");

            Assert.Equal("from-config", result["value"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Unresolved_optional_substitution_keeps_the_earlier_value_or_leaves_the_key_unset()
    {
        string unset = "${?" + UniqueVariable() + "}";
        var result = HoconParser.Parse($"""
            port = 7070
            port = {unset}
            host = {unset}
            list = [1, {unset}, 3]
            """);

        Assert.Equal("7070", result["port"]);
        Assert.False(result.ContainsKey("host"));
        Assert.Equal("1", result["list:0"]);
        Assert.Equal("3", result["list:1"]);
        Assert.False(result.ContainsKey("list:2"));
    }

    [Fact]
    public void Optional_substitution_overrides_the_earlier_value_when_the_variable_is_set()
    {
        string name = UniqueVariable();
        Environment.SetEnvironmentVariable(name, "9090");
        try
        {
            var result = HoconParser.Parse($"port = 7070\nport = ${{?{name}}}");

            Assert.Equal("9090", result["port"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void Unresolved_required_substitution_is_an_error_at_its_position()
    {
        string name = UniqueVariable();

        var ex = Assert.Throws<HoconException>(() => HoconParser.Parse($"a = 1\nb = ${{{name}}}", "test.hocon"));

        Assert.Equal(2, ex.Line);
        Assert.Equal(5, ex.Column);
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Substitution_sees_only_what_is_defined_above_it()
    {
        string name = UniqueVariable();

        Assert.Throws<HoconException>(() => HoconParser.Parse($"a = ${{{name}}}\n{name} = later"));
    }

    [Fact]
    public void Quoted_dollar_brace_is_literal_text()
    {
        Assert.Equal("${not.a.substitution}", HoconParser.Parse("a = \"${not.a.substitution}\"")["a"]);
    }
}
