using System.Net;
using System.Net.Sockets;

namespace ActorSync.Receiving;

/// <summary>
/// A pull's receiver connects to a sender that waits for it (over ssh only the remote end can open a port both reach):
/// the sender's stream count of connections, each dialed once, handed to the receive server as if accepted. A stream
/// lost midway is not re-dialed (the sender cannot ask for it): that transfer fails, and the same command resumes it.
/// </summary>
internal sealed class SenderDialer(IPEndPoint sender, int connections, TimeSpan connectTimeout, int socketBuffer) : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private int _dialed;

    public async ValueTask<Socket> NextAsync(CancellationToken ct)
    {
        // All dialed: nothing more comes until the transfer ends (the caller's cancellation).
        if (_dialed >= connections) await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        _dialed++;
        var socket = new Socket(sender.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Before connect(): the window scale is settled in the SYN.
            socket.ReceiveBufferSize = socketBuffer;
            socket.SendBufferSize = socketBuffer;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct, _disposed.Token);
            limit.CancelAfter(connectTimeout);
            try { await socket.ConnectAsync(sender, limit.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"connecting to the sender at {sender} timed out after {connectTimeout.TotalSeconds:0.#} s");
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }
}
