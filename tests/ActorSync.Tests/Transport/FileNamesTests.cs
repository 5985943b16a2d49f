using ActorSync.Transport.Frames;
using FsCheck.Xunit;
using Xunit;

namespace ActorSync.Tests.Transport;

/// <summary>Names are bytes: the mapping to strings loses nothing, and printing them never merges two.</summary>
public sealed class FileNamesTests
{
    [Property]
    public bool Any_bytes_roundtrip_through_a_string(byte[] bytes) =>
        FileNames.ToBytes(FileNames.Decode(bytes)).AsSpan().SequenceEqual(bytes);

    [Property]
    public bool Two_different_names_never_print_the_same(byte[] a, byte[] b) =>
        a.AsSpan().SequenceEqual(b) || FileNames.Printable(FileNames.Decode(a)) != FileNames.Printable(FileNames.Decode(b));

    [Theory]
    [InlineData(new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'.', (byte)'t', (byte)'x', (byte)'t' }, "caf\\351.txt")]
    [InlineData(new byte[] { (byte)'a', (byte)'\n', (byte)'b', (byte)'\t', (byte)'\\' }, "a\\nb\\t\\\\")]
    [InlineData(new byte[] { 0xC3, 0xA9, 0x01, 0x7F }, "é\\001\\177")]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "\\355\\240\\200")]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, "😀")]
    public void Names_print_like_ls_b(byte[] bytes, string printed)
    {
        Assert.Equal(printed, FileNames.Printable(FileNames.Decode(bytes)));
    }

    [Fact]
    public void Valid_utf8_decodes_as_text_and_costs_its_own_bytes()
    {
        Assert.Equal("données/日本.txt", FileNames.Decode("données/日本.txt"u8));
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount("données/日本.txt"), FileNames.GetByteCount("données/日本.txt"));
    }
}
