using System.Net.Sockets;
using ActorSync.Transport.Handshake;
using ActorSync.Transport.Records;

namespace ActorSync.Transport;

/// <summary>TLS 1.3 records sealed and opened with System.Security.Cryptography.AesGcm.</summary>
internal sealed class UserTlsChannel : ISecureChannel
{
    /// <summary>Plaintext sealed per send() call: 16 records, enough to amortise the syscall (measured: larger
    /// slices gain nothing on loopback) while the scratch buffer stays small per connection.</summary>
    private const int SendSlice = 16 * TlsRecord.MaxPlaintext;
    /// <summary>Receive buffer: several maximal records per recv() call.</summary>
    private const int ReceiveBufferSize = 16 * (TlsRecord.HeaderLength + TlsRecord.MaxCiphertext);

    private readonly Socket _socket;
    private readonly RecordSealer _sealer;
    private readonly RecordOpener _opener;
    private readonly byte[] _sendBuffer = GC.AllocateUninitializedArray<byte>((int)TlsRecord.SealedLength(SendSlice));
    private readonly byte[] _receiveBuffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[]? _fileScratch;
    private int _receiveStart, _receiveEnd, _consumedRecordEnd;
    private bool _closedByPeer;

    public UserTlsChannel(Socket socket, HandshakeResult keys)
    {
        _socket = socket;
        _sealer = new RecordSealer(keys.Send);
        _opener = new RecordOpener(keys.Receive);
    }

    public string CryptoMode => "user";

    public async ValueTask SendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            do
            {
                int n = Math.Min(plaintext.Length, SendSlice);
                int sealedLength = _sealer.Seal(plaintext.Span[..n], _sendBuffer);
                await HandshakeProtocol.SendAllAsync(_socket, _sendBuffer.AsMemory(0, sealedLength), cancellationToken).ConfigureAwait(false);
                plaintext = plaintext[n..];
            }
            while (!plaintext.IsEmpty);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask<bool> SendFileRangeAsync(ReadOnlyMemory<byte> header, int fileFd, long offset, int count, CancellationToken cancellationToken = default)
    {
        // Userspace has to see the bytes to seal them: read them next to the header, then seal and send.
        _fileScratch ??= GC.AllocateUninitializedArray<byte>(SendSlice);
        header.Span.CopyTo(_fileScratch);
        int used = header.Length;
        for (long position = offset, end = offset + count; ;)
        {
            int want = (int)Math.Min(SendSlice - used, end - position);
            int n = Interop.Libc.ReadFully(fileFd, _fileScratch.AsSpan(used, want), position);
            if (n < 0) throw new IOException($"reading the source file: {Interop.Libc.Describe(-n)}");
            if (n < want)
            {
                // Keep the stream in frame: zeros for the promised rest, then the caller aborts the file.
                long missing = end - position - n;
                _fileScratch.AsSpan(used + n, want - n).Clear();
                await SendAsync(_fileScratch.AsMemory(0, used + want), cancellationToken).ConfigureAwait(false);
                for (long left = end - position - want; left > 0; left -= Math.Min(left, SendSlice))
                {
                    _fileScratch.AsSpan(0, (int)Math.Min(left, SendSlice)).Clear();
                    await SendAsync(_fileScratch.AsMemory(0, (int)Math.Min(left, SendSlice)), cancellationToken).ConfigureAwait(false);
                }
                throw new SourceTruncatedException(missing);
            }
            await SendAsync(_fileScratch.AsMemory(0, used + n), cancellationToken).ConfigureAwait(false);
            position += n;
            used = 0;
            if (position == end) return false;
        }
    }

    public async ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        _receiveStart = _consumedRecordEnd;
        while (true)
        {
            if (_closedByPeer) return ReadOnlyMemory<byte>.Empty;
            int length = RecordOpener.RecordLength(_receiveBuffer.AsSpan(_receiveStart, _receiveEnd - _receiveStart));
            if (length > 0 && _receiveEnd - _receiveStart >= length)
            {
                Span<byte> record = _receiveBuffer.AsSpan(_receiveStart, length);
                ContentType type = _opener.Open(record, out int offset, out int plaintextLength);
                _consumedRecordEnd = _receiveStart + length;
                if (type == ContentType.ApplicationData)
                {
                    if (plaintextLength == 0) { _receiveStart = _consumedRecordEnd; continue; }
                    return _receiveBuffer.AsMemory(_receiveStart + offset, plaintextLength);
                }
                if (type == ContentType.Alert)
                {
                    Alert.ThrowUnlessCloseNotify(record.Slice(offset, plaintextLength));
                    _closedByPeer = true;
                    return ReadOnlyMemory<byte>.Empty;
                }
                ThrowHelper.ThrowProtocol($"unexpected record content type {(byte)type}");
            }
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Moves a partial record to the front and reads more behind it.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_receiveStart > 0)
        {
            int pending = _receiveEnd - _receiveStart;
            Buffer.BlockCopy(_receiveBuffer, _receiveStart, _receiveBuffer, 0, pending);
            _receiveStart = 0;
            _receiveEnd = pending;
            _consumedRecordEnd = 0;
        }
        int n = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(_receiveEnd), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            if (_receiveEnd != 0) ThrowHelper.ThrowConnectionLost("connection closed in the middle of a record");
            ThrowHelper.ThrowConnectionLost("connection closed without close_notify");
        }
        _receiveEnd += n;
    }

    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int n = _sealer.Seal(Alert.CloseNotify, _sendBuffer, ContentType.Alert);
            await HandshakeProtocol.SendAllAsync(_socket, _sendBuffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException) { /* the peer is gone; nothing left to tell it */ }
        catch (ObjectDisposedException) { }
        finally
        {
            _sendLock.Release();
        }
    }

    public void Abort()
    {
        try { _socket.LingerState = new LingerOption(true, 0); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _sealer.Dispose();
        _opener.Dispose();
        _sendLock.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>TLS alerts we send and accept.</summary>
internal static class Alert
{
    /// <summary>level warning(1), description close_notify(0).</summary>
    public static ReadOnlySpan<byte> CloseNotify => [1, 0];

    public static void ThrowUnlessCloseNotify(ReadOnlySpan<byte> alert)
    {
        if (alert.Length == 2 && alert[1] == 0) return;
        ThrowHelper.ThrowProtocol(alert.Length == 2 ? $"peer sent TLS alert {alert[1]}" : "malformed TLS alert");
    }
}
