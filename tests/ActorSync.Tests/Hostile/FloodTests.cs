using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// An authenticated peer that floods the receiver (the real CLI, in its own process, so its peak RSS is its
/// own): whatever it sends, the receiver's memory stays bounded, by limits that stop it early or by pooled
/// buffers that carry the bytes. Without the limits the first two floods would hold gigabytes.
/// </summary>
public sealed class FloodTests
{
    private const string SecretText = "8d1f0c2b7a6e5d4c3b2a190817263544f5e6d7c8b9a0";   // Loopback.Secret's
    private const long MemoryBound = 300L << 20;
    private static readonly FileTime T = new(1_700_000_000, 0);

    /// <summary>Frames are batched into sends of about this much, so the flood is fast.</summary>
    private const int Batch = 1 << 20;

    /// <summary>Encodes one frame at the start of the span; returns its length.</summary>
    private delegate int Encode(Span<byte> dest);

    private static async Task<(Cli.Result Process, JsonElement Summary)> FloodAsync(string destination, Func<Func<Encode, ValueTask>, ValueTask> flood)
    {
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", destination, "--listen", $"127.0.0.1:{port}", "--json"], new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = SecretText });
        await Cli.WaitForListenerAsync(port);
        await using (var channel = await SecureConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(10), CancellationToken.None))
        {
            var buffer = new byte[Batch + (17 << 20)];
            int used = FrameWriter.TransferHeader(buffer, new TransferHeaderFrame(Guid.NewGuid(), 0, 1, 0x1301, 0));
            try
            {
                await flood(async write =>
                {
                    used += write(buffer.AsSpan(used));
                    if (used >= Batch) { await channel.SendAsync(buffer.AsMemory(0, used)); used = 0; }
                });
                await channel.SendAsync(buffer.AsMemory(0, used));
                // A flood that was legal ends like a transfer: wait for the receiver's last word, then close.
                var reader = new FrameReader(channel);
                using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                while (await reader.ReadNextAsync(patience.Token) && reader.Type is not (FrameType.DoneAck or FrameType.Error)) await reader.ReadBodyAsync(patience.Token);
                await channel.CloseAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or ProtocolException) { /* the receiver hung up on us, as it should */ }
        }
        var result = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(2));
        using var json = JsonDocument.Parse(result.Stdout);
        return (result, json.RootElement.Clone());
    }

    private static void AssertBounded(JsonElement summary) =>
        Assert.InRange(summary.GetProperty("peak_rss_bytes").GetInt64(), 1, MemoryBound);

    [Fact]
    public async Task Files_announced_by_the_hundred_thousand_and_never_finished_are_stopped_at_the_in_progress_limit()
    {
        using var scratch = new Scratch("flood-headers");
        // 4 KiB paths: 200,000 of them would be 800 MB of frames and, kept, over 1.6 GB of strings and as many fds.
        string longPath = string.Join('/', Enumerable.Range(0, 16).Select(i => new string((char)('a' + i), 250)));
        var (process, summary) = await FloodAsync(scratch.Sub("dst"), async send =>
        {
            for (ulong id = 1; id <= 200_000; id++)
            {
                ulong fileId = id;
                await send(b => FrameWriter.FileHeader(b, new FileHeaderFrame(fileId, longPath[..^7] + fileId.ToString("D7"), 10, 0x1A4, T)));
            }
        });
        Assert.True(process.ExitCode == ExitCodes.ProtocolViolation, process.Stderr);
        Assert.Contains("more than 4096 files announced and not finished at once", summary.GetProperty("error").GetString());
        AssertBounded(summary);
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync", "tmp")), "temporaries left behind");
    }

    [Fact]
    public async Task A_file_sent_in_a_million_one_byte_pieces_is_stopped_at_the_fragment_limit()
    {
        using var scratch = new Scratch("flood-pieces");
        var (process, summary) = await FloodAsync(scratch.Sub("dst"), async send =>
        {
            await send(b => FrameWriter.FileHeader(b, new FileHeaderFrame(1, "huge.bin", 1L << 40, 0x1A4, T)));
            for (long i = 0; i < 1_000_000; i++)
            {
                long offset = 2 * i;
                await send(b => { int h = FrameWriter.DataHeader(b, 1, offset, 1); b[h] = 0x41; return h + 1; });
            }
        });
        Assert.True(process.ExitCode == ExitCodes.ProtocolViolation, process.Stderr);
        Assert.Contains("more than 4096 separate pieces", summary.GetProperty("error").GetString());
        AssertBounded(summary);
    }

    [Fact]
    public async Task A_directory_frame_repeated_a_million_times_costs_disk_not_memory()
    {
        using var scratch = new Scratch("flood-dirs");
        string name = new('d', 255);
        var (process, summary) = await FloodAsync(scratch.Sub("dst"), async send =>
        {
            for (int i = 0; i < 1_000_000; i++) await send(b => FrameWriter.Directory(b, new DirectoryFrame(name, 0x1ED, T)));
            await send(b => FrameWriter.Done(b, new TransferTotals(0, 1, 0, 0, 0)));
        });
        // 280 MB of frames; kept as strings in memory they were over 550 MB.
        Assert.True(process.ExitCode == ExitCodes.ProtocolViolation, process.Stderr);
        Assert.Contains("received more entries than the sender announced", summary.GetProperty("error").GetString());
        AssertBounded(summary);
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync", "tmp")), "the metadata log was left behind");
    }

    [Fact]
    public async Task Data_frames_of_the_largest_allowed_size_go_through_pooled_buffers_not_frame_sized_ones()
    {
        using var scratch = new Scratch("flood-frames");
        const int frame = FrameLimits.MaxDataBody - FrameLimits.DataPrefixLength;
        const int frames = 32;
        var (process, summary) = await FloodAsync(scratch.Sub("dst"), async send =>
        {
            await send(b => FrameWriter.FileHeader(b, new FileHeaderFrame(1, "big.bin", (long)frame * frames, 0x1A4, T)));
            for (int i = 0; i < frames; i++)
            {
                long offset = (long)frame * i;
                await send(b => { int h = FrameWriter.DataHeader(b, 1, offset, frame); b.Slice(h, frame).Fill((byte)offset); return h + frame; });
            }
            await send(b => FrameWriter.Done(b, new TransferTotals(1, 0, 0, (long)frame * frames, 0)));
        });
        Assert.True(process.ExitCode == ExitCodes.Success, process.Stderr);
        Assert.Equal((long)frame * frames, new FileInfo(Path.Join(scratch.Sub("dst"), "big.bin")).Length);
        AssertBounded(summary);
    }
}
