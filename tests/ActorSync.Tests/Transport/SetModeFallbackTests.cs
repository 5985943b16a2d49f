using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.Transport;

/// <summary>
/// chmod of an entry without following a symlink has a last resort for hosts where glibc cannot do it (before 2.32,
/// or without /proc) and the kernel has no fchmodat2: this host never takes that path, so it is exercised directly.
/// </summary>
public sealed class SetModeFallbackTests
{
    [Fact]
    public void The_descriptor_fallback_changes_files_directories_and_fifos_and_refuses_symlinks()
    {
        using var scratch = new Scratch("chmod-fallback");
        File.WriteAllText(scratch.Sub("file"), "x");
        Directory.CreateDirectory(scratch.Sub("dir"));
        File.WriteAllText(scratch.Sub("target"), "t");
        File.SetUnixFileMode(scratch.Sub("target"), (UnixFileMode)0x1A4);
        int dir = Libc.OpenDirectoryFollowing(scratch.Path);
        try
        {
            Assert.Equal(0, Libc.MakeNode(dir, "fifo", (uint)Libc.S_IFIFO | 0x1A4, 0, 0));
            Assert.Equal(0, Libc.CreateSymlink("target", dir, "link"));

            foreach (var (name, mode) in new[] { ("file", 0x180u), ("dir", 0x1C0u), ("fifo", 0x100u), ("file", 0u) })
            {
                Assert.True(Libc.SetModeThroughDescriptor(dir, name, mode) == 0, $"{name}: {Libc.Describe(Libc.LastErrno)}");
                Assert.Equal(0, Libc.StatNoFollow(dir, name, out var st));
                Assert.Equal(mode, st.Mode & 0xFFFu);
            }

            Assert.Equal(-1, Libc.SetModeThroughDescriptor(dir, "link", 0x1FF));
            Assert.Equal(Libc.EOPNOTSUPP, Libc.LastErrno);
            Assert.Equal((UnixFileMode)0x1A4, File.GetUnixFileMode(scratch.Sub("target")));   // not followed

            Assert.Equal(-1, Libc.SetModeThroughDescriptor(dir, "missing", 0x1A4));
            Assert.Equal(Libc.ENOENT, Libc.LastErrno);
        }
        finally
        {
            Libc.Close(dir);
        }
    }
}
