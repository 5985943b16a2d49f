using System.Diagnostics;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Records;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.KernelTls;

[CollectionDefinition("ktls-vm", DisableParallelization = true)]
public sealed class KtlsVmCollection;

/// <summary>
/// Kernel TLS needs a kernel with the tls module; this machine's has none, so the suite
/// (tests/ActorSync.KtlsSuite) runs inside the qemu guest of tests/ktls-vm. If the VM cannot start, this test
/// fails and says why: it never passes without having run the kernel cases.
/// </summary>
[Collection("ktls-vm")]
public sealed class KtlsVmTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kernel_tls_suite_passes_inside_the_ktls_vm()
    {
        string root = Repository.Root();
        string suite = SuiteDll(root);
        Assert.True(File.Exists(suite), $"the suite is not built: {suite}");
        string runner = Path.Join(root, "tests", "ktls-vm", "run-in-ktls-vm.sh");
        var psi = new ProcessStartInfo(runner) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-v", "--auto", "--timeout", "900", "dotnet", suite }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(20));
        string text = await stdout, errors = await stderr;
        output.WriteLine(text);
        output.WriteLine(errors);
        Assert.False(p.ExitCode is 124 or 125, $"the kTLS VM could not run the suite (exit {p.ExitCode}): {errors}");
        Assert.Contains(" passed, 0 failed", text);
        Assert.Equal(0, p.ExitCode);
        foreach (string expected in new[] { "PASS  kernel -> kernel", "PASS  kernel -> user", "PASS  user -> kernel", "PASS  a record tampered", "PASS  the edge tree kernel -> kernel" })
            Assert.Contains(expected, text);
    }

    /// <summary>The suite's build output in the same configuration as this test assembly.</summary>
    private static string SuiteDll(string root)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        return Path.Join(root, "tests", "ActorSync.KtlsSuite", "bin", configuration, "net10.0", "ActorSync.KtlsSuite.dll");
    }
}

/// <summary>On this machine (no kTLS) the modes must say so; on a kTLS machine they must use it.</summary>
public sealed class KernelTlsModeTests
{
    [Fact]
    public async Task Tls_kernel_is_exit_2_with_the_reason_where_the_kernel_cannot_and_kernel_crypto_where_it_can()
    {
        using var scratch = new Scratch("tlsmode");
        Directory.CreateDirectory(scratch.Sub("src"));
        await File.WriteAllTextAsync(Path.Join(scratch.Sub("src"), "a"), "a");
        string? unavailable = SecureConnection.KernelTlsUnavailability(CipherSuite.Aes128Gcm);
        var options = Loopback.Options(streams: 2) with { Tls = TlsMode.Kernel };
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), options);
        if (unavailable is not null)
        {
            Assert.Equal(ExitCodes.Usage, sent.ExitCode);
            Assert.Equal(ExitCodes.Usage, received.ExitCode);
            Assert.Contains("kernel TLS unavailable", sent.Error);
            Assert.Contains(unavailable, sent.Error);
            var cli = await Cli.RunAsync("send", scratch.Sub("src"), "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdefabcdef", "--tls", "kernel");
            Assert.Equal(ExitCodes.Usage, cli.ExitCode);
            Assert.Contains("no tls module", cli.Stderr);
        }
        else
        {
            Assert.Equal(0, sent.ExitCode);
            Assert.Equal("kernel", sent.Crypto);
            Assert.Equal("kernel", received.Crypto);
        }
    }

    [Fact]
    public async Task Auto_falls_back_to_userspace_here_and_reports_it()
    {
        using var scratch = new Scratch("tlsauto");
        ActorSync.Host.Demo.TreeGenerator.Generate(scratch.Sub("src"), new ActorSync.Host.Demo.TreeSpec { SmallFiles = 20, LargeFileBytes = 1 << 20, Oddities = false });
        var (sent, received) = await Loopback.TransferAsync(scratch.Sub("src"), scratch.Sub("dst"), Loopback.Options(streams: 2) with { Tls = TlsMode.Auto });
        Assert.Equal(0, sent.ExitCode);
        string expected = SecureConnection.KernelTlsUnavailability(CipherSuite.Aes128Gcm) is null ? "kernel" : "user";
        Assert.Equal(expected, sent.Crypto);
        Assert.Equal(expected, received.Crypto);
    }
}
