using System.Net.Sockets;
using ActorSync.Transport.Interop;
using ActorSync.Transport.Records;

namespace ActorSync.Transport.Kernel;

/// <summary>
/// A connection whose records the kernel seals and opens (kTLS). Sends are plain send()/sendfile() of
/// plaintext; receives are recvmsg() straight into the caller's buffer, with the record type from its control
/// message (a control record would make a plain recv fail with EIO). The socket is switched to blocking
/// mode with a short timeout: the calls complete synchronously on the calling thread, and the timeout is when
/// a waiting caller looks at its cancellation token.
/// </summary>
internal sealed class KernelTlsChannel : ISecureChannel, IDirectReceiveChannel
{
    /// <summary>How often a blocked call comes back to check for cancellation.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>One recvmsg returns at most one record's plaintext; a buffer of a few records is plenty.</summary>
    private const int ReceiveBufferSize = 4 * TlsRecord.MaxPlaintext;
    private const int EAGAIN = Libc.EAGAIN;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly byte[] _receiveBuffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize, pinned: true);
    private readonly Lock _sendLock = new();
    private bool _closedByPeer;
    private long _sendfileCalls, _sendfileBytes;

    /// <summary>FIONREAD on the socket: bytes of records not yet received.</summary>
    public bool InputWaiting => _socket.Available > 0;

    private KernelTlsChannel(Socket socket)
    {
        _socket = socket;
        _fd = (int)socket.Handle;
    }

    public string CryptoMode => "kernel";
    public long SendfileCalls => Interlocked.Read(ref _sendfileCalls);
    public long SendfileBytes => Interlocked.Read(ref _sendfileBytes);

    /// <summary>Installs the keys; on success the socket belongs to the returned channel.</summary>
    public static (KernelTlsChannel? Channel, KernelTls.Outcome Outcome, string Reason) TryCreate(Socket socket, TrafficKeys send, TrafficKeys receive)
    {
        int fd = (int)socket.Handle;
        var (outcome, reason) = KernelTls.Install(fd, send, receive);
        if (outcome != KernelTls.Outcome.Installed) return (null, outcome, reason);
        int e = Libc.MakeBlockingWithTimeouts(fd, PollInterval);
        if (e != 0) return (null, KernelTls.Outcome.Failed, $"cannot switch the socket to blocking mode: {Libc.Describe(e)}");
        return (new KernelTlsChannel(socket), KernelTls.Outcome.Installed, "");
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken = default)
    {
        lock (_sendLock) SendAll(plaintext.Span, more: false, cancellationToken);
        return ValueTask.CompletedTask;
    }

    /// <summary>Header bytes with MSG_MORE (so they share a record with the file's first bytes), then sendfile
    /// from the page cache: the file's bytes never enter user space.</summary>
    public ValueTask<bool> SendFileRangeAsync(ReadOnlyMemory<byte> header, int fileFd, long offset, int count, CancellationToken cancellationToken = default)
    {
        lock (_sendLock)
        {
            SendAll(header.Span, more: count > 0, cancellationToken);
            long position = offset, end = offset + count;
            while (position < end)
            {
                nint n = Libc.SendFile(_fd, fileFd, ref position, (int)(end - position));
                if (n > 0) { Interlocked.Increment(ref _sendfileCalls); Interlocked.Add(ref _sendfileBytes, n); continue; }
                if (n == 0)
                {
                    // Keep the stream in frame: zeros for the promised rest, then the caller aborts the file.
                    long missing = end - position;
                    SendZeros(missing, cancellationToken);
                    throw new SourceTruncatedException(missing);
                }
                HandleError((int)-n, cancellationToken, "sendfile");
            }
        }
        return ValueTask.FromResult(true);
    }

    private void SendZeros(long count, CancellationToken ct)
    {
        Span<byte> zeros = stackalloc byte[4096];
        zeros.Clear();
        for (long left = count; left > 0; left -= Math.Min(left, zeros.Length)) SendAll(zeros[..(int)Math.Min(left, zeros.Length)], more: false, ct);
    }

    private void SendAll(ReadOnlySpan<byte> data, bool more, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            nint n = Libc.Send(_fd, data, more);
            if (n >= 0) { data = data[(int)n..]; continue; }
            HandleError((int)-n, ct, "send");
        }
    }

    public ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        int n = ReceiveInto(_receiveBuffer, cancellationToken);
        return ValueTask.FromResult(n == 0 ? ReadOnlyMemory<byte>.Empty : new ReadOnlyMemory<byte>(_receiveBuffer, 0, n));
    }

    /// <summary>Decrypted bytes straight into <paramref name="dest"/> (a pooled buffer): no extra copy.</summary>
    public ValueTask<int> ReceiveIntoAsync(Memory<byte> dest, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(ReceiveInto(dest.Span, cancellationToken));

    private int ReceiveInto(Span<byte> dest, CancellationToken ct)
    {
        while (true)
        {
            if (_closedByPeer) return 0;
            nint n = Libc.ReceiveRecord(_fd, dest, out int type);
            if (n < 0)
            {
                int e = (int)-n;
                if (e == Libc.EBADMSG) ThrowHelper.ThrowIntegrity("the kernel rejected a record (EBADMSG): tampered or corrupted in transit");
                HandleError(e, ct, "recvmsg");
                continue;
            }
            if (n == 0) ThrowHelper.ThrowConnectionLost("connection closed without close_notify");
            if (type is -1 or (int)ContentType.ApplicationData) return (int)n;
            if (type == (int)ContentType.Alert)
            {
                Alert.ThrowUnlessCloseNotify(dest[..(int)n]);
                _closedByPeer = true;
                return 0;
            }
            ThrowHelper.ThrowProtocol($"unexpected record content type {type}");
        }
    }

    private void HandleError(int errno, CancellationToken ct, string call)
    {
        if (errno == Libc.EINTR) return;
        if (errno == EAGAIN)
        {
            ct.ThrowIfCancellationRequested();
            return;
        }
        throw new SocketException(errno is Libc.EIO ? (int)SocketError.SocketError : ToSocketError(errno), $"{call}: {Libc.Describe(errno)}");
    }

    private static int ToSocketError(int errno) => errno switch
    {
        32 => (int)SocketError.Shutdown,           // EPIPE
        104 => (int)SocketError.ConnectionReset,   // ECONNRESET
        110 => (int)SocketError.TimedOut,
        _ => (int)SocketError.SocketError,
    };

    public ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        lock (_sendLock)
        {
            try
            {
                Libc.SendRecord(_fd, (byte)ContentType.Alert, Alert.CloseNotify);
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>shutdown() first: it wakes a thread blocked in recvmsg on this socket, close() alone would not.</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A channel that can decrypt straight into the caller's buffer.</summary>
internal interface IDirectReceiveChannel
{
    ValueTask<int> ReceiveIntoAsync(Memory<byte> dest, CancellationToken cancellationToken = default);
}
