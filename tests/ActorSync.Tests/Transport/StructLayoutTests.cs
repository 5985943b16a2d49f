using System.Reflection;
using System.Runtime.InteropServices;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.Transport;

/// <summary>
/// Libc hands its own structs to Tmds.LibC by pointer (callers keep names that say what a field is); that is
/// only right while the two layouts agree field for field, which these pin.
/// </summary>
public sealed class StructLayoutTests
{
    private static Type Ours(string name) => typeof(Libc).GetNestedType(name, BindingFlags.Public | BindingFlags.NonPublic)!;

    public static TheoryData<string, Type, string, string> Fields => new()
    {
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Mask", "stx_mask" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Nlink", "stx_nlink" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Uid", "stx_uid" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Mode", "stx_mode" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Ino", "stx_ino" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Size", "stx_size" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Blocks", "stx_blocks" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "Mtime", "stx_mtime" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "RdevMajor", "stx_rdev_major" },
        { nameof(Libc.Statx), typeof(Tmds.Linux.statx), "DevMinor", "stx_dev_minor" },
        { nameof(Libc.Timespec), typeof(Tmds.Linux.timespec), "Nsec", "tv_nsec" },
        // msghdr's fields are auto-properties: their backing fields carry the layout.
        { "MsgHdr", typeof(Tmds.Linux.msghdr), "Iov", "<msg_iov>k__BackingField" },
        { "MsgHdr", typeof(Tmds.Linux.msghdr), "Control", "<msg_control>k__BackingField" },
        { "MsgHdr", typeof(Tmds.Linux.msghdr), "Flags", "<msg_flags>k__BackingField" },
    };

    [Theory]
    [MemberData(nameof(Fields))]
    public void Our_structs_have_tmds_layouts(string ours, Type theirs, string field, string theirField)
    {
        var type = Ours(ours);
        Assert.Equal(Marshal.SizeOf(theirs), Marshal.SizeOf(type));
        Assert.Equal(Marshal.OffsetOf(theirs, theirField), Marshal.OffsetOf(type, field));
    }

    [Fact]
    public void A_name_longer_than_the_stack_buffer_reaches_the_kernel_whole()
    {
        using var scratch = new ActorSync.Tests.Support.Scratch("longname");
        string dir = scratch.Path;
        int fd = Libc.OpenDirectoryFollowing(dir);
        Assert.True(fd >= 0);
        try
        {
            // 3 x 200 bytes of components, past NativeName.StackBytes: allocated, encoded and NUL-terminated alike.
            string a = new('a', 200), b = new('\u00e9', 100), c = new('c', 200);
            Assert.Equal(0, Libc.MakeDirectory(fd, a, 0x1c0));
            Assert.Equal(0, Libc.MakeDirectory(fd, $"{a}/{b}", 0x1c0));
            Assert.Equal(0, Libc.MakeDirectory(fd, $"{a}/{b}/{c}", 0x1c0));
            Assert.True(Directory.Exists(Path.Join(dir, a, b, c)));
            Assert.Equal(0, Libc.StatNoFollow(fd, $"{a}/{b}/{c}", out var st));
            Assert.Equal(Libc.S_IFDIR, st.Mode & Libc.S_IFMT);
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
