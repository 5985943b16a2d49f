using System.Net.Sockets;
using System.Text.Json;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Cluster;

/// <summary>Cluster tests run alone: several node processes on 2 cores beside the rest of the suite would starve their
/// failure detectors, which is not what these tests are about.</summary>
[CollectionDefinition("cluster", DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>`actorsync node` processes on 127.0.0.1 forming a cluster over mutual TLS, seen by `actorsync cluster status`.</summary>
[Collection("cluster")]
public sealed class ClusterNodeTests : IDisposable
{
    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(60);
    private readonly Scratch _scratch = new("cluster");
    private readonly List<NodeProcess> _nodes = [];

    public void Dispose()
    {
        foreach (var n in _nodes) n.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task Three_nodes_form_a_cluster_that_status_lists_and_a_node_stopped_by_SIGTERM_leaves_it()
    {
        string key = Key("key");
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0], ports[1]);
        var n1 = Node("n1", ports[0], "sender", key, seeds);
        var n2 = Node("n2", ports[1], "receiver", key, seeds);
        var n3 = Node("n3", ports[2], "both", key, seeds);
        foreach (var n in _nodes)
            foreach (int p in ports)
                await n.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{p}");

        var status = await Cli.RunAsync("cluster", "status", "--cluster", $"127.0.0.1:{ports[1]}", "--secret-file", key, "--json");
        Assert.True(status.ExitCode == 0, status.Stderr);
        var members = JsonDocument.Parse(status.Stdout).RootElement.GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("address").GetString()!, m => m);
        Assert.Equal(3, members.Count);
        foreach (var (port, roles) in new[] { (ports[0], "sender"), (ports[1], "receiver"), (ports[2], "receiver,sender") })
        {
            var m = members[$"akka.ssl.tcp://actorsync@127.0.0.1:{port}"];
            Assert.Equal("Up", m.GetProperty("status").GetString());
            Assert.True(m.GetProperty("reachable").GetBoolean());
            Assert.Equal(roles, string.Join(",", m.GetProperty("roles").EnumerateArray().Select(r => r.GetString())));
        }

        n3.Signal(15);
        Assert.Equal(0, await n3.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await n1.WaitForLineAsync(Formation, "member removed", $"@127.0.0.1:{ports[2]}");
        var after = await Cli.RunAsync("cluster", "status", "--cluster", $"127.0.0.1:{ports[0]}", "--secret-file", key);
        Assert.True(after.ExitCode == 0, after.Stderr);
        Assert.Contains("2 members", after.Stderr);
        Assert.DoesNotContain($"@127.0.0.1:{ports[2]}", after.Stderr);
    }

    [Fact]
    public async Task Without_the_secret_a_process_can_neither_join_nor_ask_and_garbage_on_the_port_harms_nothing()
    {
        string key = Key("key"), other = Key("other");
        int[] ports = [Cli.FreePort(), Cli.FreePort(), Cli.FreePort()];
        var seeds = Seeds(ports[0]);
        var n1 = Node("n1", ports[0], "both", key, seeds);
        var n2 = Node("n2", ports[1], "both", key, seeds);
        await n1.WaitForLineAsync(Formation, "member up", $"@127.0.0.1:{ports[1]}");

        // A node with another secret asks n1 to let it join: the TLS handshake fails, and the intruder (Akka.Remote
        // stops a system whose outbound handshake fails) exits 3 saying why.
        var intruder = Node("intruder", ports[2], "both", other, seeds);
        Assert.Equal(3, await intruder.WaitForExitAsync(Formation));
        Assert.Contains("do not hold the same cluster secret", intruder.Log);
        // Raw bytes on the cluster port are not TLS: the connection is dropped, and the node goes on.
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync("127.0.0.1", ports[0]);
            await raw.GetStream().WriteAsync(new byte[4096]);
            // Closed (FIN) or reset (RST, when unread bytes were left behind): dropped either way.
            byte[] one = new byte[1];
            try { Assert.Equal(0, await raw.GetStream().ReadAsync(one).AsTask().WaitAsync(TimeSpan.FromSeconds(30))); }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset }) { }
        }

        var status = await Cli.RunAsync("cluster", "status", "--cluster", $"127.0.0.1:{ports[0]}", "--secret-file", key, "--json");
        Assert.True(status.ExitCode == 0, status.Stderr);
        var addresses = JsonDocument.Parse(status.Stdout).RootElement.GetProperty("members").EnumerateArray()
            .Select(m => m.GetProperty("address").GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { $"akka.ssl.tcp://actorsync@127.0.0.1:{ports[0]}", $"akka.ssl.tcp://actorsync@127.0.0.1:{ports[1]}" }.Order(StringComparer.Ordinal), addresses);
        Assert.DoesNotContain("member up", intruder.Log);
        // One line per refusal, not Akka.Remote's stack traces.
        await n1.WaitForLineAsync(Formation, "Rejected incoming connection");
        Assert.DoesNotContain("   at ", n1.Log);
        Assert.DoesNotContain("   at ", intruder.Log);

        var refused = await Cli.RunAsync("cluster", "status", "--cluster", $"127.0.0.1:{ports[0]}", "--secret-file", other);
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("does not hold this cluster's secret", refused.Stderr);
    }

    [Fact]
    public async Task Status_of_an_address_where_nothing_listens_is_exit_1_and_bad_arguments_exit_2()
    {
        string key = Key("key");
        int port = Cli.FreePort();
        var none = await Cli.RunAsync("cluster", "status", "--cluster", $"127.0.0.1:{port}", "--secret-file", key);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains($"cannot reach a node at 127.0.0.1:{port}", none.Stderr);

        var byName = await Cli.RunAsync("node", "--listen", $"localhost:{port}", "--secret-file", key);
        Assert.Equal(2, byName.ExitCode);
        Assert.Contains("needs an IP address", byName.Stderr);
        var role = await Cli.RunAsync("node", "--listen", $"127.0.0.1:{port}", "--role", "relay", "--secret-file", key);
        Assert.Equal(2, role.ExitCode);
        Assert.Contains("--role \"relay\"", role.Stderr);
        var noSecret = await Cli.RunAsync("node", "--listen", $"127.0.0.1:{port}");
        Assert.Equal(2, noSecret.ExitCode);
        Assert.Contains("no secret", noSecret.Stderr);
    }

    private string Key(string name)
    {
        string path = _scratch.Sub(name);
        File.WriteAllText(path, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        return path;
    }

    private static string[] Seeds(params int[] ports) => [.. ports.SelectMany(p => new[] { "--seed", $"127.0.0.1:{p}" })];

    private NodeProcess Node(string name, int port, string role, string key, string[] seeds)
    {
        var node = new NodeProcess(name, ["node", "--listen", $"127.0.0.1:{port}", "--role", role, "--secret-file", key, .. seeds]);
        _nodes.Add(node);
        return node;
    }
}
