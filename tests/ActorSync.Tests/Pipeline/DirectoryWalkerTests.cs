using ActorSync.Engine;
using ActorSync.Sending;
using ActorSync.Tests.Support;
using Akka.Actor;
using Akka.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Pipeline;

/// <summary>
/// The walker's protocols with Akka's TestKit: offer credits, work pulling by the readers, the drain at the end, and
/// memory that follows the tree's depth. The walker runs on the calling thread (TestActorRef), so after a Tell it
/// has gone as far as its credits let it: what it did not send, it will not send without a new event.
/// </summary>
public sealed class DirectoryWalkerTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(2);

    private TestActorRef<DirectoryWalker> Walker(string root, TransferOptions options, TransferStats? stats = null) =>
        ActorOfAsTestActorRef<DirectoryWalker>(
            Props.Create(() => new DirectoryWalker(root, new WalkResult(), stats ?? new TransferStats(), options, NullLogger.Instance, CancellationToken.None)),
            TestActor);

    private static string FlatTree(Scratch scratch, int files)
    {
        string root = scratch.Sub("src");
        Directory.CreateDirectory(root);
        for (int i = 0; i < files; i++) File.WriteAllBytes(Path.Join(root, $"f{i:D5}"), [1]);
        return root;
    }

    [Fact]
    public void Offers_stop_at_the_credits_and_each_answer_lets_exactly_that_many_more_go()
    {
        using var scratch = new Scratch("walk-credits");
        string root = FlatTree(scratch, ManifestExchange.Window + 300);
        var manifest = CreateTestProbe();
        var walker = Walker(root, new TransferOptions { Readers = 1 });

        walker.Tell(new DirectoryWalker.Start(manifest.Ref));
        var ids = new HashSet<ulong>();
        Assert.Equal(ManifestExchange.Window, Offered(manifest, ids));

        walker.Tell(new DirectoryWalker.Answered(100, null));
        Assert.Equal(100, Offered(manifest, ids));

        walker.Tell(new DirectoryWalker.Answered(ManifestExchange.Window, null));
        // The walk is over: the manifest is told to send its last batch (the Flush that ends the count) and to say
        // when all offers are answered.
        Assert.Equal(200, Offered(manifest, ids));
        manifest.ExpectMsg<ManifestMessage.WhenDrained>(Long);
    }

    /// <summary>Files offered since the last look (offers come a slice at a time), each a new one; a Flush (the walk's
    /// end) stops the count.</summary>
    private static int Offered(TestProbe manifest, HashSet<ulong> ids)
    {
        int n = 0;
        while (manifest.HasMessages)
        {
            var m = manifest.ReceiveOne(TimeSpan.Zero);
            if (m is ManifestMessage.Flush) return n;
            var o = Assert.IsType<ManifestMessage.Offer>(m);
            foreach (var work in o.Files) Assert.True(ids.Add(work.FileId));
            n += o.Files.Length;
        }
        return n;
    }

    [Fact]
    public void The_walk_runs_ahead_of_the_readers_by_the_walk_ahead_and_no_further()
    {
        using var scratch = new Scratch("walk-ahead");
        string root = scratch.Sub("src");
        for (int i = 0; i < 2000; i++) Directory.CreateDirectory(Path.Join(root, $"d{i:D4}"));
        var manifest = CreateTestProbe();
        var reader = CreateTestProbe();
        var walker = Walker(root, new TransferOptions { Readers = 1, WalkAhead = 100 });

        walker.Tell(new DirectoryWalker.Start(manifest.Ref));
        Assert.Equal(100, walker.UnderlyingActor.MaxQueued);

        // A reader that pulls gets batches; the walk goes on only as far as the pulls make room.
        int seen = 0;
        while (seen < 2000)
        {
            walker.Tell(ReadProtocol.Pull.Instance, reader.Ref);
            var work = reader.ExpectMsg<ReadProtocol.Work>(Long);
            Assert.All(work.Items, w => Assert.Equal(EntryKind.Directory, w.Kind));
            seen += work.Items.Length;
        }
        Assert.Equal(2000, seen);
        Assert.True(walker.UnderlyingActor.MaxQueued <= 100 + EntriesPerTurnSlack, $"queued {walker.UnderlyingActor.MaxQueued}");

        // No files, so the manifest has nothing to wait for: once it says so, the idle reader is drained, then the coordinator told.
        manifest.ExpectMsg<ManifestMessage.Flush>(Long);
        manifest.ExpectMsg<ManifestMessage.WhenDrained>(Long);
        walker.Tell(ReadProtocol.Pull.Instance, reader.Ref);
        reader.ExpectMsg<ReadProtocol.Flush>(Long);
        walker.Tell(new DirectoryWalker.ManifestDrained(0));
        reader.ExpectMsg<ReadProtocol.Drain>(Long);
        ExpectNoMsg(TimeSpan.Zero);
        walker.Tell(ReadProtocol.Drained.Instance, reader.Ref);
        ExpectMsg<SendEvent.ReadingDone>(Long);
    }

    /// <summary>A turn checks the walk-ahead before each entry: it can overshoot by nothing.</summary>
    private const int EntriesPerTurnSlack = 0;

    /// <summary>
    /// The walk's memory follows the depth of the tree, not its width. Before, it pushed every subdirectory of a
    /// directory onto a stack of pending paths before visiting any: 1M sibling directories held 1M strings.
    /// </summary>
    [Fact]
    public void Twenty_thousand_sibling_directories_are_walked_holding_two_levels()
    {
        using var scratch = new Scratch("wide");
        string root = scratch.Sub("src");
        const int Siblings = 20_000;
        for (int i = 0; i < Siblings; i++)
        {
            string dir = Path.Join(root, $"d{i:D5}");
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Join(dir, "f"), [1]);
        }
        var stats = new TransferStats();
        var manifest = CreateTestProbe();
        var reader = CreateTestProbe();
        var walker = Walker(root, new TransferOptions { Readers = 1 }, stats);

        walker.Tell(new DirectoryWalker.Start(manifest.Ref));
        int directories = 0, offers = 0, answered = 0;
        while (!stats.WalkComplete)
        {
            while (manifest.HasMessages)
            {
                if (manifest.ReceiveOne(Long) is ManifestMessage.Offer o) offers += o.Files.Length;
            }
            walker.Tell(new DirectoryWalker.Answered(offers - answered, null));
            answered = offers;
            walker.Tell(ReadProtocol.Pull.Instance, reader.Ref);
            if (reader.ReceiveOne(Long) is ReadProtocol.Work work) directories += work.Items.Count(w => w.Kind == EntryKind.Directory);
        }
        while (manifest.HasMessages)
        {
            if (manifest.ReceiveOne(Long) is ManifestMessage.Offer o) offers += o.Files.Length;
        }
        while (directories < Siblings)
        {
            walker.Tell(ReadProtocol.Pull.Instance, reader.Ref);
            if (reader.ReceiveOne(Long) is ReadProtocol.Work work) directories += work.Items.Count(w => w.Kind == EntryKind.Directory);
        }

        Assert.Equal((Siblings, Siblings), (directories, offers));
        Assert.Equal(2, walker.UnderlyingActor.MaxLevels);
    }
}
