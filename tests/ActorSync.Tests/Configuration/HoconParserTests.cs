using ActorSync.Configuration;
using Xunit;

namespace ActorSync.Tests.Configuration;

public class HoconParserTests
{
    private static IReadOnlyDictionary<string, string?> Parse(string text) => HoconParser.Parse(text);

    /// <summary>The flattened result must be exactly <paramref name="expected"/>: no stray or leftover keys.</summary>
    private static void AssertExactly(IReadOnlyDictionary<string, string?> actual, params (string Key, string? Value)[] expected)
    {
        Assert.Equal(
            expected.Select(e => $"{e.Key}={e.Value ?? "<null>"}").Order(StringComparer.Ordinal),
            actual.Select(e => $"{e.Key}={e.Value ?? "<null>"}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Nested_objects_and_dotted_keys_flatten_to_colon_paths()
    {
        var result = Parse("""
            actorsync {
              transfer {
                streams = 4
              }
              listen.port = 7070
            }
            actorsync.transfer.chunk = 1MiB
            """);

        AssertExactly(result,
            ("actorsync:transfer:streams", "4"),
            ("actorsync:listen:port", "7070"),
            ("actorsync:transfer:chunk", "1MiB"));
    }

    [Fact]
    public void Later_objects_merge_and_later_scalars_win()
    {
        var result = Parse("""
            a { b = 1, c = 2 }
            a.d = 3
            a { c = 20 }
            a = { e { f = 4 } }
            x = 1
            x { y = 2 }
            z { y = 2 }
            z = 5
            """);

        AssertExactly(result,
            ("a:b", "1"), ("a:c", "20"), ("a:d", "3"), ("a:e:f", "4"),
            ("x:y", "2"),
            ("z", "5"));
    }

    [Fact]
    public void Both_separators_and_brace_without_separator()
    {
        var result = Parse("""
            a = 1
            b : 2
            c:3
            d=4
            e {
              f = 5
            }
            g{h:6}
            """);

        AssertExactly(result, ("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e:f", "5"), ("g:h", "6"));
    }

    [Fact]
    public void Comments_of_both_kinds_are_ignored_but_kept_inside_quoted_strings()
    {
        var result = Parse("""
            # a hash comment
            // a slash comment
            a = 1 # trailing hash
            b = 2 // trailing slashes
            c = "x # not a comment // nor this"
            d { # comment after brace
              e = 3 // inside
            } # after close
            """);

        AssertExactly(result, ("a", "1"), ("b", "2"), ("c", "x # not a comment // nor this"), ("d:e", "3"));
    }

    [Fact]
    public void Arrays_of_scalars_map_to_indexed_keys_with_commas_newlines_and_trailing_comma()
    {
        var result = Parse("""
            inline = [1, 2, 3]
            multi = [
              "a" # comment
              b,
              c,
            ]
            nested = [[1, 2], [3]]
            empty = []
            """);

        AssertExactly(result,
            ("inline:0", "1"), ("inline:1", "2"), ("inline:2", "3"),
            ("multi:0", "a"), ("multi:1", "b"), ("multi:2", "c"),
            ("nested:0:0", "1"), ("nested:0:1", "2"), ("nested:1:0", "3"),
            ("empty", null));
    }

    [Fact]
    public void Arrays_of_objects_map_to_indexed_sections()
    {
        var result = Parse("""
            peers = [
              { host = alpha, port = 1 }
              {
                host = beta
                port = 2
              }
            ]
            """);

        AssertExactly(result,
            ("peers:0:host", "alpha"), ("peers:0:port", "1"),
            ("peers:1:host", "beta"), ("peers:1:port", "2"));
    }

    [Fact]
    public void A_later_array_replaces_an_earlier_one_entirely()
    {
        AssertExactly(Parse("xs = [1, 2, 3]\nxs = [9]"), ("xs:0", "9"));
    }

    [Fact]
    public void Quoted_keys_keep_dots_as_part_of_one_segment()
    {
        var result = Parse("""
            "a.b" = 1
            x."y.z".w = 2
            "with space" { "q" = 3 }
            """);

        AssertExactly(result, ("a.b", "1"), ("x:y.z:w", "2"), ("with space:q", "3"));
    }

    [Fact]
    public void Quoted_string_escapes_are_decoded()
    {
        var result = Parse("""
            s = "q\"b\\s\ttab\nnl\u0041\/"
            """);

        Assert.Equal("q\"b\\s\ttab\nnlA/", result["s"]);
    }

    [Fact]
    public void Triple_quoted_strings_are_raw_and_may_span_lines()
    {
        // Plain C# strings: HOCON's """ runs would fight with C# raw string delimiters.
        var result = Parse(
            "t = \"\"\"first \"quoted\" line\n  second \\n not an escape # not a comment\"\"\"\n" +
            "u = \"\"\"ends with a quote\"\"\"\"\n" +
            "v = \"\"\"\"\"\"\n");

        Assert.Equal("first \"quoted\" line\n  second \\n not an escape # not a comment", result["t"]);
        Assert.Equal("ends with a quote\"", result["u"]);
        Assert.Equal("", result["v"]);
    }

    [Fact]
    public void Unquoted_values_keep_inner_spaces_and_concatenate_with_quoted_parts()
    {
        var result = Parse("""
            timeout = 10 seconds   
            path = /var/lib/actorsync
            greeting = "hello" world "again"
            address = 127.0.0.1:2552
            """);

        Assert.Equal("10 seconds", result["timeout"]);
        Assert.Equal("/var/lib/actorsync", result["path"]);
        Assert.Equal("hello world again", result["greeting"]);
        Assert.Equal("127.0.0.1:2552", result["address"]);
    }

    [Fact]
    public void Booleans_are_normalised_and_null_gives_a_null_value()
    {
        var result = Parse("""
            t1 = true
            t2 = yes
            t3 = on
            f1 = false
            f2 = no
            f3 = off
            quoted = "yes"
            phrase = yes please
            n = null
            quotedNull = "null"
            """);

        Assert.Equal("true", result["t1"]);
        Assert.Equal("true", result["t2"]);
        Assert.Equal("true", result["t3"]);
        Assert.Equal("false", result["f1"]);
        Assert.Equal("false", result["f2"]);
        Assert.Equal("false", result["f3"]);
        Assert.Equal("yes", result["quoted"]);
        Assert.Equal("yes please", result["phrase"]);
        Assert.True(result.ContainsKey("n"));
        Assert.Null(result["n"]);
        Assert.Equal("null", result["quotedNull"]);
    }

    [Fact]
    public void Root_may_be_braced_and_commas_may_separate_fields_on_one_line()
    {
        var result = Parse("""
            // leading comment
            {
              a = 1, b = 2, c { d = 3, },
            }
            # trailing comment
            """);

        AssertExactly(result, ("a", "1"), ("b", "2"), ("c:d", "3"));
    }

    [Fact]
    public void Empty_text_and_empty_object_give_empty_results()
    {
        Assert.Empty(Parse(""));
        Assert.Empty(Parse("  # only a comment\n"));
        Assert.Empty(Parse("{}"));
        AssertExactly(Parse("a { }"), ("a", null));
    }

    [Fact]
    public void Keys_are_case_insensitive_and_merge_across_case()
    {
        var result = Parse("Transfer { Streams = 2 }\ntransfer.streams = 8\ntransfer.verify = on");

        Assert.Equal(2, result.Count);
        Assert.Equal("8", result["TRANSFER:STREAMS"]);
        Assert.Equal("true", result["transfer:verify"]);
    }

    [Fact]
    public void Byte_order_mark_and_crlf_line_endings_are_accepted()
    {
        var result = Parse("\uFEFFa = 1\r\nb = two words\r\n");

        AssertExactly(result, ("a", "1"), ("b", "two words"));
    }
}
