using System.Net;
using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// A peer that knows the secret and then misbehaves: every crafted frame sequence must end the transfer with a
/// protocol error (exit 4) and leave nothing under DEST, and paths must never leave DEST.
/// </summary>
public sealed class HostilePeerTests
{
    private static readonly FileTime T = new(1_700_000_000, 0);

    private static Func<byte[], int> Header(ulong id, string path, long size) => b => FrameWriter.FileHeader(b, new FileHeaderFrame(id, path, size, 0x1A4, T));
    private static Func<byte[], int> Data(ulong id, long offset, int length) => b =>
    {
        int h = FrameWriter.DataHeader(b, id, offset, length);
        b.AsSpan(h, length).Fill(0x41);
        return h + length;
    };
    private static Func<byte[], int> Done(long files, long skipped = 0) => b => FrameWriter.Done(b, new TransferTotals(files, 0, 0, 0, skipped));
    private static Func<byte[], int> Raw(params byte[] bytes) => b => { bytes.CopyTo(b, 0); return bytes.Length; };

    public static TheoryData<string, byte[]> ProtocolViolations => new()
    {
        { "unknown frame type", Frames(Raw(0x7F, 0, 0, 0, 0)) },
        { "a metadata frame declaring 2 GiB", Frames(Raw((byte)FrameType.Directory, 0x7F, 0xFF, 0xFF, 0xFF)) },
        { "data for a file never announced", Frames(Data(99, 0, 10)) },
        { "data past the declared size", Frames(Header(1, "a", 10), Data(1, 8, 5)) },
        { "a negative (overflowing) offset", Frames(Header(1, "a", 10), Raw((byte)FrameType.Data, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0x41)) },
        { "one file id with two different headers", Frames(Header(1, "a", 10), Header(1, "b", 10)) },
        { "overlapping ranges", Frames(Header(1, "a", 10), Data(1, 0, 6), Data(1, 4, 6)) },
        { "a Done frame of the wrong length", Frames(Raw((byte)FrameType.Done, 0, 0, 0, 3, 1, 2, 3)) },
        { "a frame after Done", Frames(Done(1), Header(1, "a", 1)) },
        { "a second transfer header", Frames(b => FrameWriter.TransferHeader(b, new TransferHeaderFrame(Guid.NewGuid(), 0, 1, 0x1301, 0))) },
        { "an answer frame from the sender", Frames(b => FrameWriter.DoneAck(b, new DoneAckFrame(0, 0, 0, []))) },
        { "path ../x", Frames(Header(1, "../x", 1)) },
        { "path a/../../x", Frames(Header(1, "a/../../x", 1)) },
        { "path /etc/passwd", Frames(Header(1, "/etc/passwd", 1)) },
        { "path with an empty component", Frames(Header(1, "a//b", 1)) },
        { "path with NUL", Frames(Header(1, "a\0b", 1)) },
        { "a component over NAME_MAX", Frames(Header(1, new string('n', 256), 1)) },
        { "the receiver's own work area", Frames(Header(1, ".actorsync/lock", 1)) },
        { "a symlink named ..", Frames(b => FrameWriter.Symlink(b, new SymlinkFrame("..", "/", T))) },
    };

    [Theory]
    [MemberData(nameof(ProtocolViolations))]
    public async Task Crafted_frames_after_a_valid_handshake_are_exit_4_and_leave_nothing(string what, byte[] frames)
    {
        using var scratch = new Scratch("hostile");
        var (received, _) = await AttackAsync(scratch.Sub("dst"), frames);
        Assert.True(received.ExitCode == ExitCodes.ProtocolViolation, $"{what}: exit {received.ExitCode} ({received.Error})");
        Assert.Empty(Directory.Exists(scratch.Sub("dst")) ? Directory.EnumerateFiles(scratch.Sub("dst"), "*", SearchOption.AllDirectories) : []);
        Assert.False(File.Exists(Path.Join(scratch.Path, "x")), $"{what}: wrote outside DEST");
    }

