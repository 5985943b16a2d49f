using ActorSync.Actors;
using ActorSync.Engine;
using ActorSync.Sending;
using ActorSync.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace ActorSync.Tests.Actors;

/// <summary>
/// The walker's memory follows the depth of the tree, not its width. Before, it pushed every subdirectory of a
/// directory onto a stack of pending paths before visiting any: 1M sibling directories held 1M strings.
/// </summary>
public sealed class WalkerMemoryTests
{
    [Fact]
    public async Task Twenty_thousand_sibling_directories_are_walked_holding_two_levels()
    {
        using var scratch = new Scratch("wide");
        string root = scratch.Sub("src");
        Directory.CreateDirectory(root);
        const int Siblings = 20_000;
        for (int i = 0; i < Siblings; i++)
        {
            string dir = Path.Join(root, $"d{i:D5}");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Join(dir, "f"), [1]);
        }
        await using var system = new ActorSystem("walk-test", NullLoggerFactory.Instance);
        int directories = 0, offers = 0, problems = 0;
        var readers = system.Spawn(new Props<ReadWork> { Factory = () => new FuncActor<ReadWork>(w => { if (w.Kind == EntryKind.Directory) directories++; }), Name = "readers", MailboxCapacity = 1024 });
        var manifest = system.Spawn(new Props<ManifestMessage> { Factory = () => new FuncActor<ManifestMessage>(_ => offers++), Name = "manifest", MailboxCapacity = 1024 });
        var coordinator = system.Spawn(new Props<SendEvent> { Factory = () => new FuncActor<SendEvent>(_ => problems++), Name = "coordinator", MailboxCapacity = 1024 });
        using var window = new SemaphoreSlim(int.MaxValue);
        DirectoryWalker? walker = null;
        var stats = new TransferStats();
        var actor = system.Spawn(new Props<DirectoryWalker.Start>
        {
            Factory = () => walker = new DirectoryWalker(root, readers, manifest, window, coordinator, new WalkResult(), stats, new TransferOptions(), CancellationToken.None),
            Name = "walker",
            MailboxCapacity = 1,
        });
        await actor.TellAsync(default);
        actor.Complete();
        await actor.Completion.WaitAsync(TimeSpan.FromMinutes(2));
        readers.Complete();
        manifest.Complete();
        coordinator.Complete();
        await Task.WhenAll(readers.Completion, manifest.Completion, coordinator.Completion).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal((Siblings, Siblings, 0), (directories, offers, problems));
        Assert.True(stats.WalkComplete);
        Assert.Equal(2, walker!.MaxLevels);
    }
}
