using System.Net.Sockets;
using ActorSync.Engine;
using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;

namespace ActorSync.Tests.Support;

/// <summary>A peer that knows the secret and sends what it likes: frames a real sender would never send.</summary>
public static class HostilePeer
{
    /// <summary>
    /// Authenticates properly, announces a one-stream transfer, sends <paramref name="frames"/>; then, if given,
    /// waits for <paramref name="midway"/> (a test's action at a definite point) and sends <paramref name="after"/>.
    /// </summary>
    public static async Task<(TransferSummary Received, Exception? PeerError)> AttackAsync(string destination, byte[] frames, Func<Task>? midway = null, byte[]? after = null)
    {
        var options = Loopback.Options(streams: 1) with { RejoinGrace = TimeSpan.FromMilliseconds(200), IdleTimeout = TimeSpan.FromSeconds(2) };
        using var listener = ActorSyncEngine.Listen(System.Net.IPAddress.Loopback, 0);
        var receiving = new ActorSyncEngine(options).ReceiveAsync(destination, listener, Loopback.Secret, serve: false, options);
        Exception? peerError = null;
        await using (var channel = await SecureConnection.ConnectAsync(listener.LocalEndPoint!, Loopback.Secret, CipherSuite.Aes128Gcm, TimeSpan.FromSeconds(10), CancellationToken.None))
        {
            var header = new byte[64];
            int n = FrameWriter.TransferHeader(header, new TransferHeaderFrame(Guid.NewGuid(), 0, 1, 0x1301, 0));
            try
            {
                await channel.SendAsync(header.AsMemory(0, n));
                await channel.SendAsync(frames);
                if (midway is not null) await midway();
                if (after is not null) await channel.SendAsync(after);
            }
            catch (Exception e) when (e is SocketException or IOException) { peerError = e; }
            // Like a real sender, close once the receiver has had its last word, so it need not wait for us.
            try
            {
                var reader = new FrameReader(channel);
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (await reader.ReadNextAsync(patience.Token) && reader.Type is not (FrameType.DoneAck or FrameType.Error))
                    await reader.ReadBodyAsync(patience.Token);
            }
            catch (Exception e) when (e is SocketException or IOException or ProtocolException or OperationCanceledException) { peerError ??= e; }
            await channel.CloseAsync();
            var received = await receiving.WaitAsync(TimeSpan.FromSeconds(30));
            return (received!, peerError);
        }
    }

    /// <summary>Frames one after another, each written by its encoder into a scratch buffer.</summary>
    public static byte[] Frames(params Func<byte[], int>[] writers)
    {
        var stream = new List<byte>();
        foreach (var write in writers)
        {
            var scratch = new byte[1 << 16];
            int n = write(scratch);
            if (n <= 0) throw new InvalidOperationException("frame did not fit");
            stream.AddRange(scratch.AsSpan(0, n).ToArray());
        }
        return [.. stream];
    }
}
