using ActorSync.Tests.Support;
using ActorSync.Transport.Interop;
using Xunit;

namespace ActorSync.Tests.Fidelity;

/// <summary>
/// The receiver creates a small file with its final mode and skips the fchmod when creation surely gives every bit:
/// not when the umask would clear one, nor when a default ACL on DEST (which replaces the umask) would. Either way
/// every file must end with exactly its source's mode.
/// </summary>
public sealed class CreationModeTests
{
    private static readonly int[] Modes = [0x1A4 /*644*/, 0x180 /*600*/, 0x1ED /*755*/, 0x124 /*444*/, 0x100 /*400*/, 0x1B6 /*666*/,
        0x1FF /*777*/, 0x1A0 /*640*/, 0x80 /*200*/, 0x1C0 /*700*/, 0x16D /*555*/];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_file_ends_with_its_source_mode_whatever_the_umask_or_a_default_acl_would_do(bool defaultAcl)
    {
        using var scratch = new Scratch("modes");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        Directory.CreateDirectory(src);
        Directory.CreateDirectory(dst);
        for (int i = 0; i < Modes.Length; i++)
        {
            string path = Path.Join(src, $"m{i}.bin");
            RandomFile.Write(path, 100 + i, seed: i);
            File.SetUnixFileMode(path, (UnixFileMode)Modes[i]);
        }
        if (defaultAcl)
        {
            // user::rwx group::r-x other::--- as DEST's default ACL: a file created 0644 below it would be 0640.
            byte[] acl = [2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
            int fd = Libc.OpenDirectoryFollowing(dst);
            Assert.True(fd >= 0);
            int errno = Libc.WriteAttribute(fd, "system.posix_acl_default", acl);
            Libc.Close(fd);
            Assert.True(errno == 0, $"setting a default ACL on the scratch directory: {Libc.Describe(errno)}");
            Assert.Equal(0, Libc.OpenDirectoryFollowing(dst) is int dir and >= 0 ? CloseAnd(dir, Libc.BitsCreationKeeps(dir) is null ? 0 : 1) : -1);
        }
        else
        {
            int dir = Libc.OpenDirectoryFollowing(dst);
            uint? keeps = Libc.BitsCreationKeeps(dir);
            Libc.Close(dir);
            Assert.Equal(0x1FFu & ~(uint)Convert.ToInt32(File.ReadLines("/proc/self/status").First(l => l.StartsWith("Umask:")).Split(':')[1].Trim(), 8), keeps);
        }

        var (sent, received) = await Loopback.TransferAsync(src, dst);
        Assert.True(sent.ExitCode == 0 && received.ExitCode == 0, $"{sent.Error} / {received.Error}");
        for (int i = 0; i < Modes.Length; i++)
        {
            string path = Path.Join(dst, $"m{i}.bin");
            Assert.Equal((UnixFileMode)Modes[i], File.GetUnixFileMode(path));
            Assert.Equal(File.GetLastWriteTimeUtc(Path.Join(src, $"m{i}.bin")), File.GetLastWriteTimeUtc(path));
        }
    }

    private static int CloseAnd(int fd, int value)
    {
        Libc.Close(fd);
        return value;
    }
}
