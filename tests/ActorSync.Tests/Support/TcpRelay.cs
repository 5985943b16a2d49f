using System.Net;
using System.Net.Sockets;

namespace ActorSync.Tests.Support;

/// <summary>
/// A man in the middle on loopback: forwards every connection to a target, records what the client sent,
/// and can corrupt one byte of the client's stream at a chosen offset (to prove tampering is caught), reset a
/// connection, or hold the server's replies (to freeze a sender between its walk and its reads).
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly MemoryStream _clientBytes = new();
    private int _connections;

    public TcpRelay(IPEndPoint target)
    {
        _target = target;
        // Small buffers, like one more hop on a network: the bytes counted here are not much ahead of the receiver
        // (an autotuned loopback socket would hold tens of MiB between the count and the receiver).
        _listener.ReceiveBufferSize = _listener.SendBufferSize = HopBuffer;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _loop = AcceptLoop();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Flip this byte (xor 0x01) of the first connection's client-to-server stream, if set.</summary>
    public long? FlipClientByteAt { get; init; }

    /// <summary>Reset (RST both ways) the first connection once this many client bytes went through it, if set.</summary>
    public long? ResetFirstAfter { get; init; }

    /// <summary>Connections accepted so far (a reset stream that reconnects makes one more).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Keep a copy of what clients sent (off for multi-GiB runs, where only the count matters).</summary>
    public bool Record { get; init; } = true;

    private long _clientByteCount;
    private readonly TaskCompletionSource _releaseReplies = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Once clients have sent more than this many bytes (all connections; past the handshakes), the
    /// server's replies are held back until <see cref="ReleaseReplies"/>.</summary>
    public long? HoldRepliesAfterClientBytes { get; init; }

    public void ReleaseReplies() => _releaseReplies.TrySetResult();

    /// <summary>Stop reading the first connection's client bytes once this many went through (they pile up in the
    /// kernel's buffers, sent by the client but never delivered), until <see cref="ResetFirst"/>.</summary>
    public long? HoldFirstClientAfter { get; init; }

    private readonly TaskCompletionSource _firstHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Socket? _firstClient, _firstServer;

    /// <summary>Completes when the first connection's client bytes are held and the client is blocked behind them
    /// (bytes waiting in the kernel, no longer growing: its buffers are full).</summary>
    public Task FirstHeldWithBytesWaiting => _firstHeld.Task;

    /// <summary>Resets the first connection now (RST both ways), as a middlebox does.</summary>
    public void ResetFirst()
    {
        foreach (var s in new[] { _firstClient, _firstServer })
        {
            if (s is null) continue;
            try { s.LingerState = new LingerOption(true, 0); s.Close(); } catch (Exception) { }
        }
        _resetFirst.TrySetResult();
    }

    private readonly TaskCompletionSource _resetFirst = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many bytes clients sent through the relay, all connections.</summary>
    public long ClientByteCount => Interlocked.Read(ref _clientByteCount);

    /// <summary>Everything clients sent, all connections concatenated.</summary>
    public byte[] ClientBytes { get { lock (_clientBytes) return _clientBytes.ToArray(); } }

    private async Task AcceptLoop()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_stop.Token);
                int index = Interlocked.Increment(ref _connections) - 1;
                _ = Task.Run(() => Pipe(client, index));
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
    }

    private const int HopBuffer = 256 << 10;

    private async Task Pipe(Socket client, int index)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = HopBuffer, SendBufferSize = HopBuffer };
        using (client)
        {
            try { await server.ConnectAsync(_target); }
            catch (SocketException) { return; }
            if (index == 0) (_firstClient, _firstServer) = (client, server);
            var up = Copy(client, server, index == 0 ? FlipClientByteAt : null, record: true, resetAfter: index == 0 ? ResetFirstAfter : null, peer: client,
                holdAfter: index == 0 ? HoldFirstClientAfter : null);
            var down = Copy(server, client, null, record: false, resetAfter: null, peer: null);
            await Task.WhenAny(up, down);
            await Task.WhenAny(Task.WhenAll(up, down), Task.Delay(2000));
        }
    }

    private async Task Copy(Socket from, Socket to, long? flipAt, bool record, long? resetAfter, Socket? peer, long? holdAfter = null)
    {
        var buffer = new byte[64 << 10];
        long position = 0;
        try
        {
            while (true)
            {
                if (holdAfter is { } h && position >= h)
                {
                    // Held: the client's further bytes stay in the kernel. Once they stop piling up the buffers are
                    // full, and the client is blocked in a send: say so.
                    for (int last = -1, stable = 0; stable < 3 && !_resetFirst.Task.IsCompleted;)
                    {
                        await Task.WhenAny(_resetFirst.Task, Task.Delay(100));
                        int waiting = from.Available;
                        stable = waiting > 0 && waiting == last ? stable + 1 : 0;
                        last = waiting;
                    }
                    _firstHeld.TrySetResult();
                    await _resetFirst.Task.WaitAsync(_stop.Token);
                    return;
                }
                int n = await from.ReceiveAsync(holdAfter is { } cap ? buffer.AsMemory(0, (int)Math.Min(buffer.Length, Math.Max(1, cap - position))) : buffer, SocketFlags.None, _stop.Token);
                if (n == 0) { to.Shutdown(SocketShutdown.Send); return; }
                if (!record && HoldRepliesAfterClientBytes is { } hold && ClientByteCount > hold) await _releaseReplies.Task.WaitAsync(_stop.Token);
                if (flipAt is { } f && f >= position && f < position + n) buffer[f - position] ^= 0x01;
                if (record)
                {
                    Interlocked.Add(ref _clientByteCount, n);
                    if (Record) lock (_clientBytes) _clientBytes.Write(buffer, 0, n);
                }
                position += n;
                for (int sent = 0; sent < n;) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
                if (resetAfter is { } limit && position >= limit)
                {
                    // A reset, as a middlebox or a flapping link does it: RST to both ends, mid-stream.
                    foreach (var s in new[] { to, peer! }) { s.LingerState = new LingerOption(true, 0); s.Close(); }
                    return;
                }
            }
        }
        catch (Exception) { try { to.Shutdown(SocketShutdown.Both); } catch (Exception) { } }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
