using System.Diagnostics;
using Xunit;

namespace ActorSync.Tests.Support;

/// <summary>
/// A throwaway sshd on 127.0.0.1 for the one-command copies: its own host and client keys, public-key login for the
/// user running the tests, nothing else. <see cref="Rsh"/> is the -e a test passes; <see cref="RemoteBin"/> runs
/// this build's CLI on the "remote" side.
/// </summary>
public sealed class TestSshd : IDisposable
{
    private readonly Process _sshd;
    private readonly string _dir;

    public TestSshd()
    {
        _dir = Path.Join(Path.GetTempPath(), $"actorsync-sshd-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Join(_dir, "host_key"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Join(_dir, "client_key"));
        File.Copy(Path.Join(_dir, "client_key.pub"), Path.Join(_dir, "authorized_keys"));
        Port = Cli.FreePort();
        // The privilege-separation directory sshd insists on (a container may not have it).
        Directory.CreateDirectory("/run/sshd");
        File.WriteAllText(Path.Join(_dir, "sshd_config"), $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {_dir}/host_key
            PidFile {_dir}/sshd.pid
            AuthorizedKeysFile {_dir}/authorized_keys
            UsePAM no
            StrictModes no
            PermitRootLogin yes
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UseDNS no
            PrintMotd no
            """);
        Assert.True(File.Exists("/usr/sbin/sshd"), "the ssh tests need /usr/sbin/sshd (openssh-server; .ci/run installs it)");
        _sshd = Process.Start(new ProcessStartInfo("/usr/sbin/sshd", ["-D", "-f", Path.Join(_dir, "sshd_config"), "-E", Path.Join(_dir, "sshd.log")]))!;
        Cli.WaitForListenerAsync(Port).GetAwaiter().GetResult();
        User = Environment.UserName;
    }

    public int Port { get; }
    public string User { get; }

    /// <summary>-e for actorsync: this sshd, its client key, no questions asked.</summary>
    public string Rsh => $"ssh -p {Port} -i {_dir}/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o IdentitiesOnly=yes";

    /// <summary>--remote-bin: this build's CLI.</summary>
    public static string RemoteBin => $"dotnet {Cli.Dll}";

    public string Log => File.Exists(Path.Join(_dir, "sshd.log")) ? File.ReadAllText(Path.Join(_dir, "sshd.log")) : "";

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }

    public void Dispose()
    {
        try { _sshd.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _sshd.WaitForExit();
        _sshd.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
