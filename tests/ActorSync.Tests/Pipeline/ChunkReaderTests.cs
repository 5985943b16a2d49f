using System.Buffers.Binary;
using ActorSync.Engine;
using ActorSync.Sending;
using ActorSync.Tests.Support;
using ActorSync.Transport.Frames;
using Akka.Actor;
using Akka.Routing;
using Akka.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Xunit.Abstractions;

namespace ActorSync.Tests.Pipeline;

/// <summary>
/// A reader's backpressure is the buffer pool, and it waits for a buffer as a message, never on a thread: with a
/// pool of one buffer, a probe standing in for the stream gives each chunk's buffer back, and the reader goes on
/// exactly then, where it stopped.
/// </summary>
public sealed class ChunkReaderTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private const int BufferSize = 64 << 10;

    private static ReadWork FileWork(string root, string name, int size, ulong id)
    {
        string path = Path.Join(root, name);
        var bytes = new byte[size];
        new Random((int)id).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc));
        return new ReadWork(EntryKind.File, name, path, size, 0x81a4, new FileTime(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), 0), id, null);
    }

    private IActorRef Reader(BufferPool pool, TestProbe stream, TestProbe walker, string root) =>
        Sys.ActorOf(Props.Create(() => new ChunkReader(pool, new Router(new RoundRobinRoutingLogic(), new ActorRefRoutee(stream.Ref)), walker.Ref,
            new TransferStats(), new SourceTree(root), false, false, NullLogger.Instance)));

    [Fact]
    public void A_reader_finding_the_pool_empty_waits_as_a_message_and_goes_on_with_each_buffer_given_back()
    {
        using var scratch = new Scratch("reader-pool");
        string root = scratch.Sub("src");
        Directory.CreateDirectory(root);
        // a: packed; b: bigger than a buffer, so ranges of a buffer each; c: packed behind b.
        ReadWork[] items = [FileWork(root, "a", 1000, 1), FileWork(root, "b", 150_000, 2), FileWork(root, "c", 10, 3)];
        var pool = new BufferPool(BufferSize, 1);
        Assert.True(pool.TryRent(out byte[]? held));
        var stream = CreateTestProbe();
        var walker = CreateTestProbe();
        var reader = Reader(pool, stream, walker, root);
        walker.ExpectMsg<ReadProtocol.Pull>(Long);

        reader.Tell(new ReadProtocol.Work(items));
        AwaitCondition(() => pool.Waiters == 1, Long);
        Assert.False(stream.HasMessages);

        // Each buffer given back lets exactly one chunk out: the reader holds at most the pool's one buffer.
        var payload = new Dictionary<ulong, long>();
        pool.Return(held!);
        int chunks = 0;
        while (true)
        {
            var chunk = stream.ExpectMsg<SenderCommand>(Long).Chunk;
            chunks++;
            Count(chunk, payload);
            if (payload.GetValueOrDefault(2UL) == 150_000) { pool.Return(chunk.Buffer); break; }
            AwaitCondition(() => pool.Waiters == 1, Long);
            Assert.False(stream.HasMessages);
            pool.Return(chunk.Buffer);
        }
        // c is packed in the buffer the reader holds now; the batch done, it asks for more work, and the drain sends c.
        walker.ExpectMsg<ReadProtocol.Pull>(Long);
        reader.Tell(ReadProtocol.Drain.Instance, walker.Ref);
        Count(stream.ExpectMsg<SenderCommand>(Long).Chunk, payload);
        walker.ExpectMsg<ReadProtocol.Drained>(Long);
        Assert.Equal(new Dictionary<ulong, long> { [1] = 1000, [2] = 150_000, [3] = 10 }, payload);
        Assert.True(chunks >= 4, $"{chunks} chunks");   // a alone, then b in at least three ranges
        Assert.Equal(1, pool.Created);
    }

    [Fact]
    public void A_reader_stopped_while_owed_a_buffer_gives_up_its_place_and_no_buffer_is_lost()
    {
        using var scratch = new Scratch("reader-stop");
        string root = scratch.Sub("src");
        Directory.CreateDirectory(root);
        var pool = new BufferPool(BufferSize, 1);
        Assert.True(pool.TryRent(out byte[]? held));
        var stream = CreateTestProbe();
        var walker = CreateTestProbe();
        var reader = Reader(pool, stream, walker, root);
        walker.ExpectMsg<ReadProtocol.Pull>(Long);
        reader.Tell(new ReadProtocol.Work([FileWork(root, "a", 100, 1)]));
        AwaitCondition(() => pool.Waiters == 1, Long);

        Watch(reader);
        Sys.Stop(reader);
        ExpectTerminated(reader, Long);
        Assert.Equal(0, pool.Waiters);
        pool.Return(held!);
        Assert.True(pool.TryRent(out _));
        Assert.False(stream.HasMessages);
    }

    /// <summary>Adds up the data frames' bytes per file in a chunk of frames.</summary>
    private static void Count(Chunk chunk, Dictionary<ulong, long> payload)
    {
        var span = chunk.Buffer.AsSpan(0, chunk.Length);
        while (span.Length > 0)
        {
            int body = (int)BinaryPrimitives.ReadUInt32BigEndian(span[1..]);
            if ((FrameType)span[0] == FrameType.Data)
            {
                ulong id = BinaryPrimitives.ReadUInt64BigEndian(span[FrameLimits.HeaderLength..]);
                payload[id] = payload.GetValueOrDefault(id) + body - FrameLimits.DataPrefixLength;
            }
            span = span[(FrameLimits.HeaderLength + body)..];
        }
    }
}
