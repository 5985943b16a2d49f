using System.Diagnostics;
using ActorSync.Host.Cli.Ssh;
using Xunit;

namespace ActorSync.Tests.Ssh;

/// <summary>rsync's [USER@]HOST:PATH syntax, -e split as sh splits it, and remote arguments quoted so the remote shell
/// reads them back unchanged (checked with a real sh).</summary>
public sealed class RemoteSyntaxTests
{
    [Theory]
    [InlineData("host:/data/ds", "host", "host", "/data/ds")]
    [InlineData("user@host:/data/ds", "user@host", "host", "/data/ds")]
    [InlineData("user@host:", "user@host", "host", ".")]
    [InlineData("host:relative/dir", "host", "host", "relative/dir")]
    [InlineData("host:./9000", "host", "host", "./9000")]
    [InlineData("user@[::1]:/x", "user@[::1]", "::1", "/x")]
    [InlineData("gpu1:/a:b", "gpu1", "gpu1", "/a:b")]
    public void Remote_paths_parse_as_rsync_reads_them(string text, string destination, string host, string path)
    {
        Assert.True(RemotePath.TryParse(text, out var remote));
        Assert.Equal(new RemotePath(destination, host, path), remote);
    }

    [Theory]
    [InlineData("~/data", "data")]
    [InlineData("~", ".")]
    [InlineData("~/", ".")]
    [InlineData("/abs/~x", "/abs/~x")]
    public void A_home_relative_path_reaches_the_quoted_remote_command_as_a_relative_one(string path, string argument)
    {
        Assert.True(RemotePath.TryParse("host:" + path, out var remote));
        Assert.Equal(argument, remote.RemoteArgument);
    }

    [Theory]
    [InlineData("host:9000")]        // HOST:PORT: a running receiver
    [InlineData("./a:b")]            // a colon after a slash: local
    [InlineData("/data/x:y")]
    [InlineData("plain")]
    [InlineData(":/x")]
    [InlineData("-oProxyCommand=x:/y")] // would be an ssh option
    public void Other_arguments_are_not_remote(string text) => Assert.False(RemotePath.TryParse(text, out _));

    [Fact]
    public void Rsh_splits_like_sh()
    {
        Assert.Equal(["ssh", "-p", "2222", "-i", "my key", "-o", "A=b c", "x\"y"], ShellWords.Split("ssh -p 2222  -i 'my key' -o \"A=b c\" x\\\"y"));
        Assert.Throws<FormatException>(() => ShellWords.Split("ssh 'unterminated"));
    }

    [Theory]
    [InlineData("/plain/path")]
    [InlineData("with space")]
    [InlineData("it's")]
    [InlineData("$HOME `id` $(id) ; rm -rf / & | > <")]
    [InlineData("- *.tmp")]
    [InlineData("")]
    [InlineData("ünïcode\nnewline")]
    public void Quoted_arguments_reach_the_remote_shell_unchanged(string argument)
    {
        var psi = new ProcessStartInfo("sh", ["-c", "printf '%s' " + ShellWords.Quote(argument)]) { RedirectStandardOutput = true };
        using var sh = Process.Start(psi)!;
        string echoed = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();
        Assert.Equal(argument, echoed);
    }
}
