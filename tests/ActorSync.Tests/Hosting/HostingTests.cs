using System.Collections.Concurrent;
using System.Net;
using ActorSync.Engine;
using ActorSync.Hosting;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using ActorSync.Transport.Handshake;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorSync.Tests.Hosting;

/// <summary>The engine as a library in a Generic Host, configured from config/akka.hocon.</summary>
public sealed class HostingTests
{
    /// <summary>A host with its own HOCON on top and ActorSync's defaults as the fallback.</summary>
    private static IHost Build(string hostHocon)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorSync(Akka.Configuration.ConfigurationFactory.ParseString(hostHocon).WithFallback(ActorSyncConfig.Default));
        return builder.Build();
    }

    [Fact]
    public async Task AddActorSync_binds_the_hosts_hocon_over_the_defaults_and_the_engine_transfers()
    {
        using var host = Build("actorsync { transfer.streams = 3, memory.buffer-memory = 8MiB }");
        var engine = host.Services.GetRequiredService<ActorSyncEngine>();
        Assert.Equal(3, engine.Options.Streams);
        Assert.Equal(256 << 10, engine.Options.ChunkSize);
        Assert.Equal(8L << 20, engine.Options.BufferMemory);
        Assert.Equal(TimeSpan.FromSeconds(10), engine.Options.HandshakeTimeout);

        using var scratch = new Scratch("hosted");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 100, LargeFileBytes = 1 << 20 });
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var receiving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret);
        var sent = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, Loopback.Secret);
        Assert.Equal(0, sent.ExitCode);
        Assert.Equal(3, sent.Streams);
        Assert.Equal(0, (await receiving)!.ExitCode);
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    [Fact]
    public void A_bad_value_names_its_key()
    {
        using var host = Build("actorsync.transfer.chunk-size = huge");
        var e = Assert.Throws<FormatException>(() => host.Services.GetRequiredService<ActorSyncEngine>());
        Assert.Contains("actorsync.transfer.chunk-size", e.Message);
    }

    [Fact]
    public async Task Serve_mode_takes_transfer_after_transfer_and_outlives_a_wrong_secret()
    {
        using var scratch = new Scratch("serve");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 50, LargeFileBytes = 1 << 20 });
        var options = Loopback.Options(streams: 2);
        var engine = new ActorSyncEngine(options);
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var stop = new CancellationTokenSource();
        var done = new ConcurrentQueue<TransferSummary>();
        var serving = engine.ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: true, options, onTransfer: done.Enqueue, cancellationToken: stop.Token);

        var intruder = await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", port, SharedSecret.FromText("wrong-wrong-wrong-wrong-wrong", "test"), options);
        Assert.Equal(ExitCodes.AuthenticationFailed, intruder.ExitCode);
        Assert.Equal(0, (await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", port, Loopback.Secret, options)).ExitCode);
        await File.WriteAllTextAsync(Path.Join(scratch.Sub("src"), "added-later"), "second transfer");
        Assert.Equal(0, (await engine.SendAsync(scratch.Sub("src"), "127.0.0.1", port, Loopback.Secret, options)).ExitCode);

        for (int i = 0; i < 600 && done.Count < 2; i++) await Task.Delay(50);
        Assert.Equal(2, done.Count);
        Assert.All(done, s => Assert.Equal(0, s.ExitCode));
        Assert.False(serving.IsCompleted);
        await stop.CancelAsync();
        Assert.Null(await serving.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }
}
