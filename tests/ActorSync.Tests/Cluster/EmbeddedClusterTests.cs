using System.Diagnostics;
using System.Text;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Cluster;

/// <summary>examples/EmbeddedCluster: an application's own Akka.NET cluster (its own system name, seeds, plain TCP
/// remoting, split-brain resolver) with ActorSync's jobs added by WithActorSyncCluster; one member's own actor submits a
/// copy by message and hears its progress and outcome.</summary>
[Collection("cluster")]
public sealed class EmbeddedClusterTests : IDisposable
{
    private readonly Scratch _scratch = new("embedded-cluster");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
        _scratch.Dispose();
    }

    [Fact]
    public async Task An_application_cluster_with_actorsync_added_copies_a_tree_submitted_by_its_own_actor()
    {
        string src = _scratch.Sub("src"), dst = _scratch.Sub("dst"), key = _scratch.Sub("key");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 800, LargeFileBytes = 64 << 20 });
        File.WriteAllText(key, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        int seed = Cli.FreePort(), publisherPort = Cli.FreePort();

        var (receiver, receiverLog) = Start("--port", $"{seed}", "--seed", $"{seed}", "--roles", "receiver", "--secret-file", key);
        var (publisher, publisherLog) = Start("--port", $"{publisherPort}", "--seed", $"{seed}", "--roles", "sender", "--secret-file", key,
            "--job", src, dst);
        string output = await publisher.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(3));
        await publisher.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(publisher.ExitCode == 0, output + publisherLog);
        Assert.Contains(": done, exit 0,", output, StringComparison.Ordinal);
        Assert.Contains($"akka.tcp://DatasetFarm@127.0.0.1:{publisherPort}: ", output, StringComparison.Ordinal);   // per-member figures
        string log = publisherLog.ToString();
        Assert.Contains("[akka://DatasetFarm/user/publisher] job ", log, StringComparison.Ordinal);                // accepted, by its own actor
        Assert.Contains("[akka://DatasetFarm/user/publisher] progress: ", log, StringComparison.Ordinal);
        Assert.True(TreeComparer.Compare(src, dst).Identical);
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync")));

        receiver.StandardInput.Close();   // the other member leaves its cluster and exits
        await receiver.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(receiver.ExitCode == 0, receiverLog.ToString());
    }

    private (Process Process, StringBuilder Log) Start(params string[] args)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        string dll = Path.Join(Repository.Root(), "examples", "EmbeddedCluster", "bin", configuration, "net10.0", "EmbeddedCluster.dll");
        var psi = new ProcessStartInfo("dotnet")
            { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        var log = new StringBuilder();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                lock (log) log.AppendLine(line);
        };
        p.BeginErrorReadLine();
        return (p, log);
    }
}