    [Fact]
    public async Task A_done_announcing_files_that_never_come_does_not_hold_the_receiver()
    {
        using var scratch = new Scratch("liar");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (received, _) = await AttackAsync(scratch.Sub("dst"), Frames(Header(1, "a", 4), Data(1, 0, 4), Done(5)));
        Assert.Equal(ExitCodes.ProtocolViolation, received.ExitCode);
        Assert.Contains("announced 5 files", received.Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        // What did arrive whole was committed like any file; nothing half-written is left.
        Assert.Equal("AAAA", await File.ReadAllTextAsync(Path.Join(scratch.Sub("dst"), "a")));
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync", "tmp")));
    }

    private static Func<byte[], int> Abort(ulong id) => b => FrameWriter.FileAbort(b, new FileAbortFrame(id, "changed while being read"));

    /// <summary>
    /// A file's ranges go out on several streams and its FileAbort on one, so the abort may reach the receiver
    /// before some ranges, or before all of them. Those late ranges are not a protocol violation: they are
    /// dropped, the file is not written, and the transfer ends as incomplete (exit 1), not broken (exit 4).
    /// </summary>
    public static TheoryData<string, byte[]> LateRanges => new()
    {
        { "a range after the abort", Frames(Header(1, "a", 10), Data(1, 0, 5), Abort(1), Header(1, "a", 10), Data(1, 5, 5), Header(2, "b", 2), Data(2, 0, 2), Done(2, skipped: 1)) },
        { "the abort between a range's header and its data (two streams interleaved at the writer)", Frames(Header(1, "a", 10), Data(1, 0, 5), Header(1, "a", 10), Abort(1), Data(1, 5, 5), Header(2, "b", 2), Data(2, 0, 2), Done(2, skipped: 1)) },
        { "the abort before any range", Frames(Abort(1), Header(1, "a", 10), Data(1, 0, 10), Header(2, "b", 2), Data(2, 0, 2), Done(2, skipped: 1)) },
    };

    [Theory]
    [MemberData(nameof(LateRanges))]
    public async Task Ranges_of_an_aborted_file_arriving_after_its_abort_are_dropped(string what, byte[] frames)
    {
        using var scratch = new Scratch("lateranges");
        var (received, _) = await AttackAsync(scratch.Sub("dst"), frames);
        Assert.True(received.ExitCode == ExitCodes.TransferFailed, $"{what}: {received.Error}");
        Assert.Equal("the sender could not read 1 entry (see its output); they were not copied", received.Error);
        Assert.False(File.Exists(Path.Join(scratch.Sub("dst"), "a")), what);
        Assert.Equal("AA", await File.ReadAllTextAsync(Path.Join(scratch.Sub("dst"), "b")));
        Assert.False(Directory.Exists(Path.Join(scratch.Sub("dst"), ".actorsync")), "work area left behind");
    }

    [Fact]
    public async Task A_transferred_symlink_pointing_outside_is_created_as_a_link_and_never_written_through()
    {
        using var scratch = new Scratch("linkout");
        string outside = scratch.Sub("outside");
        Directory.CreateDirectory(outside);
        var frames = Frames(
            b => FrameWriter.Symlink(b, new SymlinkFrame("escape", outside, T)),
            Header(1, "escape/planted", 4), Data(1, 0, 4),
            Header(2, "fine", 3), Data(2, 0, 3),
            b => FrameWriter.Done(b, new TransferTotals(2, 0, 1, 7, 0)));
        var (received, _) = await AttackAsync(scratch.Sub("dst"), frames);
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Equal("AAA", await File.ReadAllTextAsync(Path.Join(scratch.Sub("dst"), "fine")));
        // The link and the file are written by different writers, in either order; both orders are safe.
        string escape = Path.Join(scratch.Sub("dst"), "escape");
        if (new FileInfo(escape).LinkTarget is { } target)
        {
            Assert.Equal(outside, target);   // the link exists: the write beneath it was refused
            Assert.Contains(received.Problems, p => p.Contains("escape/planted", StringComparison.Ordinal));
        }
        else
        {
            Assert.True(Directory.Exists(escape));   // the directory came first: the link was refused
            Assert.Contains(received.Problems, p => p.StartsWith("escape:", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Linux names are bytes: names that differ only in case or in Unicode normalisation (NFC "é" against NFD
    /// "e" + U+0301) are different files, and the receiver must neither fold nor normalise them into one another,
    /// nor let a link of one spelling capture writes meant for a directory of another.
    /// </summary>
    [Fact]
    public async Task Names_differing_only_in_case_or_normalisation_stay_distinct_and_a_link_of_one_spelling_captures_nothing()
    {
        using var scratch = new Scratch("casenames");
        string outside = scratch.Sub("outside");
        Directory.CreateDirectory(outside);
        string nfc = "caf\u00e9.txt", nfd = "cafe\u0301.txt";
        Assert.NotEqual(nfc, nfd);   // the same text to a user: precomposed é, and e + combining acute
        var frames = Frames(
            Header(1, "Model.bin", 1), Data(1, 0, 1),
            Header(2, "model.bin", 2), Data(2, 0, 2),
            Header(3, "MODEL.BIN", 3), Data(3, 0, 3),
            Header(4, nfc, 4), Data(4, 0, 4),
            Header(5, nfd, 5), Data(5, 0, 5),
            b => FrameWriter.Symlink(b, new SymlinkFrame("Data", outside, T)),
            b => FrameWriter.Directory(b, new DirectoryFrame("data", 0x1ED, T)),
            Header(6, "data/x", 6), Data(6, 0, 6),
            b => FrameWriter.Done(b, new TransferTotals(6, 1, 1, 21, 0)));
        var (received, _) = await AttackAsync(scratch.Sub("dst"), frames);
        Assert.True(received.ExitCode == ExitCodes.Success, received.Error);
        string dst = scratch.Sub("dst");
        foreach (var (name, length) in new[] { ("Model.bin", 1), ("model.bin", 2), ("MODEL.BIN", 3), (nfc, 4), (nfd, 5), ("data/x", 6) })
            Assert.Equal(new string('A', length), await File.ReadAllTextAsync(Path.Join(dst, name)));
        Assert.Equal(outside, new FileInfo(Path.Join(dst, "Data")).LinkTarget);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        // And a real sender walking such a tree copies it exactly.
        string src = scratch.Sub("src");
        Directory.CreateDirectory(src);
        foreach (string name in new[] { "Model.bin", "model.bin", nfc, nfd }) await File.WriteAllTextAsync(Path.Join(src, name), name);
        var (sent, copied) = await Loopback.TransferAsync(src, scratch.Sub("copy"));
        Assert.Equal((ExitCodes.Success, ExitCodes.Success, 4L), (sent.ExitCode, copied.ExitCode, copied.Files));
        var result = ActorSync.Host.Demo.TreeComparer.Compare(src, scratch.Sub("copy"));
        Assert.True(result.Identical, string.Join("\n", result.Differences));
    }

    [Fact]
    public async Task A_replayed_handshake_from_an_earlier_capture_is_refused_with_exit_3()
    {
        using var scratch = new Scratch("replay");
        // Capture a genuine client's handshake on its way to a first receiver.
        byte[] capture;
        using (var first = ActorSyncEngine.Listen(IPAddress.Loopback, 0))
        {
            await using var relay = new TcpRelay((IPEndPoint)first.LocalEndPoint!);
            var accepting = Task.Run(async () => await SecureConnection.AcceptAsync(await first.AcceptAsync(), Loopback.Secret, TimeSpan.FromSeconds(10), CancellationToken.None, TlsMode.User));
            await using (var client = await SecureConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, relay.Port), Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(10), CancellationToken.None, tls: TlsMode.User))
            await using (await accepting) { }
            while (relay.ClientByteCount < 72) await Task.Delay(10);
            capture = relay.ClientBytes;
        }
        // Replay the client's bytes (hello and proof) to a receiver, which chose a fresh nonce of its own.
        var options = Loopback.Options(streams: 1);
        using var listener = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var receiving = new ActorSyncEngine(options).ReceiveAsync(scratch.Sub("dst"), listener, Loopback.Secret, serve: false, options);
        using (var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await attacker.ConnectAsync(listener.LocalEndPoint!);
            await attacker.SendAsync(capture.AsMemory(0, Math.Min(capture.Length, 72)));
            var received = await receiving.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(ExitCodes.AuthenticationFailed, received!.ExitCode);
        }
        Assert.False(Directory.Exists(scratch.Sub("dst")));
    }

    private static Task<(TransferSummary Received, Exception? PeerError)> AttackAsync(string destination, byte[] frames) => HostilePeer.AttackAsync(destination, frames);

    private static byte[] Frames(params Func<byte[], int>[] writers) => HostilePeer.Frames(writers);
}
