using ActorSync.Configuration;
using Xunit;

namespace ActorSync.Tests.Configuration;

public class HoconErrorTests
{
    [Theory]
    [InlineData("a {\n  b 1\n}", 2, 5, "expected '=' or ':' after key")]
    [InlineData("a = \"abc\nb = 1", 1, 5, "unterminated string")]
    [InlineData("x = 1\nserver {\n  port = 8080\n", 2, 8, "unterminated object")]
    [InlineData("xs = [1, 2", 1, 6, "unterminated array")]
    [InlineData("a = 1\nb =\nc = 3", 2, 4, "expected a value")]
    [InlineData("a = 1\nb = ", 2, 5, "expected a value")]
    [InlineData("a = 1\n@b = 2", 2, 1, "expected a key")]
    [InlineData("a = \"x\\q\"", 1, 7, "invalid escape")]
    [InlineData("a = \"\\u12G4\"", 1, 6, "invalid escape")]
    [InlineData("a { } b = 1", 1, 7, "expected ',' or a new line")]
    [InlineData("{ a = 1", 1, 1, "unterminated object")]
    [InlineData("a = 1\n}", 2, 1, "unexpected '}'")]
    [InlineData("{ a = 1 }\nb = 2", 2, 1, "after the root object")]
    [InlineData("a = 1,,\nb = 2", 1, 7, "expected a key")]
    [InlineData("t = \"\"\"never closed\n", 1, 5, "unterminated string")]
    [InlineData("a = ${b", 1, 5, "unterminated substitution")]
    [InlineData("a = foo { b = 1 }", 1, 9, "unexpected '{' inside a value")]
    [InlineData("a.\"\".b = 1", 1, 3, "empty keys")]
    [InlineData("include \"other.conf\"", 1, 1, "'include' is not supported")]
    [InlineData("xs += 4", 1, 4, "'+=' is not supported")]
    [InlineData("a = 1\r\nb 2", 2, 3, "expected '=' or ':' after key")]
    [InlineData("\tport\t?= 1", 1, 7, "expected '=' or ':' after key")]
    public void Malformed_input_reports_exact_line_and_column(string text, int line, int column, string reason)
    {
        var ex = Assert.Throws<HoconException>(() => HoconParser.Parse(text, "config/akka.hocon"));

        Assert.Equal("config/akka.hocon", ex.SourceName);
        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.StartsWith($"config/akka.hocon:{line}:{column}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void HoconException_is_a_FormatException()
    {
        Assert.IsAssignableFrom<FormatException>(Assert.ThrowsAny<Exception>(() => HoconParser.Parse("a =")));
    }

    [Fact]
    public void Default_source_name_appears_in_the_message()
    {
        var ex = Assert.Throws<HoconException>(() => HoconParser.Parse("a b"));

        Assert.Equal("<string>:1:3: expected '=' or ':' after key, found 'b'", ex.Message);
    }
}
